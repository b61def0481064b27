"""Arena: king of the hill for the candidates that passed the backtest and stress gates, then sandbox and live
reviews."""

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
    if run_ids is None:
        from cappuccino_core.gates.record import passed_gates
        from cappuccino_core.state import StateStore

        store = StateStore(settings.paths.state_url)
        required = tuple(g for g in settings.gates.enabled if g in ("backtest", "stress"))
        run_ids = [r for r in candidates(settings) if passed_gates(store, r, required)]
    lines = arena_hill(settings, run_ids, dry_run) if run_ids else ["arena: no candidate passed the gates"]
    lines += arena_review(settings, dry_run)
    if not dry_run:
        record_stage(settings, "arena", "done", lines=lines)
    for line in lines:
        logger().info(line)
    return lines
