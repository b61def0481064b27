"""Shared fixtures: paths to real data (skip with a reason when absent), isolated settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("CAPPUCCINO_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
SAMPLE_DIR = ROOT / "data" / "sample"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the slow end-to-end tests first (stable order otherwise): with several workers the longest
    jobs start at once instead of leaving one worker busy alone at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not found at {REAL_DATA} (set CAPPUCCINO_REAL_DATA)")
    return REAL_DATA


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not any(SAMPLE_DIR.glob("*.parquet")):
        pytest.skip(f"bundled sample missing in {SAMPLE_DIR}")
    return SAMPLE_DIR


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings whose every path lives under tmp_path (no test touches ./data)."""
    from cappuccino_core.config import load_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPPUCCINO_CONFIG", raising=False)
    return load_settings(
        paths={
            "data_root": tmp_path / "data",
            "sample_dir": SAMPLE_DIR,
            "state_url": f"sqlite:///{tmp_path / 'state.db'}",
            "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "mlflow_artifact_root": tmp_path / "mlartifacts",
            "optuna_storage": f"journal:{tmp_path / 'optuna.journal'}",
            "reports_dir": tmp_path / "reports",
        }
    )
