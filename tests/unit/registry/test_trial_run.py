"""One MLflow run per trial: params as values, config, spec, metrics, plot, states -- and no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from cappuccino_core.registry import Tracking, sampled_values, trial_run


def _run(tracking: Tracking, run_id: str):
    return tracking.activate().get_run(run_id)


def _download_all(run_id: str, dst: Path) -> list[Path]:
    root = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="", dst_path=str(dst)))
    return [p for p in root.rglob("*") if p.is_file()]


def test_params_are_stored_as_values_not_indices(tracking: Tracking) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    trial = study.ask()
    arch = trial.suggest_categorical("net_arch", ["64x64", "128x128", "256x256x256"])
    lr = trial.suggest_float("learning_rate", 1e-5, 1e-3, log=True)
    n_steps = trial.suggest_categorical("n_steps", [128, 256, 512])
    with trial_run(tracking, "values-study", trial.number) as run:
        logged = run.log_params(trial)
    params = _run(tracking, run.run_id).data.params
    assert params["net_arch"] == arch and params["net_arch"] in ("64x64", "128x128", "256x256x256")
    assert float(params["learning_rate"]) == lr  # the exact sampled value round-trips
    assert int(params["n_steps"]) == n_steps and n_steps in (128, 256, 512)
    assert logged == params


def test_sampled_values_refuses_an_index_for_a_categorical() -> None:
    ft = FrozenTrial(
        number=0,
        state=TrialState.COMPLETE,
        value=1.0,
        datetime_start=None,
        datetime_complete=None,
        params={"net_arch": 0, "learning_rate": 3e-4},  # an index where a choice belongs
        distributions={
            "net_arch": CategoricalDistribution(["64x64", "128x128"]),
            "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
        },
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=0,
    )
    with pytest.raises(ValueError, match="net_arch"):
        sampled_values(ft)


def test_trial_run_records_everything(tracking: Tracking, settings, spec, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    eq = {f"test_{i}": 100_000 * np.cumprod(1 + rng.normal(0, 0.01, 50)) for i in range(3)}
    ew = {k: 100_000 * np.cumprod(1 + rng.normal(0, 0.01, 50)) for k in eq}
    times = {k: (np.arange(50, dtype=np.int64) + 100 * i) * 3_600_000_000_000 for i, k in enumerate(eq)}
    with trial_run(tracking, "full-study", 7) as run:
        run.log_params({"net_arch": "64x64", "gamma": 0.99})
        run.log_config(env=settings.env, costs=settings.costs)
        run.log_spec(spec)
        run.log_split_metrics("test_0", {"sharpe": 1.2, "ew_sharpe": 0.4})
        run.log_metrics({"test/sharpe": 1.1, "test/ew_sharpe": 0.5})
        run.log_test_returns(rng.normal(0, 0.01, 150))
        run.log_equity_plot(eq, benchmarks=ew, times=times)
        run.log_objective(0.6)
    r = _run(tracking, run.run_id)
    exp = tracking.activate().get_experiment(r.info.experiment_id)
    assert exp.name == tracking.experiment_name("full-study")
    assert r.info.status == "FINISHED"
    tags = r.data.tags
    assert tags["trial_state"] == "COMPLETE" and tags["study"] == "full-study" and tags["trial"] == "7"
    assert tags["feature_spec_hash"] == spec.content_hash()
    assert r.data.params["costs.taker_fee"] == "0.012" and r.data.params["env.position_cap"] == "0.3"
    m = r.data.metrics
    assert m["objective"] == 0.6 and m["test_0/sharpe"] == 1.2 and m["test/ew_sharpe"] == 0.5
    root = tmp_path / "art"
    files = {p.relative_to(root).as_posix(): p for p in _download_all(run.run_id, root)}
    expected = {"feature_spec.json", "config/env.json", "config/costs.json", "test_returns.npy"}
    assert expected | {"plots/equity_test.png"} <= set(files)
    png = files["plots/equity_test.png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert json.loads(files["config/costs.json"].read_text())["taker_fee"] == 0.012
    assert np.load(files["test_returns.npy"]).shape == (150,)
    # Artifacts live under the configured artifact root, not ./mlruns.
    assert Path(settings.paths.mlflow_artifact_root).is_dir()
    assert not (tmp_path / "mlruns").exists()


def test_pruned_and_failed_trials_are_recorded(tracking: Tracking) -> None:
    with pytest.raises(optuna.TrialPruned), trial_run(tracking, "states", 1) as pruned:
        raise optuna.TrialPruned("median rule at split 2")
    with pytest.raises(RuntimeError), trial_run(tracking, "states", 2) as failed:
        raise RuntimeError("NaN in policy gradients")
    p, f = _run(tracking, pruned.run_id), _run(tracking, failed.run_id)
    assert p.data.tags["trial_state"] == "PRUNED" and p.info.status == "KILLED"
    assert "median rule" in p.data.tags["fail_reason"]
    assert f.data.tags["trial_state"] == "FAIL" and f.info.status == "FAILED"
    assert f.data.tags["fail_reason"] == "RuntimeError: NaN in policy gradients"
    assert mlflow.active_run() is None


def test_a_retried_trial_resumes_its_run(tracking: Tracking) -> None:
    with pytest.raises(MemoryError), trial_run(tracking, "retry", 4) as first:
        first.log_params({"gamma": 0.99})
        raise MemoryError("over the cap")
    with trial_run(tracking, "retry", 4, run_id=first.run_id) as again:
        again.log_params({"gamma": 0.99})  # same values again: accepted
        again.log_objective(0.1)
    r = _run(tracking, first.run_id)
    assert again.run_id == first.run_id
    assert r.data.tags["trial_state"] == "COMPLETE" and r.info.status == "FINISHED"


def test_environment_secrets_never_reach_mlflow(
    tracking: Tracking, settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = "sk-live-9f8e7d6c5b4a3210"
    other = "cb-secret-0a1b2c3d4e5f"
    monkeypatch.setenv("ALPACA_SECRET_KEY", secret)
    monkeypatch.setenv("COINBASE_API_SECRET", other)
    tags = {"ALPACA_SECRET_KEY": secret}
    with pytest.raises(ValueError), trial_run(tracking, "secrets", 0, tags=tags) as run:
        run.log_params(
            {
                "alpaca_secret_key": secret,  # secret-named key: dropped
                "note": f"key={secret}",  # secret value inside an innocent key: redacted
                "storage": "postgresql://cappu:hunter2pw@db:5432/optuna",  # URL password: redacted
                "gamma": 0.99,
            }
        )
        run.log_config(env=settings.env, broker={"key_id": "PKTEST", "secret_key": other, "url": f"x{other}"})
        run.set_tags({"api_token": secret, "comment": f"uses {other}"})
        raise ValueError(f"broker refused key {secret}")
    r = _run(tracking, run.run_id)
    blob = json.dumps({"params": r.data.params, "tags": r.data.tags})
    for s in (secret, other, "hunter2pw"):
        assert s not in blob
    assert "alpaca_secret_key" not in r.data.params and "api_token" not in r.data.tags
    assert "ALPACA_SECRET_KEY" not in r.data.tags
    assert r.data.params["gamma"] == "0.99" and r.data.params["note"] == "key=[redacted]"
    assert r.data.params["storage"] == "postgresql://cappu:[redacted]@db:5432/optuna"
    # ... nor the JSON artifacts and the failure traceback.
    for p in _download_all(run.run_id, tmp_path / "art"):
        text = p.read_text(errors="ignore")
        assert secret not in text and other not in text, p.name
