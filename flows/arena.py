"""Arena: king of the hill for the candidates that passed the gates, then sandbox and live reviews."""

from __future__ import annotations

from prefect import flow

from flows.gates import candidates
from tasks.common import emergency_stopped, logger, record_stage, settings_for
from tasks.stages import arena_hill, arena_review


@flow(name="arena")
def arena(config: str | None = None, run_ids: list[str] | None = None, dry_run: bool = False) -> list[str]:
    settings = settings_for(config)
    if emergency_stopped(settings):
        logger().warning("arena: emergency stop set; nothing done")
        return ["halted: emergency stop"]
    ids = run_ids if run_ids is not None else candidates(settings)
    lines = arena_hill(settings, ids, dry_run) if ids else ["arena: no candidates"]
    lines += arena_review(settings, dry_run)
    if not dry_run:
        record_stage(settings, "arena", "done", lines=lines)
    for line in lines:
        logger().info(line)
    return lines
