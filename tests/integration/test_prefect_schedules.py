"""Schedules fire: a real `prefect server` with its scheduler service, `prefect deploy --all` of the project's
prefect.yaml, then upcoming runs of `retrain/monthly` and `pipeline/tick` created by the scheduler alone;
and a 15-second interval deployment (test-only, in a temporary project) run to completion by a process
worker with no manual trigger.

This is the test that catches an incompatible SQLAlchemy (2.1.x makes Prefect 3.8.8's scheduler fail every
loop with "Can't evaluate bulk DML statement"; see constraints.txt).
"""

from __future__ import annotations

import textwrap
import time
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
)

pytestmark = pytest.mark.slow

TEST_POOL = "schedule-test"
FIRE_TIMEOUT_S = 150.0  # one interval (15 s) + the scheduler loop + the worker's poll + the run itself


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    with prefect_server(tmp_path / "prefect", scheduler=True) as env:
        yield {**env, "PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_WORKER_PREFETCH_SECONDS": "5"}


def _runs_of(env: dict[str, str], flow_name: str, deployment: str, state: str) -> list[Any]:
    """Runs of ``flow_name/deployment`` in state ``state`` (filtered by the server: the scheduler creates up
    to 100 upcoming runs of a short-interval deployment)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )

    with api_client(env) as c:
        return list(
            c.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(name=FlowRunFilterStateName(any_=[state]))
                ),
                limit=50,
            )
        )


def _wait(pred: Any, timeout_s: float, what: str, *log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(2)
    logs = "\n".join(f"--- {f.name}:\n{f.read_text(errors='replace')[-3000:]}" for f in log)
    raise TimeoutError(f"{what} not seen after {timeout_s} s\n{logs}")


def test_scheduler_creates_upcoming_runs_and_fires_a_one_minute_deployment(
    server: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "prefect" / "server.log"

    # The project's deployments, as a user deploys them: the scheduler creates their upcoming runs.
    cli(["work-pool", "create", POOL, "--type", "process"], server)
    assert deploy_all(server) == ["monthly", "tick", "hourly", "on-demand", "monitor", "shard"]
    for flow_name, deployment in (("retrain", "monthly"), ("pipeline", "tick")):
        runs = _wait(
            lambda f=flow_name, d=deployment: _runs_of(server, f, d, "Scheduled"),
            60,
            f"upcoming runs of {flow_name}/{deployment}",
            log,
        )
        assert all(r.auto_scheduled for r in runs), [(r.name, r.auto_scheduled) for r in runs]
        assert all(r.expected_start_time > r.created for r in runs)
    monthly = sorted(r.expected_start_time for r in _runs_of(server, "retrain", "monthly", "Scheduled"))
    # cron "0 3 1 * *" in UTC: the 1st of a month at 03:00.
    assert all((t.day, t.hour, t.minute) == (1, 3, 0) for t in monthly), monthly

    # A test-only deployment on its own pool with a 15-second interval: nobody triggers it.
    proj = tmp_path / "proj"
    proj.mkdir()
    marker = tmp_path / "fired.txt"
    (proj / "beat.py").write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path

            from prefect import flow


            @flow(name="beat")
            def beat() -> str:
                with Path({str(marker)!r}).open("a") as f:
                    f.write("fired\\n")
                return "fired"
            """
        )
    )
    (proj / "prefect.yaml").write_text(
        textwrap.dedent(
            f"""
            name: schedule-test
            prefect-version: 3.8.8
            pull:
              - prefect.deployments.steps.set_working_directory:
                  directory: {str(proj)!r}
            deployments:
              - name: every-minute
                entrypoint: beat.py:beat
                work_pool: {{name: {TEST_POOL}}}
                schedules:
                  - interval: 15
            """
        )
    )
    cli(["work-pool", "create", TEST_POOL, "--type", "process"], server)
    out = cli(["--no-prompt", "deploy", "--all"], server, cwd=proj)
    assert "successfully created" in out, out
    with process_worker(server, tmp_path / "worker.log", pool=TEST_POOL):
        done = _wait(
            lambda: _runs_of(server, "beat", "every-minute", "Completed"),
            FIRE_TIMEOUT_S,
            "a completed scheduled run of beat/every-minute",
            log,
            tmp_path / "worker.log",
        )
    assert done[0].auto_scheduled, done[0]
    assert marker.read_text().startswith("fired"), "the flow body ran on the worker"
    server_log = log.read_text(errors="replace")
    assert "Can't evaluate bulk DML" not in server_log
    assert "Traceback" not in server_log, server_log[-4000:]
