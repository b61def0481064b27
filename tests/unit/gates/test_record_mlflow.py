"""Verdicts mirrored to MLflow: tags on the model's run, the verdict file and the gate's files as artifacts;
the trial count of the study (maturity) read back from MLflow."""

from __future__ import annotations

import pytest

from cappuccino_core.gates import Verdict, check, count_complete_trials, mirror_to_mlflow, save_verdict
from cappuccino_core.registry import Tracking
from cappuccino_core.state.store import StateStore


@pytest.fixture()
def tracking(tmp_path) -> Tracking:
    return Tracking(f"sqlite:///{tmp_path}/mlflow.db", tmp_path / "artifacts")


def _trial(client, exp: str, state: str, run_type: str = "trial") -> str:
    run = client.create_run(exp, tags={"run_type": run_type, "trial_state": state})
    return run.info.run_id


def test_verdict_goes_to_the_state_store_and_the_models_run(tmp_path, tracking) -> None:
    client = tracking.activate()
    exp = tracking.ensure_experiment("study-x")
    rid = _trial(client, exp, "COMPLETE")
    for state in ("COMPLETE", "PRUNED", "FAIL", "COMPLETE"):
        _trial(client, exp, state)
    _trial(client, exp, "COMPLETE", run_type="study_summary")
    assert count_complete_trials(rid, tracking) == 3

    v = Verdict.from_checks("stress", rid, [check("worst_loss", 0.95, "<", 0.9)], {"worst_loss": 0.95}, {})
    extra = tmp_path / "scenarios.csv"
    extra.write_text("scenario_id\n1\n")
    v.artifacts["scenarios_csv"] = extra
    store = StateStore(f"sqlite:///{tmp_path}/state.db")
    save_verdict(v, store, tmp_path / "out")
    assert mirror_to_mlflow(v, tracking)

    [row] = store.verdicts(rid)
    assert row.failures["worst_loss"]["threshold"] == 0.9 and row.figures["status"] == "failed"
    tags = client.get_run(rid).data.tags
    assert tags["gate.stress.passed"] == "false"
    assert "worst_loss = 0.95, needs < 0.9" in tags["gate.stress.explanation"]
    names = {a.path for a in client.list_artifacts(rid, "gates/stress")}
    assert names == {"gates/stress/scenarios.csv", "gates/stress/verdict.json"}


def test_a_mirror_failure_is_reported_not_raised(tracking) -> None:
    v = Verdict.from_checks("backtest", "0" * 32, [check("sharpe", 1.0, ">", 0.0)], {}, {})
    assert v.passed and not mirror_to_mlflow(v, tracking)  # no such run
