"""MLflow for the supervised models: one run per trained kind, a registered model per kind.

The run (experiment ``[supervised].experiment``) holds the hyperparameters, the metrics (validation loss,
per-coin test accuracy, calibration error), and under ``model/``: ``weights.pt`` (every unit's state dict
and hyperparameters: one LSTM per coin, or the Transformer), ``feature_spec.json`` and ``model.json``.
:func:`register` makes it a new version of ``[supervised].lstm_model_name`` / ``transformer_model_name``
(retraining increments the version; the run and the version carry ``version``, ``kind``,
``feature_spec_hash`` and the gate's tags). :func:`load_supervised` reads it back and refuses a FeatureSpec
other than the expected one.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cappuccino_core.features.spec import FeatureSpec
from cappuccino_core.registry.redact import safe_str_mapping
from cappuccino_core.registry.tracking import TAG_RUN_TYPE, TAG_SPEC_HASH, Tracking
from cappuccino_core.supervised.models import build_model

RUN_TYPE = "supervised"
MODEL_DIR = "model"
WINDOW = "window."  # run params: the bars the model was trained on


@dataclass
class SupervisedModel:
    """A trained kind read back: its units (one per coin for the LSTM), the spec, and where it came from."""

    kind: str
    units: list[nn.Module]
    spec: FeatureSpec
    run_id: str = ""
    version: str = ""
    #: the bars it was trained on (``split.training_window``: train_start, train_end, test_start, test_end,
    #: open times in ISO 8601); empty for a run logged without them
    window: dict[str, str] = field(default_factory=dict)


def log_kind(
    tracking: Tracking,
    experiment: str,
    kind: str,
    units: list[nn.Module],
    spec: FeatureSpec,
    params: dict[str, Any],
    metrics: dict[str, float],
    window: dict[str, str] | None = None,
) -> str:
    """A finished MLflow run with the kind's params, metrics and model files; returns its run id.
    ``window``: the bars it was trained on (``split.training_window``), logged as ``window.<key>`` params
    (the arena keeps an ensemble out of a bout on them)."""
    client = tracking.activate()
    exp_id = tracking.ensure_experiment(experiment)
    run = client.create_run(
        exp_id,
        tags={TAG_RUN_TYPE: RUN_TYPE, "kind": kind, TAG_SPEC_HASH: spec.content_hash()},
        run_name=f"{kind}-{spec.content_hash()[:8]}",
    )
    rid = run.info.run_id
    logged = {f"hp.{k}": v for k, v in params.items()}
    logged |= {f"{WINDOW}{k}": v for k, v in (window or {}).items()}
    for name, value in safe_str_mapping(logged).items():
        client.log_param(rid, name, value)
    for name, figure in metrics.items():
        if np.isfinite(figure):
            client.log_metric(rid, name.replace("[", "_").replace("]", "").replace("/", "_"), float(figure))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / MODEL_DIR
        d.mkdir()
        torch.save(
            {"kind": kind, "units": [{"hparams": u.hparams, "state": u.state_dict()} for u in units]},
            d / "weights.pt",
        )
        spec.save(d / "feature_spec.json")
        (d / "model.json").write_text(
            json.dumps({"kind": kind, "tickers": list(spec.tickers), "params": params}, default=str, indent=2)
        )
        client.log_artifacts(rid, str(d), MODEL_DIR)
    client.set_terminated(rid, "FINISHED")
    return str(rid)


def register(tracking: Tracking, name: str, run_id: str, tags: dict[str, Any]) -> str:
    """A new version of registered model ``name`` from ``run_id``'s model files; returns the version."""
    from mlflow.exceptions import MlflowException

    client = tracking.activate()
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Cappuccino supervised direction forecasters.")
    source = f"{client.get_run(run_id).info.artifact_uri}/{MODEL_DIR}"
    mv = client.create_model_version(name, source, run_id=run_id, tags=safe_str_mapping(tags))
    version = str(mv.version)
    client.set_model_version_tag(name, version, "version", version)
    client.set_tag(run_id, "version", version)
    client.set_tag(run_id, "registered_model", name)
    return version


def load_supervised(
    tracking: Tracking, run_id: str, expected_spec: FeatureSpec | None = None
) -> SupervisedModel:
    """The model logged by ``run_id``; ``expected_spec`` given: a different FeatureSpec raises."""
    import mlflow

    tracking.activate()
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=MODEL_DIR, dst_path=tmp)
        )
        spec = FeatureSpec.load(local / "feature_spec.json")
        blob = torch.load(local / "weights.pt", map_location="cpu", weights_only=True)
    if expected_spec is not None:
        expected_spec.check_compatible(spec)
    units = []
    for u in blob["units"]:
        m = build_model(blob["kind"], u["hparams"])
        m.load_state_dict(u["state"])
        m.eval()
        units.append(m)
    data = tracking.activate().get_run(run_id).data
    window = {k.removeprefix(WINDOW): v for k, v in data.params.items() if k.startswith(WINDOW)}
    return SupervisedModel(blob["kind"], units, spec, run_id, data.tags.get("version", ""), window)


def find_run(tracking: Tracking, name: str, version: str | None = None) -> str:
    """The run id of version ``version`` (newest when None) of registered model ``name``."""
    client = tracking.activate()
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        raise ValueError(f"no registered versions of {name}: run `cappuccino train supervised` first")
    pick = (
        max(versions, key=lambda v: int(v.version))
        if version is None
        else next((v for v in versions if str(v.version) == str(version)), None)
    )
    if pick is None:
        raise ValueError(f"{name} has no version {version}")
    return str(pick.run_id)
