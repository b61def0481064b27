"""Journal storage with heartbeats: a SIGKILLed worker's trial is failed with a reason and retried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from cappuccino_core.training.storage import (
    HEARTBEAT_ATTR,
    HeartbeatJournalStorage,
    budget_used,
    make_storage,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _storage(path: Path) -> HeartbeatJournalStorage:
    s = make_storage(f"journal:{path}", heartbeat_interval=1, grace_period=2, max_retries=1)
    assert isinstance(s, HeartbeatJournalStorage)
    return s


def test_heartbeat_recorded_while_optimizing(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="s", storage=_storage(tmp_path / "j.log"))

    def objective(trial: optuna.Trial) -> float:
        time.sleep(1.5)
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.COMPLETE
    assert HEARTBEAT_ATTR in t.system_attrs


WORKER = textwrap.dedent(
    """
    import sys, time, optuna
    from cappuccino_core.training.storage import make_storage
    storage = make_storage(sys.argv[1], heartbeat_interval=1, grace_period=2, max_retries=1)
    study = optuna.load_study(study_name=sys.argv[2], storage=storage)
    def objective(trial):
        trial.set_user_attr("trial_uid", "uid-123")
        trial.suggest_float("x", 0, 1)
        print("started", flush=True)
        time.sleep(600)
    study.optimize(objective, n_trials=1)
    """
)


def _urls() -> list[Any]:
    urls: list[Any] = ["journal", "sqlite"]
    pg = os.environ.get("CAPPUCCINO_TEST_PG_URL")  # e.g. postgresql+psycopg://user@localhost/db
    urls.append(
        pytest.param(pg, marks=pytest.mark.postgres)
        if pg
        else pytest.param("postgres", marks=pytest.mark.skip(reason="set CAPPUCCINO_TEST_PG_URL"))
    )
    return urls


@pytest.mark.parametrize("kind", _urls())
def test_sigkilled_worker_trial_is_failed_with_reason_and_retried(tmp_path: Path, kind: str) -> None:
    if kind == "journal":
        url = f"journal:{tmp_path / 'j.log'}"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'o.db'}"
    else:
        url = kind
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        storage = make_storage(url, heartbeat_interval=1, grace_period=2, max_retries=1)
    study_name = f"s-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=study_name, storage=storage)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, study_name], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(3.5)  # > grace

    study = optuna.load_study(study_name=study_name, storage=storage)
    seen: dict[str, object] = {}

    def objective(trial: optuna.Trial) -> float:
        seen["uid"] = trial.user_attrs.get("trial_uid")
        seen["reason"] = trial.user_attrs.get("reason")
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=1)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    lost, retry = trials
    assert lost.user_attrs["reason_kind"] == "worker_lost"
    assert "heartbeat" in lost.user_attrs["reason"]
    assert retry.params == lost.params
    assert seen == {"uid": "uid-123", "reason": None}  # the retry resumes the same uid, no stale reason
    assert retry.system_attrs["failed_trial"] == lost.number
    assert budget_used(trials) == 1
