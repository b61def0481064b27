"""Done-when of the monitor: a paper model whose backtest was made on a rising market is paper-replayed
after the market turns; `cappuccino pipeline monitor` (the monitor flow, against a real Prefect server)
raises the degradation alert at a loopback receiver, demotes it through the referee, and starts exactly
one run of the retrain deployment through the Prefect API; a second pass inside the cooldown (in process, to
save a second CLI start) starts none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.prefect_helpers import api_client, prefect_server, tiny_env
from tests.unit.notify.receiver import receiver
from tests.unit.readme_blocks import commands

pytestmark = pytest.mark.slow
CAPPUCCINO = str(Path(sys.executable).with_name("cappuccino"))


def _register_production(settings) -> str:
    """One registered model version (no artifact needed: the monitor reads records, not weights), given the
    production role by the referee as the arena would."""
    from cappuccino_core.arena import MlflowRoleBook, Referee, Transition
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state import StateStore

    trk = Tracking.from_settings(settings)
    client = trk.activate()
    client.create_registered_model(trk.registered_model_name)
    run = client.create_run(client.create_experiment("monitor-test"))
    run_id = run.info.run_id
    client.create_model_version(trk.registered_model_name, source=f"runs:/{run_id}/policy", run_id=run_id)
    ref = Referee(StateStore(settings.paths.state_url), MlflowRoleBook(trk), actor="test")
    ref.apply(Transition(run_id, "to_production", "production", "won the sandbox duel", alias="production"))
    return run_id


def _backtest_then_turned_paper_replay(settings, run_id: str) -> dict:
    """Backtest gate on a rising market (stored verdict); the same policy replayed through the kernel on
    the market after it turns, its equity written as the paper trader's snapshots (hourly, up to now)."""
    from cappuccino_core.backtest.runner import backtest
    from cappuccino_core.env.toy import toy_dataset
    from cappuccino_core.features.dataset import SOURCE_REAL
    from cappuccino_core.gates import run_all_gates
    from cappuccino_core.state import StateStore
    from cappuccino_core.state.schema import EquitySnapshot
    from tests.unit.gates.policies import Constant

    store = StateStore(settings.paths.state_url)
    rising = toy_dataset(300, 2, 2, 4, drift=0.002, vol=0.006, seed=3)
    rising.source[:] = SOURCE_REAL
    out = run_all_gates(run_id, settings, store=store, policy=Constant(2, 1.0), held_out=rising,
                        n_complete_trials=0, mirror=False)  # fmt: skip
    assert out["backtest"] is True, out
    turned = toy_dataset(200, 2, 2, 4, drift=-0.003, vol=0.006, seed=4)
    eq = backtest(Constant(2, 1.0), turned, settings.env, settings.costs).equity
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with store.session() as s:
        for i, e in enumerate(eq):
            ts = end - timedelta(hours=len(eq) - 1 - i)
            s.add(EquitySnapshot(broker="alpaca", model_run_id=run_id, ts=ts, equity=float(e), cash=0.0))
    return {
        "backtest_sharpe": store.verdicts(run_id)[0].figures["sharpe"],
        "paper_return": eq[-1] / eq[0] - 1,
    }


