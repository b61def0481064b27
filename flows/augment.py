"""Augment: the frozen CGE scenario set (generated once, reused while its config hash matches)."""

from __future__ import annotations

from prefect import flow

from tasks.common import record_stage, settings_for
from tasks.stages import cge_scenarios


@flow(name="augment")
def augment(config: str | None = None, force: bool = False) -> dict:
    """The CGE scenario set the training mixes in and the stress gate replays (deterministic: no retry).

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        force: Regenerate the set even when one with the same config hash is stored.
    """
    settings = settings_for(config)
    out = cge_scenarios(settings, force=force)
    record_stage(settings, "augment", "done", **out)
    return out
