"""Scale-out: two Prefect task runs, each an Optuna worker, share one study on PostgreSQL (RDBStorage).

The trials split between the workers; none is duplicated or lost: trial numbers are 0..n-1 without gaps,
each trial completed once and was run by exactly one worker (user attribute ``worker``).
Needs PostgreSQL at $CAPPUCCINO_TEST_PG_URL (scripts/ci_postgres.sh sets one up); skips otherwise.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from cappuccino_core.training.storage import make_storage
from cappuccino_core.training.workers import worker_loop
from tests.integration.postgres_helpers import pg_url_or_skip as _pg_url

pytestmark = pytest.mark.postgres

LIMIT = 12


def _storage(url: str) -> optuna.storages.BaseStorage:
    return make_storage(url, heartbeat_interval=1, grace_period=5, max_retries=1)


@pytest.fixture()
def study_name() -> Iterator[str]:
    url = _pg_url()
    name = f"scaleout-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=_storage(url), direction="maximize")
    yield name
    optuna.delete_study(study_name=name, storage=_storage(url))


def test_two_prefect_workers_share_one_postgres_study(study_name: str) -> None:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.task_runners import ThreadPoolTaskRunner

    url = _pg_url()

    @task(name="optuna-worker", cache_policy=NO_CACHE)
    def optuna_worker(worker: str, seed: int) -> int:
        # Its own storage, sampler and connection pool: what a worker on another machine would have.
        sampler = optuna.samplers.RandomSampler(seed=seed)
        study = optuna.load_study(study_name=study_name, storage=_storage(url), sampler=sampler)

        def objective(trial: optuna.Trial) -> float:
            trial.set_user_attr("worker", worker)
            x = trial.suggest_float("x", -1.0, 1.0)
            time.sleep(0.3)  # long enough for the two workers to interleave
            return -(x**2)

        return worker_loop(study, objective, LIMIT, poll_s=0.2)

    runner: Any = ThreadPoolTaskRunner(max_workers=2)  # two task runs at once: two Optuna workers

    @flow(name="scaleout-study", task_runner=runner)
    def scaleout() -> list[int]:
        futures = [optuna_worker.submit(w, i) for i, w in enumerate(("worker-a", "worker-b"))]
        return [f.result() for f in futures]

    ran = scaleout()
    trials = optuna.load_study(study_name=study_name, storage=_storage(url)).get_trials(deepcopy=False)

    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(len(trials))), numbers  # no gap (lost) and no repeat (duplicated)
    # The budget is shared: the limit, overshot by at most the one other worker's trial in flight.
    assert LIMIT <= len(trials) <= LIMIT + 1, len(trials)
    assert all(t.state == TrialState.COMPLETE for t in trials), Counter(t.state.name for t in trials)
    by_worker = Counter(t.user_attrs["worker"] for t in trials)
    assert set(by_worker) == {"worker-a", "worker-b"}, by_worker  # both took part
    assert sum(by_worker.values()) == len(trials) == sum(ran)  # each trial run by exactly one worker
    assert len({t._trial_id for t in trials}) == len(trials)
