"""The studies of one retrain are named by the data window they train on: ``<experiment>-<first>-<last>``
(UTC, hour resolution); a second retrain on the very same window gets ``-r2``, ``-r3``, ... so every retrain
trains a new study (and adds one study summary) instead of reopening a finished one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cappuccino_core.config import Settings


def window_study_prefix(experiment: str, first: datetime, last: datetime, existing: Iterable[str]) -> str:
    """The first ``<experiment>-<first:%Y%m%dT%H>-<last:%Y%m%dT%H>[-rK]`` whose phase-1 study is not in
    ``existing`` (the names already in the Optuna storage)."""
    base = f"{experiment}-{first:%Y%m%dT%H}-{last:%Y%m%dT%H}"
    taken = set(existing)
    name, k = base, 1
    while f"{name}-phase1" in taken or f"{name}-phase2" in taken:
        k += 1
        name = f"{base}-r{k}"
    return name


def existing_studies(settings: Settings) -> list[str]:
    """Study names in the configured Optuna storage (``paths.optuna_storage``)."""
    import optuna

    from cappuccino_core.training.storage import settings_storage

    return optuna.get_all_study_names(settings_storage(settings))
