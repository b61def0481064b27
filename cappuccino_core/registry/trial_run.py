"""One MLflow run per Optuna trial; one experiment per study.

Usage (the trainer)::

    tracking = Tracking.from_settings(settings)
    with trial_run(tracking, study.study_name, trial.number) as run:   # run.run_id is the model id
        run.log_params(trial)                 # the sampled VALUES (categoricals checked against choices)
        run.log_config(env=env_cfg, costs=settings.costs)   # the trial's env (hp.env_config(settings.env))
        run.log_spec(spec)
        ... train, checkpoint under a path keyed by run.run_id ...
        run.log_split_metrics("test_0", {"sharpe": ..., "ew_sharpe": ..., "return": ...})
        run.log_metrics({"test/sharpe": ..., "test/ew_sharpe": ...})
        run.log_test_returns(per_bar_returns)  # the trial's column of the study's PBO matrix
        run.log_equity_plot({"test_0": equity0, ...}, benchmarks={"test_0": ew0, ...})
        run.log_policy(ppo, spec, env=env_cfg)  # the model carries the env it was trained with
        run.log_objective(value)

Leaving the block normally marks the trial COMPLETE (MLflow status FINISHED); ``optuna.TrialPruned``
marks it PRUNED (KILLED); any other exception FAIL (FAILED) with the reason in the ``fail_reason`` tag.
The exception is re-raised. A retried trial passes ``run_id=`` of the run it resumes.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.spec import FeatureSpec
from cappuccino_core.registry.models import LoggedPolicy, log_policy
from cappuccino_core.registry.plots import equity_curve_png
from cappuccino_core.registry.redact import redact_mapping, redact_text, safe_str_mapping
from cappuccino_core.registry.tracking import (
    RUN_TYPE_TRIAL,
    TAG_FAIL_REASON,
    TAG_RUN_TYPE,
    TAG_SPEC_HASH,
    TAG_STUDY,
    TAG_TRIAL,
    TAG_TRIAL_STATE,
    Tracking,
    as_tracking,
)

METRIC_OBJECTIVE = "objective"
METRIC_TEST_SHARPE = "test/sharpe"
METRIC_TEST_EW_SHARPE = "test/ew_sharpe"
# What trading cost, means over the CPCV splits (training/trainer.SplitResult; metrics/costs.py).
METRIC_TEST_TURNOVER = "test/turnover"  # traded notional / mean equity, per year
METRIC_TEST_COST_SHARE = "test/cost_share"  # fees + slippage / starting equity over a split's test bars
METRIC_TEST_ZERO_COST_SHARPE = "test/zero_cost_sharpe"  # the same trades without fees and slippage
TAG_CONFIG_SECTIONS = "config_sections"  # comma-separated sections logged by log_config (params <section>.*)
TEST_RETURNS_ARTIFACT = "test_returns.npy"
SPEC_JSON_ARTIFACT = "feature_spec.json"
EQUITY_PLOT_ARTIFACT = "plots/equity_test.png"

STATE_COMPLETE = "COMPLETE"
STATE_PRUNED = "PRUNED"
STATE_FAIL = "FAIL"
_MLFLOW_STATUS = {STATE_COMPLETE: "FINISHED", STATE_PRUNED: "KILLED", STATE_FAIL: "FAILED"}
_MAX_PARAM_LEN = 6000  # MLflow's limit on a param value


def sampled_values(trial: Any) -> dict[str, Any]:
    """The sampled hyperparameter VALUES of an Optuna trial (never categorical indices).

    ``trial.params`` already holds values; each categorical value is checked against its choices so an
    index can never slip in.
    """
    from optuna.distributions import CategoricalDistribution

    params = dict(trial.params)
    dists = getattr(trial, "distributions", {}) or {}
    for name, value in params.items():
        dist = dists.get(name)
        if isinstance(dist, CategoricalDistribution) and value not in dist.choices:
            raise ValueError(f"param {name}={value!r} is not one of its choices {dist.choices}")
    return params


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        if not value:
            out[prefix] = "{}"
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple):
        out[prefix] = json.dumps(list(value), default=str)
    else:
        out[prefix] = value


def _as_dict(section: Any) -> dict[str, Any]:
    if hasattr(section, "model_dump"):
        return section.model_dump(mode="json")
    if isinstance(section, Mapping):
        return dict(section)
    raise TypeError(f"expected a pydantic section or a mapping, got {type(section).__name__}")


class TrialRun:
    """Logging helpers bound to one trial's MLflow run (the active run inside :func:`trial_run`)."""

    def __init__(self, client: Any, run_id: str, study: str, trial_number: int, tracking: Tracking) -> None:
        self.client = client
        self.run_id = run_id
        self.study = study
        self.trial_number = trial_number
        self.tracking = tracking
        self.state: str | None = None
        self.fail_reason: str | None = None

    # -- params, config, tags ---------------------------------------------------------------------
    def log_params(self, params: Mapping[str, Any] | Any) -> dict[str, str]:
        """Log hyperparameters by value. Accepts a mapping or an Optuna trial (``sampled_values``)."""
        if not isinstance(params, Mapping):
            params = sampled_values(params)
        return self._log_params(params)

    def _log_params(self, params: Mapping[str, Any]) -> dict[str, str]:
        from mlflow.entities import Param

        # MLflow keys allow letters, digits, _ - . / and space; anything else becomes "_".
        flat = {re.sub(r"[^\w\-./ ]", "_", k): v for k, v in safe_str_mapping(params).items()}
        cap = _MAX_PARAM_LEN
        flat = {k: v if len(v) <= cap else v[: cap - 3] + "..." for k, v in flat.items()}
        existing = self.client.get_run(self.run_id).data.params
        # A resumed run (retried trial) may log the same params again; MLflow refuses changed values.
        new = {k: v for k, v in flat.items() if existing.get(k) != v}
        if new:
            self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in new.items()])
        return flat

    def log_config(self, **sections: Any) -> None:
        """Log configuration sections (e.g. ``env=settings.env, costs=settings.costs``): as flattened
        params ``<section>.<field>`` and as JSON artifacts ``config/<section>.json``; secrets filtered."""
        known = self.client.get_run(self.run_id).data.tags.get(TAG_CONFIG_SECTIONS, "")
        names = sorted({*(s for s in known.split(",") if s), *sections})
        self.client.set_tag(self.run_id, TAG_CONFIG_SECTIONS, ",".join(names))
        for name, section in sections.items():
            data = redact_mapping(_as_dict(section))
            flat: dict[str, Any] = {}
            _flatten(name, data, flat)
            self._log_params(flat)
            self.log_json(data, f"config/{name}.json")

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags on the run (values as strings, secrets removed)."""
        for k, v in safe_str_mapping(tags).items():
            self.client.set_tag(self.run_id, k, v)

    # -- artifacts --------------------------------------------------------------------------------
    def log_json(self, data: Any, artifact_file: str) -> None:
        """Log ``data`` as a JSON artifact at ``artifact_file`` (a mapping is redacted first)."""
        if isinstance(data, Mapping):
            data = redact_mapping(data)
        self._log_bytes(json.dumps(data, indent=2, default=str).encode(), artifact_file)

    def _log_bytes(self, blob: bytes, artifact_file: str) -> None:
        rel = Path(artifact_file)
        with tempfile.TemporaryDirectory(prefix="cappuccino-art-") as tmp:
            p = Path(tmp) / rel.name
            p.write_bytes(blob)
            self.client.log_artifact(self.run_id, str(p), str(rel.parent) if str(rel.parent) != "." else None)

    def log_spec(self, spec: FeatureSpec) -> str:
        """The FeatureSpec as ``feature_spec.json`` and its hash as the ``feature_spec_hash`` tag."""
        h = spec.content_hash()
        self._log_bytes(json.dumps(spec.to_dict(), indent=2, default=str).encode(), SPEC_JSON_ARTIFACT)
        self.client.set_tag(self.run_id, TAG_SPEC_HASH, h)
        return h

    def log_test_returns(self, returns: np.ndarray) -> None:
        """Per-bar returns of the trial over all its test splits, concatenated in split order: the
        trial's column of the study's PBO (CSCV) matrix. Every trial of a study must use the same bars."""
        arr = np.asarray(returns, dtype=np.float64).ravel()
        with tempfile.TemporaryDirectory(prefix="cappuccino-ret-") as tmp:
            p = Path(tmp) / TEST_RETURNS_ARTIFACT
            np.save(p, arr)
            self.client.log_artifact(self.run_id, str(p))

    def log_equity_plot(
        self,
        curves: Mapping[str, np.ndarray],
        benchmarks: Mapping[str, np.ndarray] | None = None,
        times: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """PNG of the test splits' equity curves (``plots/equity_test.png``)."""
        with tempfile.TemporaryDirectory(prefix="cappuccino-plot-") as tmp:
            p = equity_curve_png(
                Path(tmp) / Path(EQUITY_PLOT_ARTIFACT).name,
                curves,
                benchmarks,
                times,
                title=f"{self.study} trial {self.trial_number}: test equity "
                "(agent solid, equal weight dashed)",
            )
            self.client.log_artifact(self.run_id, str(p), str(Path(EQUITY_PLOT_ARTIFACT).parent))

    def log_policy(
        self, model: Any, spec: FeatureSpec, algo: str | None = None, env: EnvConfig | None = None
    ) -> LoggedPolicy:
        """The trained policy as a pyfunc model ``runs:/<run_id>/policy`` carrying ``spec`` and the trial's
        ``env`` (its model fields: registry/model_env.py)."""
        logged = log_policy(
            model,
            spec,
            algo=algo,
            run_id=self.run_id,
            tags={TAG_STUDY: self.study, TAG_TRIAL: self.trial_number},
            env=env,
        )
        return logged

    # -- metrics ------------------------------------------------------------------------------------
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metrics (None values skipped) at ``step``."""
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        batch = [Metric(str(k), float(v), ts, step or 0) for k, v in metrics.items() if v is not None]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def log_split_metrics(self, split: str, metrics: Mapping[str, float]) -> None:
        """Metrics of one CV split as ``<split>/<name>`` (e.g. ``test_3/sharpe``)."""
        self.log_metrics({f"{split}/{k}": v for k, v in metrics.items()})

    def log_objective(self, value: float) -> None:
        """Log the trial's objective (metric ``objective``)."""
        self.log_metrics({METRIC_OBJECTIVE: value})

    # -- state ----------------------------------------------------------------------------------------
    def set_state(self, state: str, reason: str | None = None) -> None:
        """Record the trial's end state (COMPLETE, PRUNED, FAIL) and, for a failure, the reason."""
        if state not in _MLFLOW_STATUS:
            raise ValueError(f"trial state must be one of {sorted(_MLFLOW_STATUS)}, got {state!r}")
        self.state = state
        self.fail_reason = reason
        self.client.set_tag(self.run_id, TAG_TRIAL_STATE, state)
        if reason:
            self.client.set_tag(self.run_id, TAG_FAIL_REASON, redact_text(reason)[:5000])


