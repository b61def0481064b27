"""The studies of one retrain are named by the data window they train on: ``<experiment>-<first>-<last>``
(UTC, hour resolution); a second retrain on the very same window gets ``-r2``, ``-r3``, ... so every retrain
trains a new study (and adds one study summary) instead of reopening a finished one."""

from __future__ import annotations

import re
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


def previous_prefix(experiment: str, existing: Iterable[str], current: str | None = None) -> str | None:
    """The newest earlier retrain's study prefix of ``experiment`` (latest data window, then latest -rK)
    whose phase-2 study exists: the study a new retrain warm-starts from. None when there is none."""
    pattern = re.compile(rf"^{re.escape(experiment)}-(\d{{8}}T\d{{2}})-(\d{{8}}T\d{{2}})(?:-r(\d+))?-phase2$")
    found = []
    for name in existing:
        m = pattern.match(name)
        prefix = name[: -len("-phase2")]
        if m and prefix != current:
            found.append(((m.group(2), m.group(1), int(m.group(3) or 1)), prefix))
    return max(found)[1] if found else None


def existing_studies(settings: Settings) -> list[str]:
    """Study names in the configured Optuna storage (``paths.optuna_storage``)."""
    import optuna

    from cappuccino_core.training.storage import settings_storage

    return optuna.get_all_study_names(settings_storage(settings))
