"""Dashboard fixtures: settings on a temp directory, and a `make run`-sized state built once per session.

Tests must not change the built state, except the emergency stop test, which restores it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE_DIR


def temp_settings(root: Path) -> Any:
    from cappuccino_core.config import load_settings

    return load_settings(
        paths={
            "data_root": root / "data",
            "sample_dir": SAMPLE_DIR,
            "state_url": f"sqlite:///{root / 'state.db'}",
            "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
            "mlflow_artifact_root": root / "mlartifacts",
            "optuna_storage": f"journal:{root / 'optuna.journal'}",
            "reports_dir": root / "reports",
        }
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> dict[str, Any]:
    """The state of a finished `make run` (see state.py), built once per session (MLflow's schema alone
    takes seconds), with the seconds it took."""
    from cappuccino_core.registry import Tracking
    from tests.unit.dashboard.state import build_state

    root = tmp_path_factory.mktemp("dash")
    settings = temp_settings(root)
    t0 = time.perf_counter()
    out = build_state(settings, Tracking.from_settings(settings), datetime.now(UTC))
    out.update(settings=settings, root=root, build_s=time.perf_counter() - t0)
    return out
