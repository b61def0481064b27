"""Each retrain gets its own studies, named by the data window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cappuccino_core.config import load_settings
from cappuccino_core.training.retrain_naming import existing_studies, window_study_prefix

FIRST = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
LAST = datetime(2025, 3, 10, 11, tzinfo=UTC)


def test_named_by_window_and_never_reused() -> None:
    assert window_study_prefix("cap", FIRST, LAST, []) == "cap-20240101T00-20250310T11"
    taken = ["cap-20240101T00-20250310T11-phase1", "cap-20240101T00-20250310T11-phase2"]
    assert window_study_prefix("cap", FIRST, LAST, taken) == "cap-20240101T00-20250310T11-r2"
    taken += ["cap-20240101T00-20250310T11-r2-phase1"]  # a retrain that died after phase 1
    assert window_study_prefix("cap", FIRST, LAST, taken) == "cap-20240101T00-20250310T11-r3"


def test_existing_studies_reads_the_configured_storage(tmp_path: Path) -> None:
    import optuna

    settings = load_settings(paths={"optuna_storage": f"journal:{tmp_path / 'o.journal'}"})
    assert existing_studies(settings) == []
    from cappuccino_core.training.storage import make_storage

    storage = make_storage(
        settings.paths.optuna_storage, heartbeat_interval=5, grace_period=10, max_retries=1
    )
    optuna.create_study(study_name="x-phase1", storage=storage)
    assert existing_studies(settings) == ["x-phase1"]