def _monitor_cli(env: dict[str, str], cwd: Path) -> str:
    """The README's monitor command as written (section 8), with this checkout's .venv/bin on PATH."""
    [line] = commands("### 8. Monitor and retrain triggers")
    assert line == "cappuccino pipeline monitor"
    env = {**env, "PATH": f"{Path(CAPPUCCINO).parent}:{env.get('PATH', '')}"}
    r = subprocess.run(["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=180,
                       check=False)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _second_pass_in_process(settings) -> list[str]:
    """The monitor task's body again (same referee, notifier and Prefect launcher), inside the cooldown."""
    from tasks.monitor import monitor_evidence, monitor_pass

    return monitor_pass.fn(settings, monitor_evidence.fn(settings))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with prefect_server(tmp_path_factory.mktemp("prefect")) as env:
        yield env


def test_progress_artifact_of_long_work_inside_a_flow(server: dict[str, str]) -> None:
    """A flow that reports progress through tasks/progress.py leaves one progress artifact at 100%."""
    from prefect import flow
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from cappuccino_core.progress import ProgressMeter
    from tasks.progress import PrefectProgress

    @flow(name="progress-probe")
    def probe() -> None:
        meter = ProgressMeter("cge scenarios", 4, [PrefectProgress("augment")], min_interval_s=0.0)
        for _ in range(4):
            meter.advance(1, "solving")

    with temporary_settings({PREFECT_API_URL: server["PREFECT_API_URL"]}):
        probe()
    with api_client(server) as c:
        arts = [a for a in c.read_artifacts(limit=50) if a.key == "augment-cge-scenarios"]
    assert len(arts) == 1 and arts[0].type == "progress" and float(arts[0].data) == 100.0, arts
    assert arts[0].description.startswith("cge scenarios: 4/4 (100%)")


def test_degraded_paper_model_alerts_is_demoted_and_starts_one_retrain(
    tmp_path: Path, monkeypatch, server: dict[str, str]
) -> None:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from cappuccino_core.arena import holders
    from cappuccino_core.config import load_settings
    from cappuccino_core.state import StateStore

    with receiver() as rx:
        env = {
            **server,
            **tiny_env(tmp_path / "work"),
            "OPS_HOOK": rx.url("ops"),
            "CAPPUCCINO_NOTIFY__TARGETS": json.dumps(
                [{"name": "ops", "kind": "json", "url_env": "OPS_HOOK"}]
            ),
            "CAPPUCCINO_RETRAIN__ON_DATA_DRIFT": "false",
            "CAPPUCCINO_RETRAIN__ON_ACCOUNT_GROWTH": "false",
            "CAPPUCCINO_RETRAIN__PARAMETERS": json.dumps({"skip_augment": True}),
        }
        for k, v in env.items():
            if k.startswith("CAPPUCCINO_"):
                monkeypatch.setenv(k, v)
        monkeypatch.chdir(tmp_path)
        settings = load_settings(None)
        run_id = _register_production(settings)
        figs = _backtest_then_turned_paper_replay(settings, run_id)
        assert figs["backtest_sharpe"] > 1.0 and figs["paper_return"] < -0.1, figs
        with temporary_settings({PREFECT_API_URL: server["PREFECT_API_URL"]}):
            from flows.retrain import retrain

            dep_id = retrain.to_deployment(name="monthly").apply()

        first = _monitor_cli({**os.environ, **env}, tmp_path)
        with temporary_settings({PREFECT_API_URL: server["PREFECT_API_URL"]}):
            second = "\n".join(_second_pass_in_process(settings))

        with api_client(server) as c:
            runs = c.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep_id])))
        assert len(runs) == 1, [r.name for r in runs]
        assert runs[0].parameters == {"skip_augment": True}
        assert f"retrain started: flow run {runs[0].id}" in first, first
        assert "retrain started" not in second, second

        titles = [r["body"]["title"] for r in rx.received]
        assert titles.count(f"Demotion (demote -> demoted): {run_id}") == 1, titles
        assert titles.count("Retrain triggered: degradation") == 1, titles
        degraded = [t for t in titles if t.startswith(f"Degradation of {run_id} (paper)")]
        assert len(degraded) == 1, titles  # the second pass's identical alert is deduplicated

        store = StateStore(settings.paths.state_url)
        assert holders(store, "demoted") == [run_id]
        actions = [r.action for r in store.audit_log(limit=50)]
        assert actions.count("retrain:started") == 1 and actions.count("retrain:cooldown") == 1
        demote = next(r for r in store.audit_log(subject=run_id) if r.action == "arena:demote")
        assert demote.actor == "flow:monitor" and "sharpe" in demote.evidence["findings"]
