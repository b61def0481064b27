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


def test_previous_prefix_is_the_latest_window_then_the_latest_rerun() -> None:
    from cappuccino_core.training.retrain_naming import previous_prefix

    names = [
        "cap-20240101T00-20250110T11-phase2",
        "cap-20240101T00-20250210T11-phase1",  # died after phase 1: nothing to warm-start from
        "cap-20240101T00-20250110T11-r2-phase2",
        "other-20240101T00-20260110T11-phase2",  # another experiment
        "cap-phase2",  # the quickstart's fixed name, not a retrain
    ]
    assert previous_prefix("cap", names) == "cap-20240101T00-20250110T11-r2"
    assert previous_prefix("cap", names, current="cap-20240101T00-20250110T11-r2") == (
        "cap-20240101T00-20250110T11"
    )
    assert previous_prefix("new", names) is None


def test_warm_start_enqueues_the_previous_best_phase2_params(tmp_path: Path) -> None:
    import optuna

    from cappuccino_core.training.storage import settings_storage
    from cappuccino_core.training.study import warm_start

    settings = load_settings(paths={"optuna_storage": f"journal:{tmp_path / 'o.journal'}"})
    storage = settings_storage(settings)
    prev = optuna.create_study(study_name="old-phase2", storage=storage, direction="maximize")
    for value, lr in ((0.1, 1e-4), (0.7, 3e-4), (-0.2, 5e-4)):
        prev.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": lr, "timeframe": "4h"},
                distributions={
                    "learning_rate": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True),
                    "timeframe": optuna.distributions.CategoricalDistribution(["1h", "4h"]),
                },
                value=value,
            )
        )
    new = optuna.create_study(study_name="new-phase2", storage=storage, direction="maximize")
    # the best trial's phase-2 values only: the timeframe stays the new study's own phase-1 choice
    assert warm_start(new, settings, "old") == {"learning_rate": 3e-4}
    (waiting,) = new.get_trials(deepcopy=False)
    assert waiting.state == optuna.trial.TrialState.WAITING
    assert new.user_attrs["warm_start"] == "old-phase2 trial 1"
    assert warm_start(new, settings, "missing") is None  # no such study: cold start, logged
