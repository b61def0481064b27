"""The pipeline tick (every 30 min): stop check, sandbox/live reviews, and a note of what is due."""

from __future__ import annotations

from prefect import flow

from tasks.common import emergency_stopped, logger, record_stage, settings_for
from tasks.stages import arena_review


@flow(name="pipeline")
def pipeline_tick(config: str | None = None, dry_run: bool = False) -> list[str]:
    """The emergency-stop check, then the sandbox and live reviews.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        dry_run: Decide and report, but change no role and record nothing.
    """
    settings = settings_for(config)
    if emergency_stopped(settings):
        logger().warning("pipeline: emergency stop set; every loop halted")
        return ["halted: emergency stop"]
    lines = arena_review(settings, dry_run)
    if not dry_run:
        record_stage(settings, "tick", "done", lines=lines)
    return lines
