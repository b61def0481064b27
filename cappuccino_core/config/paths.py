"""Where things live: data root, state database, MLflow, Optuna storage."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cappuccino_core.config.base import Section


class PathsConfig(Section):
    """Filesystem locations and storage URLs (embedded defaults; point them at servers to scale out)."""

    data_root: Path = Field(Path("data"), description="root of the Parquet store and generated artefacts")
    sample_dir: Path = Field(Path("data/sample"), description="committed real sample for offline runs")
    state_url: str = Field("sqlite:///data/state.db", description="SQLAlchemy URL of the state store")
    mlflow_tracking_uri: str = Field("sqlite:///data/mlflow.db", description="MLflow tracking/registry URI")
    mlflow_artifact_root: Path = Field(Path("data/mlartifacts"), description="MLflow artifact location")
    optuna_storage: str = Field(
        "journal:data/optuna.journal",
        description="'journal:<file>' (local, multi-process safe) or an RDB URL (postgresql://...)",
    )
    reports_dir: Path = Field(Path("data/reports"), description="HTML/PNG/CSV reports a person reads")

    def bars_dir(self) -> Path:
        """The bar store's folder, ``{data_root}/bars``."""
        return self.data_root / "bars"
