"""A trained SB3 PPO logged as an MLflow pyfunc comes back with identical deterministic actions, and only
for data built with a compatible FeatureSpec."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import mlflow
import numpy as np
import pytest

from cappuccino_core.features.spec import FeatureSpecMismatch, IndicatorSpec
from cappuccino_core.registry import (
    get_role,
    load_policy,
    register_policy,
    resolve_model_uri,
    trial_run,
)

from .conftest import make_spec


def _log_trial(tracking, ppo, spec, study="study-a", trial=0) -> str:
    with trial_run(tracking, study, trial) as run:
        run.log_spec(spec)
        run.log_policy(ppo, spec)
        run.log_objective(0.5)
    return run.run_id


def test_pyfunc_roundtrip_through_challenger_alias(tracking, tiny_ppo, spec, obs_batch) -> None:
    expected, _ = tiny_ppo.predict(obs_batch, deterministic=True)
    run_id = _log_trial(tracking, tiny_ppo, spec)
    mv = register_policy(run_id, tags={"study": "study-a", "trial": 0}, alias="challenger", tracking=tracking)
    assert mv.run_id == run_id and "challenger" in mv.aliases

    # Plain MLflow: models:/<name>@challenger, the pyfunc interface.
    pyfunc = mlflow.pyfunc.load_model(f"models:/{tracking.registered_model_name}@challenger")
    got = pyfunc.predict(obs_batch)
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    np.testing.assert_array_equal(pyfunc.predict(obs_batch), got)  # deterministic

    # Cappuccino: by role, by run id, by name@alias; the run id is the identity everywhere.
    for ref in ("challenger", run_id, f"{tracking.registered_model_name}@challenger"):
        policy = load_policy(ref, spec, tracking=tracking)
        np.testing.assert_array_equal(policy.predict(obs_batch), got)
        assert policy.run_id == run_id
        assert policy.spec == spec and policy.spec.content_hash() == spec.content_hash()
    assert load_policy("challenger", spec, tracking=tracking).version == mv.version
    # A flat (B, prod(obs_shape)) batch is accepted and gives the same actions.
    np.testing.assert_array_equal(policy.predict(obs_batch.reshape(len(obs_batch), -1)), got)
    assert get_role("challenger", tracking=tracking).run_id == run_id


def test_model_carries_its_feature_spec(tracking, tiny_ppo, spec) -> None:
    run_id = _log_trial(tracking, tiny_ppo, spec)
    client = tracking.activate()
    run = client.get_run(run_id)
    assert run.data.tags["feature_spec_hash"] == spec.content_hash()
    # The spec travels inside the model directory (not only as a run artifact).
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"runs:/{run_id}/policy"))
    spec_files = list(local.rglob("feature_spec.json"))
    assert len(spec_files) == 1
    data = json.loads(spec_files[0].read_text())
    assert data["tickers"] == ["BTC/USDT", "ETH/USDT"] and data["hash"] == spec.content_hash()
    # ... and as a run artifact beside the run's metrics.
    run_art = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="feature_spec.json"))
    assert json.loads(run_art.read_text())["hash"] == spec.content_hash()


def test_feature_spec_mismatch_is_refused(tracking, tiny_ppo, spec, obs_batch) -> None:
    run_id = _log_trial(tracking, tiny_ppo, spec)
    wrong = {
        "tickers": make_spec(tickers=("ETH/USDT", "BTC/USDT")),  # same tickers, other order
        "timeframe": make_spec(timeframe="4h"),
        "lookback": make_spec(lookback=5),
        "indicators": make_spec(  # rsi period 21, not 14
            indicators=(
                spec.indicators[0],
                IndicatorSpec("rsi", (("timeperiod", 21),), ("rsi",)),
                *spec.indicators[2:],
            )
        ),
        "normalisation": dataclasses.replace(spec, normalisation="none"),
    }
    for what, other in wrong.items():
        with pytest.raises(FeatureSpecMismatch, match=what):
            load_policy(run_id, other, tracking=tracking)
    # A dataset-like object is accepted (its .spec is checked); the compatible spec loads.
    holder = type("Data", (), {"spec": make_spec()})()
    assert load_policy(run_id, holder, tracking=tracking).predict(obs_batch).shape == (len(obs_batch), 2)
    with pytest.raises(TypeError, match="FeatureSpec"):
        load_policy(run_id, None, tracking=tracking)


def test_pyfunc_schema_rejects_wrong_observation_shape(tracking, tiny_ppo, spec) -> None:
    run_id = _log_trial(tracking, tiny_ppo, spec)
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/policy")
    with pytest.raises(Exception, match=r"[Ss]hape"):
        pyfunc.predict(np.zeros((2, 3, 2, 5), dtype=np.float32))
    policy = load_policy(run_id, spec, tracking=tracking)
    with pytest.raises(ValueError, match="batch"):
        policy.predict(np.zeros((3, 2, 4), dtype=np.float32))  # one observation, not a batch


def test_resolve_model_uri_forms(tracking) -> None:
    rid = "0123456789abcdef0123456789abcdef"
    assert resolve_model_uri(rid, tracking).model_uri == f"runs:/{rid}/policy"
    assert resolve_model_uri(f"runs:/{rid}/policy", tracking).run_id == rid
    with pytest.raises(ValueError, match="cannot resolve"):
        resolve_model_uri("not a model", tracking)
