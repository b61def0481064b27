"""The monthly retrain through a real Prefect server: work pool, process worker, `prefect deploy --all`,
`prefect deployment run retrain/monthly`, then the models in the MLflow registry and the state store."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.prefect_helpers import (
    POOL,
    api_client,
    cli,
    deploy_all,
    prefect_server,
    process_worker,
    tiny_env,
)

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 420.0


@pytest.fixture()
def stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Server + work pool + worker + deployments; everything stopped (process groups killed) afterwards."""
    with prefect_server(tmp_path / "prefect") as env:
        env = {**env, **tiny_env(tmp_path / "work")}
        cli(["work-pool", "create", POOL, "--type", "process"], env)
        deployed = deploy_all(env)
        assert deployed == ["monthly", "tick", "hourly", "on-demand"], deployed
        with process_worker(env, tmp_path / "worker.log"):
            yield env


def _wait_final(flow_run_id: uuid.UUID, env: dict[str, str], timeout_s: float) -> tuple[Any, list[Any]]:
    from prefect.client.schemas.sorting import FlowRunSort

    with api_client(env) as c:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            fr = c.read_flow_run(flow_run_id)
            if fr.state is not None and fr.state.is_final():
                runs = c.read_flow_runs(limit=100, offset=0, sort=FlowRunSort.START_TIME_ASC)
                return fr, [r for r in runs if r.parent_task_run_id is not None]
            time.sleep(2)
    raise TimeoutError(f"flow run {flow_run_id} not final after {timeout_s} s (last state {fr.state})")


def test_retrain_deployment_runs_on_a_process_worker(stack: dict[str, str], tmp_path: Path) -> None:
    out = cli(
        [
            "deployment",
            "run",
            "retrain/monthly",
            "--param",
            "phase1_trials=1",
            "--param",
            "phase2_trials=1",
            "--param",
            "workers=1",
            "--param",
            "max_splits=1",
            "--param",
            "skip_augment=true",
            "--param",
            "inject_train_failures=1",  # the train subflow's first attempt fails; its retry runs
        ],
        stack,
    )
    m = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert m, out
    fr, subflows = _wait_final(uuid.UUID(m.group(1)), stack, RUN_TIMEOUT_S)
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")[-6000:]
    assert fr.state.is_completed(), f"{fr.state}\n{worker_log}"
    by_flow: dict[str, Any] = {}
    with api_client(stack) as c:
        for r in subflows:
            by_flow[c.read_flow(r.flow_id).name] = r
    assert {"ingest", "train", "gates", "arena"} <= set(by_flow), sorted(by_flow)
    assert by_flow["train"].state.is_completed()
    assert by_flow["train"].run_count == 2, by_flow["train"].run_count  # failed once, retried, completed

    # Models in the MLflow registry (the tmp tracking URI from the CAPPUCCINO_PATHS__* overrides).
    from cappuccino_core.config import load_settings
    from cappuccino_core.registry import Tracking, list_versions
    from cappuccino_core.state import StateStore
    from cappuccino_core.state.schema import PipelineStage

    settings = load_settings(
        paths={
            "data_root": tmp_path / "work" / "data",
            "state_url": stack["CAPPUCCINO_PATHS__STATE_URL"],
            "mlflow_tracking_uri": stack["CAPPUCCINO_PATHS__MLFLOW_TRACKING_URI"],
            "mlflow_artifact_root": tmp_path / "work" / "mlartifacts",
        }
    )
    versions = list_versions(tracking=Tracking.from_settings(settings))
    # Phase 1 only picks timeframe and lookback; phase 2's best trial is the registered candidate.
    assert len(versions) >= 1, "phase 2's best policy should be registered"
    roles = {a: v.run_id for v in versions for a in v.aliases}
    assert roles, [(v.version, v.aliases) for v in versions]

    store = StateStore(settings.paths.state_url)
    with store.session() as s:
        stages = {(p.stage, p.status) for p in s.query(PipelineStage).all()}
    for stage in ("ingest", "train", "gates", "arena"):
        assert (stage, "done") in stages, stages
    audit = store.audit_log(limit=1000)
    crowned = [a for a in audit if a.action == "arena:crown"]
    assert crowned, [(a.action, a.subject) for a in audit]
    assert crowned[0].subject in set(roles.values()), (crowned[0].subject, roles)  # it holds a role
    assert all(a.actor == "flow:arena" and a.reason for a in audit if a.action.startswith("arena:"))
