"""Scale-out with Prefect: two process workers on one work pool share a single training's Optuna study on
PostgreSQL. A real `prefect server`, the project's `train-shard/shard` deployment (the pool's `training`
queue), two `prefect worker start ... --work-queue training --limit 1` processes, and the `train` flow with
`shards=2`, as the monthly retrain runs it: it prepares each phase's study, one shard per worker joins it,
and the flow summarizes it once.

Checked per phase: every trial in the one study, numbered 0..n-1 with no gap (none lost) and no repeat
(none duplicated), each run by exactly one shard (user attribute ``shard`` = its flow run id), the shards
run by the two different Prefect workers (the flow run's ``prefect.worker.name`` label), and both shards'
`train-shard` artifacts naming the same best trial, the study's, whichever finished last.
Needs PostgreSQL ($CAPPUCCINO_TEST_PG_URL; scripts/ci_postgres.sh); skips with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from cappuccino_core.training.storage import budget_used, make_storage
from tests.integration.postgres_helpers import pg_url_or_skip
from tests.integration.prefect_helpers import (
    POOL,
    PREFECT,
    ROOT,
    api_client,
    cli,
    kill_group,
    prefect_server,
    start,
    tiny_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WORKERS = ("trainer-a", "trainer-b")
TRIALS = {1: 2, 2: 2}  # one trial per shard and phase when both start together: the test stays short
PARENT_TIMEOUT_S = 480.0


def _shard_runs(env: dict[str, str]) -> list[Any]:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with api_client(env) as c:
        return list(
            c.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["train-shard"])), limit=20)
        )


def _reported_best(env: dict[str, str], run_id: Any) -> tuple[int, float]:
    """(trial number, value) of the study's best in the shard's `train-shard` artifact."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with api_client(env) as c:
        (art,) = c.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                key=ArtifactFilterKey(any_=["train-shard"]),
            )
        )
    m = re.search(r"Study best when this shard finished: trial (\d+) \(([-0-9.e]+)\)", str(art.data))
    assert m is not None, art.data
    return int(m.group(1)), float(m.group(2))


def _check_phase(env: dict[str, str], storage: Any, runs: list[Any], name: str, limit: int) -> Counter[str]:
    """The phase study ``name`` after its two shards: returns its trials per Prefect worker."""
    shards = {str(r.id): r for r in runs if r.name.startswith(f"{name}-shard")}
    assert len(shards) == 2, [r.name for r in runs]
    # One shard per Prefect worker (--limit 1 each): both workers of the pool took one.
    assert sorted(r.labels["prefect.worker.name"] for r in shards.values()) == sorted(WORKERS)
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(len(trials))), numbers  # no gap (lost), no repeat (duplicated)
    assert all(t.state == TrialState.COMPLETE for t in trials), Counter(t.state.name for t in trials)
    assert limit <= budget_used(trials) <= limit + 1, (len(trials), limit)  # one shared budget
    by_shard = Counter(t.user_attrs["shard"] for t in trials)
    assert set(by_shard) <= set(shards), by_shard  # each trial run by exactly one of this phase's shards
    best = max(trials, key=lambda t: float(t.value or 0.0))
    for run in shards.values():  # the same best whichever shard finished last
        number, value = _reported_best(env, run.id)
        assert number == best.number and value == pytest.approx(float(best.value or 0.0), abs=1e-4)
    walls = [round(float(t.user_attrs.get("wall_s", 0)), 1) for t in trials]
    print(f"{name}: {len(trials)} trials {dict(by_shard)}, best trial {best.number}, trial wall s {walls}")
    return Counter({shards[sid].labels["prefect.worker.name"]: n for sid, n in by_shard.items()})


def test_two_prefect_workers_share_one_postgres_study(tmp_path: Path) -> None:
    url = pg_url_or_skip()
    prefix = f"scaleout-{uuid.uuid4().hex[:8]}"
    storage = make_storage(url, heartbeat_interval=2, grace_period=20, max_retries=1)
    t0 = time.monotonic()
    try:
        with prefect_server(tmp_path / "prefect") as server:
            env = {
                **server,
                **tiny_env(tmp_path),
                "CAPPUCCINO_PATHS__OPTUNA_STORAGE": url,
                "CAPPUCCINO_TRAINING__MLFLOW": "false",  # the shared study is the subject: no model registry
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            }
            cli(["work-pool", "create", POOL, "--type", "process"], env)
            out = cli(["--no-prompt", "deploy", "--name", "shard"], env)
            assert "successfully created" in out, out
            from cappuccino_core.data.ingest import import_files
            from cappuccino_core.data.store import BarStore

            import_files([ROOT / "data" / "sample"], BarStore(tmp_path / "data"))
            worker = [PREFECT, "worker", "start", "--pool", POOL, "--work-queue", "training", "--limit", "1"]
            procs = [start([*worker, "--name", n], env, tmp_path / f"{n}.log") for n in WORKERS]
            parent_log = tmp_path / "parent.log"
            code = (
                "from flows.train import train; "
                f"train(phase1_trials={TRIALS[1]}, phase2_trials={TRIALS[2]}, workers=1, max_splits=1, "
                f"study={prefix!r}, shards=2)"
            )
            parent = start([sys.executable, "-c", code], env, parent_log)
            try:
                rc = parent.wait(PARENT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                rc = None
            finally:
                kill_group(parent)
                for p in procs:
                    kill_group(p)
            logs = "\n".join(
                f"--- {f.name}:\n{f.read_text(errors='replace')[-4000:]}"
                for f in (parent_log, *(tmp_path / f"{n}.log" for n in WORKERS))
            )
            assert rc == 0, f"train flow exit {rc}\n{logs}"
            runs = _shard_runs(env)
            elapsed = time.monotonic() - t0

            states = [(r.name, r.state.name if r.state else None) for r in runs]
            assert len(runs) == 4 and all(r.state and r.state.is_completed() for r in runs), states
            ran: Counter[str] = Counter()  # trials per Prefect worker, both phases
            for phase, limit in TRIALS.items():
                ran += _check_phase(env, storage, runs, f"{prefix}-phase{phase}", limit)
            assert set(ran) == set(WORKERS), ran  # trials from both workers landed in the studies
            print(f"scale-out test: {elapsed:.1f} s; trials by Prefect worker {dict(ran)}")
    finally:
        for phase in TRIALS:
            with contextlib.suppress(KeyError):
                optuna.delete_study(study_name=f"{prefix}-phase{phase}", storage=storage)
