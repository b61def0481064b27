"""Augment: the frozen CGE scenario set (generated once, reused while its config hash matches)."""

from __future__ import annotations

from prefect import flow

from tasks.common import record_stage, settings_for
from tasks.stages import cge_scenarios


@flow(name="augment", retries=1, retry_delay_seconds=60)
def augment(config: str | None = None, force: bool = False) -> dict:
    settings = settings_for(config)
    out = cge_scenarios(settings, force=force)
    record_stage(settings, "augment", "done", **out)
    return out
