"""The training study end to end on the bundled real sample (tiny budgets): two phases with worker
processes, MLflow runs per trial, fault injection, and a SIGKILLed worker whose trial is retried."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import optuna
import polars as pl
import pytest
from optuna.trial import TrialState

from cappuccino_core.config import Settings, load_settings
from cappuccino_core.training import run_phase
from cappuccino_core.training.storage import budget_used
from cappuccino_core.training.study import best_phase1_choice, open_study, prepare_phase
from cappuccino_core.training.workers import run_workers

pytestmark = pytest.mark.slow
FAULTS = "tests.unit.training.faults:"
BARS = 1500  # newest 1h bars of each bundled ticker (~2 months)


@pytest.fixture()
def tiny_sample(sample_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sample"
    out.mkdir()
    for f in sample_dir.glob("*_1h.parquet"):
        pl.read_parquet(f).tail(BARS).write_parquet(out / f.name)
    return out


def _settings(tmp_path: Path, sample: Path, **training: Any) -> Settings:
    base = {
        "phase1_trials": 4,
        "phase2_trials": 3,
        "phase1_timeframes": ["5m", "1h", "4h"],  # 5m: only BTC has it, so it is left out
        "phase1_lookbacks": [3, 6],
        "cv_groups": 3,
        "cv_test_groups": 1,
        "purge_bars": 4,
        "embargo_bars": 4,
        "timesteps_per_split": 64,
        "phase1_timesteps_per_split": 64,
        "checkpoint_every_steps": 32,
        "n_steps_choices": [16, 32],
        "batch_size_choices": [16, 32],
        "net_width_choices": [8, 16],
        "net_depth_max": 2,
        "heartbeat_interval_s": 1,
        "heartbeat_grace_s": 4,
        "pruner_startup_trials": 1,
        "pruner_warmup_splits": 1,
        "trial_memory_mb": 1500,
        "trial_timeout_s": 300,
        "workers": 2,
        **training,
    }
    return load_settings(
        paths={
            "data_root": tmp_path / "data",
            "sample_dir": sample,
            "state_url": f"sqlite:///{tmp_path / 'state.db'}",
            "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "mlflow_artifact_root": tmp_path / "mlartifacts",
            "optuna_storage": f"journal:{tmp_path / 'optuna.journal'}",
            "reports_dir": tmp_path / "reports",
        },
        env={"n_envs": 2, "episode_length": 64},
        training=base,
    )


def _check_terminal(trials: list[optuna.trial.FrozenTrial]) -> None:
    for t in trials:
        assert t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL), (t.number, t.state)
        assert t.user_attrs.get("reason_kind"), (t.number, t.user_attrs)
        assert t.user_attrs.get("reason"), (t.number, t.user_attrs)


def test_two_phases_on_bundled_data(
    tmp_path: Path, tiny_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = _settings(tmp_path, tiny_sample)
    r1 = run_phase(settings, 1)
    assert r1.study == "cappuccino-phase1" and r1.all_terminal_with_reason
    assert r1.worker_exitcodes == [0, 0]
    s1 = open_study(settings, 1)
    trials1 = s1.get_trials(deepcopy=False)
    assert len(trials1) == 4 and budget_used(trials1) == 4
    assert s1.user_attrs["timeframes"] == ["1h", "4h"]
    # the enqueued grid: every (timeframe, lookback) pair once
    assert {(t.params["timeframe"], t.params["lookback"]) for t in trials1} == {
        ("1h", 3), ("1h", 6), ("4h", 3), ("4h", 6)
    }  # fmt: skip
    _check_terminal(trials1)

    r2 = run_phase(settings, 2)
    s2 = open_study(settings, 2)
    tf, lb, _ = best_phase1_choice(settings)
    assert s2.user_attrs["fixed"] == {"timeframe": tf, "lookback": lb}
    trials2 = s2.get_trials(deepcopy=False)
    assert len(trials2) == 3 and r2.all_terminal_with_reason
    _check_terminal(trials2)
    assert all("learning_rate" in t.params and "timeframe" not in t.params for t in trials2)
    # the first phase-2 trial is phase 1's own configuration, moved into phase 2's ranges
    from cappuccino_core.training.space import phase1_point

    first = min(trials2, key=lambda t: t.number)
    assert first.user_attrs.get("phase1_point") is True
    assert first.params == phase1_point(settings.training, settings.env)
    assert first.params["ent_coef"] == pytest.approx(1e-8)  # phase 1's 0, at the bottom of the log range
    uids = [t.user_attrs["trial_uid"] for t in trials1 + trials2]
    assert len(set(uids)) == len(uids)  # globally unique ids (the MLflow run ids)

    # the registry saw every trial, with its state; completed ones carry a policy and its spec
    from cappuccino_core.registry import Tracking
    from cappuccino_core.registry.study_summary import collect_trials

    records = {r.run_id: r for r in collect_trials("cappuccino-phase2", Tracking.from_settings(settings))}
    for t in trials2:
        rec = records[t.user_attrs["trial_uid"]]
        assert rec.state == t.state.name
        if t.state == TrialState.COMPLETE:
            assert rec.has_model and rec.spec_hash
            assert rec.objective == pytest.approx(t.value)
    # a completed trial's model carries the env it trained under: its sampled env hyperparameters
    from cappuccino_core.registry import load_policy, model_spec

    done = next(t for t in trials2 if t.state == TrialState.COMPLETE)
    trk = Tracking.from_settings(settings)
    uid = done.user_attrs["trial_uid"]
    loaded = load_policy(uid, model_spec(uid, trk), trk)
    env = loaded.env_config(settings.env)
    assert loaded.env_source == "artifact"
    assert env.reward == done.params["reward"] and env.decision_every == done.params["decision_every"]
    for name in ("hold_band", "cash_reserve", "reward_scale"):
        assert getattr(env, name) == pytest.approx(done.params[name]), name
    # checkpoints and local artefact copies are cleaned up once a trial ends
    work = tmp_path / "data" / "training" / "cappuccino-phase2"
    assert not any((work / "checkpoints").glob("*/*")) if (work / "checkpoints").exists() else True
    # resuming a finished study runs nothing more
    r2b = run_phase(settings, 2, workers=1)
    assert len(r2b.trials) == 3


def test_faults_end_in_terminal_states_with_reasons(
    tmp_path: Path, tiny_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    faults = ["ok", "raise", "nan", "memory", "timeout", "ok"]
    counter = tmp_path / "fault-counter"
    counter.mkdir()
    monkeypatch.setenv("CAPPUCCINO_TEST_FAULTS", ",".join(faults))
    monkeypatch.setenv("CAPPUCCINO_TEST_FAULTS_DIR", str(counter))
    settings = _settings(
        tmp_path,
        tiny_sample,
        phase1_trials=len(faults),
        phase1_timeframes=["4h"],
        phase1_lookbacks=[3],
        trial_timeout_s=45,
        trial_memory_mb=900,
        final_fit=False,
        workers=1,
        pruner="none",
    )
    report = run_phase(settings, 1, target=FAULTS + "dispatch")
    trials = open_study(settings, 1).get_trials(deepcopy=False)
    _check_terminal(trials)
    got = [(t.state.name, t.user_attrs["reason_kind"]) for t in trials]
    assert got == [
        ("COMPLETE", "ok"),
        ("FAIL", "error"),
        ("PRUNED", "non_finite"),
        ("FAIL", "memory"),
        ("FAIL", "timeout"),
        ("COMPLETE", "ok"),
    ]
    assert "injected failure" in trials[1].user_attrs["reason"]
    assert "nan" in trials[2].user_attrs["reason"]
    assert "cap" in trials[3].user_attrs["reason"] and trials[3].user_attrs["peak_rss_mb"] > 900
    assert "wall-time" in trials[4].user_attrs["reason"]
    assert report.worker_exitcodes == [0]  # the worker survived every fault
    # no growth of the worker across trials (after the first, which loads MLflow's model logging):
    # the children took their memory with them
    rss = [t.user_attrs["worker_rss_mb"] for t in trials]
    assert max(rss[1:]) <= rss[0] * 1.05, rss


def test_sigkilled_worker_trial_is_retried_and_resumes(
    tmp_path: Path, tiny_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAPPUCCINO_TEST_SPLIT_SLEEP", "4")
    settings = _settings(
        tmp_path, tiny_sample, phase1_trials=1, phase1_timeframes=["4h"], phase1_lookbacks=[3], workers=1
    )
    study = prepare_phase(settings, 1)
    from cappuccino_core.registry import Tracking

    Tracking.from_settings(settings).ensure_experiment(study.study_name)
    codes: list[int | None] = []
    sup = threading.Thread(
        target=lambda: codes.extend(run_workers(settings, 1, 1, 1, target=FAULTS + "train_slowly")),
        daemon=True,
    )
    sup.start()
    victim = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and victim is None:
        time.sleep(0.5)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.intermediate_values:  # one split reported: kill its worker mid-trial
                victim = t
    assert victim is not None, "no trial reported a split in time"
    os.kill(victim.user_attrs["worker_pid"], signal.SIGKILL)
    sup.join(timeout=400)
    assert not sup.is_alive()
    trials = study.get_trials(deepcopy=False)
    _check_terminal(trials)
    lost, retry = trials
    assert lost.state == TrialState.FAIL and lost.user_attrs["reason_kind"] == "worker_lost"
    assert retry.state == TrialState.COMPLETE
    assert retry.system_attrs["failed_trial"] == lost.number
    assert retry.user_attrs["trial_uid"] == lost.user_attrs["trial_uid"]  # same id: same checkpoints
    assert retry.user_attrs["resumed_splits"] >= 1  # the reported split was not trained again
    assert retry.params == lost.params
    assert codes[0] == -signal.SIGKILL and codes[-1] == 0  # the dead worker was replaced
