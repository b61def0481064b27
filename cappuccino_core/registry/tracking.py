"""MLflow setup: where runs and models live, one experiment per Optuna study.

Every MLflow call in Cappuccino goes through a :class:`Tracking` so the tracking/registry URI comes from
configuration (``paths.mlflow_tracking_uri``, ``paths.mlflow_artifact_root``), never from MLflow's own
defaults (``./mlruns``) or a leftover global.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

DEFAULT_EXPERIMENT_PREFIX = ""  # experiment name = study name (studies are already "<experiment>-phaseN")
DEFAULT_REGISTERED_MODEL = "cappuccino-ppo"

if TYPE_CHECKING:
    from cappuccino_core.config import Settings

# Tags every run written by Cappuccino carries.
TAG_RUN_TYPE = "run_type"  # "trial" | "study_summary"
TAG_STUDY = "study"
TAG_TRIAL = "trial"
TAG_TRIAL_STATE = "trial_state"  # COMPLETE | PRUNED | FAIL
TAG_FAIL_REASON = "fail_reason"
TAG_SPEC_HASH = "feature_spec_hash"
TAG_MODEL_URI = "model_uri"  # on a trial run once its policy is logged: models:/m-<model id>
RUN_TYPE_TRIAL = "trial"
RUN_TYPE_SUMMARY = "study_summary"

# Quiet the per-download progress bars in logs and test output.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@dataclass(frozen=True)
class Tracking:
    """Where MLflow runs, artifacts and registered models live."""

    tracking_uri: str
    artifact_root: str | Path | None = None
    experiment_prefix: str = DEFAULT_EXPERIMENT_PREFIX
    registered_model_name: str = DEFAULT_REGISTERED_MODEL

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Tracking:
        """From :class:`cappuccino_core.config.Settings` (its ``paths``); the experiment prefix and the
        registered model's name keep their defaults unless ``overrides`` sets them."""
        kwargs: dict[str, Any] = {
            "tracking_uri": settings.paths.mlflow_tracking_uri,
            "artifact_root": settings.paths.mlflow_artifact_root,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    def activate(self) -> Any:
        """Point MLflow (tracking and registry) at this store; return an ``MlflowClient`` bound to it."""
        import mlflow

        uri = self.tracking_uri
        if uri.startswith("sqlite:///"):
            db = Path(uri[len("sqlite:///") :])
            db.parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)

    def experiment_name(self, study_name: str) -> str:
        """The MLflow experiment of ``study_name`` (one experiment per study)."""
        return f"{self.experiment_prefix}{study_name}"

    def _artifact_location(self, experiment_name: str) -> str | None:
        if self.artifact_root is None or self.tracking_uri.startswith(("http://", "https://")):
            return None  # a tracking server decides (or proxies) artifact storage
        root = str(self.artifact_root)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment_name).strip("_") or "default"
        if "://" in root:  # s3://bucket/prefix and the like
            return root.rstrip("/") + "/" + safe
        path = Path(root).resolve() / safe
        path.mkdir(parents=True, exist_ok=True)
        return path.as_uri()

    def ensure_experiment(self, study_name: str) -> str:
        """The experiment id of ``study_name``'s experiment, created (or restored) when needed."""
        from mlflow.exceptions import MlflowException

        client = self.activate()
        name = self.experiment_name(study_name)
        exp = client.get_experiment_by_name(name)
        if exp is None:
            try:
                return str(
                    client.create_experiment(
                        name,
                        artifact_location=self._artifact_location(name),
                        tags={TAG_STUDY: study_name},
                    )
                )
            except MlflowException:  # another worker created it first
                exp = client.get_experiment_by_name(name)
                if exp is None:
                    raise
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)

    def get_experiment_id(self, study_name: str) -> str | None:
        """The id of ``study_name``'s experiment, or None when it does not exist."""
        exp = self.activate().get_experiment_by_name(self.experiment_name(study_name))
        return None if exp is None else str(exp.experiment_id)


def tag_run(run_id: str, tags: dict[str, Any], tracking: Tracking | Any | None = None) -> None:
    """Set tags (secrets filtered) on any run, e.g. a gate's verdict on the model's trial run."""
    from cappuccino_core.registry.redact import safe_str_mapping

    client = as_tracking(tracking).activate()
    for k, v in safe_str_mapping(tags).items():
        client.set_tag(run_id, k, v)


def log_run_artifact(
    run_id: str, path: str | Path, artifact_dir: str | None = None, tracking: Tracking | Any | None = None
) -> None:
    """Attach a file (a report, a plot) to a run, under ``artifact_dir`` when given."""
    as_tracking(tracking).activate().log_artifact(run_id, str(path), artifact_dir)


def as_tracking(tracking: Tracking | Settings | None) -> Tracking:
    """Accept a :class:`Tracking`, a ``Settings`` object, or None (the configured defaults)."""
    from cappuccino_core.config import Settings, load_settings

    if isinstance(tracking, Tracking):
        return tracking
    if tracking is None:
        return Tracking.from_settings(load_settings())
    if isinstance(tracking, Settings):
        return Tracking.from_settings(tracking)
    raise TypeError(f"expected Tracking or Settings, got {type(tracking).__name__}")
