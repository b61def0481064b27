"""Shared task plumbing: settings from the config file, the state store, optional core modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cappuccino_core.config import Settings, load_settings
from cappuccino_core.state import StateStore


def settings_for(config: str | None = None, **overrides: Any) -> Settings:
    return load_settings(Path(config) if config else None, **overrides)


def logger() -> Any:
    try:
        return get_run_logger()
    except Exception:  # outside a run (plain function call in tests)
        import logging

        return logging.getLogger("cappuccino.flows")


@task(
    name="emergency-stop?",
    retries=3,
    retry_delay_seconds=[1, 2, 4],
    timeout_seconds=30,
    cache_policy=NO_CACHE,
)
def emergency_stopped(settings: Settings) -> bool:
    return StateStore(settings.paths.state_url).emergency_stopped()


@task(
    name="record-stage", retries=3, retry_delay_seconds=[1, 2, 4], timeout_seconds=30, cache_policy=NO_CACHE
)
def record_stage(settings: Settings, stage: str, status: str, **detail: Any) -> None:
    StateStore(settings.paths.state_url).record_stage(stage, status, **detail)