@contextmanager
def trial_run(
    tracking: Tracking | Any,
    study_name: str,
    trial_number: int,
    *,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Iterator[TrialRun]:
    """Start (or with ``run_id`` resume) the MLflow run of one trial; see the module docstring."""
    import mlflow
    import optuna

    trk = as_tracking(tracking)
    client = trk.activate()
    exp_id = trk.ensure_experiment(study_name)
    base_tags = {
        TAG_RUN_TYPE: RUN_TYPE_TRIAL,
        TAG_STUDY: study_name,
        TAG_TRIAL: str(trial_number),
        TAG_TRIAL_STATE: "RUNNING",
        **(tags or {}),
    }
    if run_id is not None:
        active = mlflow.start_run(run_id=run_id)
    else:
        active = mlflow.start_run(
            experiment_id=exp_id, run_name=f"trial-{trial_number}", tags=safe_str_mapping(base_tags)
        )
    run = TrialRun(client, active.info.run_id, study_name, trial_number, trk)
    if run_id is not None:
        run.set_tags(base_tags)
    try:
        yield run
    except optuna.TrialPruned as exc:
        run.set_state(STATE_PRUNED, str(exc) or "pruned")
        mlflow.end_run(_MLFLOW_STATUS[STATE_PRUNED])
        raise
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc(limit=8)
        try:
            run.set_state(STATE_FAIL, reason)
            run._log_bytes(redact_text(tb).encode(), "fail_traceback.txt")
        finally:
            mlflow.end_run("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    else:
        state = run.state or STATE_COMPLETE
        if run.state is None:
            run.set_state(STATE_COMPLETE)
        mlflow.end_run(_MLFLOW_STATUS[state])
