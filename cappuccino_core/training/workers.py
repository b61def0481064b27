"""K worker processes on one study, up to its trial limit; a lost worker is replaced, its trial retried.

Each worker runs ``study.optimize(objective, n_trials=1)`` in a loop (heartbeats need ``optimize``, not
ask/tell) while the study's budget lasts: every trial counts except a failed one that a retry replaced
(storage.budget_used), so a limit is never overshot by more than the trials started at the same moment.
When the budget is spent a worker drains: it runs re-queued (WAITING) trials and waits while others'
trials run, so a trial whose worker died (SIGKILL, OOM killer, a lost machine) is failed after the
heartbeat grace period and retried here. The supervisor replaces a worker that dies.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import TrialState

from cappuccino_core.config import Settings
from cappuccino_core.training.objective import DEFAULT_TARGET, TrialObjective
from cappuccino_core.training.storage import budget_used
from cappuccino_core.training.study import load_context, open_study

log = logging.getLogger(__name__)


def worker_loop(study: optuna.Study, objective: Any, limit: int, poll_s: float) -> int:
    """Run trials until the budget is spent and no trial is waiting or running. Returns trials run."""
    ran = 0
    while True:
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        if budget_used(trials) < limit or waiting:
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=True)
            ran += 1
            continue
        if not any(t.state == TrialState.RUNNING for t in trials):
            return ran
        time.sleep(poll_s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial -> FAIL + re-queued


def run_worker(
    settings_dump: dict[str, Any],
    phase: int,
    worker_index: int,
    limit: int,
    target: str = DEFAULT_TARGET,
    max_splits: int | None = None,
    shard: str | None = None,
) -> None:
    """Entry point of one worker process. ``shard``: recorded on every trial it runs (user attribute
    ``shard``), so a scaled-out run can tell which of its shards ran which trial."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = Settings(**settings_dump)
    if settings.training.mlflow:
        # Logging a policy loads SB3 here; import it (and MLflow) up front so this worker's memory is at
        # its working size before the first trial, and any growth across trials shows.
        import mlflow.pyfunc  # noqa: F401
        import stable_baselines3  # noqa: F401
    study = open_study(settings, phase, worker_index)
    ctx = load_context(settings, phase, study, target, max_splits)
    poll = min(float(settings.training.heartbeat_interval_s), 5.0)
    objective = TrialObjective(ctx)
    worker_loop(study, objective if shard is None else _tagged(objective, shard), limit, poll)


def _tagged(objective: Callable[[optuna.Trial], float], shard: str) -> Callable[[optuna.Trial], float]:
    """``objective`` that first records ``shard`` on the trial (user attribute ``shard``)."""

    def run(trial: optuna.Trial) -> float:
        trial.set_user_attr("shard", shard)
        return objective(trial)

    return run


def run_workers(
    settings: Settings,
    phase: int,
    n_workers: int,
    limit: int,
    *,
    target: str = DEFAULT_TARGET,
    max_splits: int | None = None,
    max_restarts: int | None = None,
    on_start: Any = None,
    on_poll: Any = None,
    shard: str | None = None,
) -> list[int | None]:
    """Start ``n_workers`` processes on the prepared study; replace any that dies; wait for all.
    ``on_poll()`` is called on every supervision round (twice a second): the progress report's hook.

    Returns the exit codes of every worker process started (replacements included).
    """
    ctx = mp.get_context("spawn")
    dump = settings.model_dump(mode="json")
    max_restarts = n_workers * (settings.training.max_retries + 1) if max_restarts is None else max_restarts
    procs: list[Any] = []
    codes: list[int | None] = []
    index = 0

    def start() -> None:
        nonlocal index
        p = ctx.Process(
            target=run_worker,
            args=(dump, phase, index, limit, target, max_splits, shard),
            name=f"optuna-worker-{index}",
        )
        p.start()
        index += 1
        procs.append(p)
        if on_start is not None:
            on_start(p)

    for _ in range(n_workers):
        start()
    restarts = 0
    while procs:
        time.sleep(0.5)
        if on_poll is not None:
            on_poll()
        for p in list(procs):
            if p.is_alive():
                continue
            p.join()
            procs.remove(p)
            codes.append(p.exitcode)
            if p.exitcode != 0:
                log.warning("worker %s died (exit code %s)", p.name, p.exitcode)
                if restarts < max_restarts:
                    restarts += 1
                    start()
    return codes
