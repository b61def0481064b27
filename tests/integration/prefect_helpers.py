"""Real Prefect server, worker and tiny-budget settings for the orchestration integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "cappuccino-process"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tiny_env(base: Path) -> dict[str, str]:
    """CAPPUCCINO_* overrides: every path under ``base``; two assets, one timeframe, a few PPO steps."""
    return {
        "CAPPUCCINO_PATHS__DATA_ROOT": str(base / "data"),
        "CAPPUCCINO_PATHS__SAMPLE_DIR": str(ROOT / "data" / "sample"),
        "CAPPUCCINO_PATHS__STATE_URL": f"sqlite:///{base / 'state.db'}",
        "CAPPUCCINO_PATHS__MLFLOW_TRACKING_URI": f"sqlite:///{base / 'mlflow.db'}",
        "CAPPUCCINO_PATHS__MLFLOW_ARTIFACT_ROOT": str(base / "mlartifacts"),
        "CAPPUCCINO_PATHS__OPTUNA_STORAGE": f"journal:{base / 'optuna.journal'}",
        "CAPPUCCINO_PATHS__REPORTS_DIR": str(base / "reports"),
        "CAPPUCCINO_CGE__OUTPUT_DIR": str(base / "cge"),
        "CAPPUCCINO_DATA__TICKERS": '["BTC/USDT","ETH/USDT"]',
        "CAPPUCCINO_TRAINING__PHASE1_TIMEFRAMES": '["1h"]',
        # The retrain in these tests skips the CGE step (skip_augment): no synthetic windows to mix in.
        "CAPPUCCINO_TRAINING__SYNTHETIC_SHARE": "0",
        "CAPPUCCINO_TRAINING__PHASE1_LOOKBACKS": "[5]",
        "CAPPUCCINO_TRAINING__CV_GROUPS": "3",
        "CAPPUCCINO_TRAINING__CV_TEST_GROUPS": "1",
        "CAPPUCCINO_TRAINING__TIMESTEPS_PER_SPLIT": "128",
        "CAPPUCCINO_TRAINING__PHASE1_TIMESTEPS_PER_SPLIT": "128",
        "CAPPUCCINO_TRAINING__FINAL_FIT": "false",
        "CAPPUCCINO_TRAINING__N_STEPS_CHOICES": "[64]",
        "CAPPUCCINO_TRAINING__BATCH_SIZE_CHOICES": "[64]",
        "CAPPUCCINO_TRAINING__NET_WIDTH_CHOICES": "[16]",
        "CAPPUCCINO_TRAINING__NET_DEPTH_MAX": "1",
        "CAPPUCCINO_TRAINING__PRUNER": "none",
        "CAPPUCCINO_TRAINING__N_ENVS": "1",
        "CAPPUCCINO_TRAINING__HEARTBEAT_INTERVAL_S": "2",
        "CAPPUCCINO_TRAINING__HEARTBEAT_GRACE_S": "20",
        # The backtest gate only: the stress gate needs a CGE scenario set (minutes to generate).
        "CAPPUCCINO_GATES__ENABLED": '["backtest"]',
        "OMP_NUM_THREADS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def kill_group(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM the process group started with ``start_new_session``, then SIGKILL what is left, including
    descendants that started their own session (a worker's flow-run processes may)."""
    import psutil

    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers even when the leader exited
    for p in descendants:
        with contextlib.suppress(psutil.Error):
            p.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_healthy(api_url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{api_url}/health", timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"prefect server not healthy after {timeout_s} s:\n{log.read_text()[-4000:]}")


def cli(
    args: list[str], env: dict[str, str], timeout_s: float = 180.0, check: bool = True, cwd: Path = ROOT
) -> str:
    r = subprocess.run(
        [PREFECT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if check and r.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout + r.stderr


def deploy_all(env: dict[str, str]) -> list[str]:
    """`prefect deploy --all` from the repo root (it must succeed as a user runs it). Returns the
    'flow/deployment' names the server holds afterwards."""
    import yaml

    out = cli(["--no-prompt", "deploy", "--all"], env, check=False)
    names = [d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]]
    if "Traceback" in out or out.count("successfully created") < len(names):
        raise RuntimeError(f"prefect deploy --all failed:\n{out}")
    from prefect.client.schemas.sorting import DeploymentSort

    with api_client(env) as c:
        listed = {d.name for d in c.read_deployments(limit=100, offset=0, sort=DeploymentSort.NAME_ASC)}
    return [n for n in names if n in listed]


@contextlib.contextmanager
def api_client(env: dict[str, str]) -> Iterator[Any]:
    """A sync Prefect client on the server in ``env`` (this process's own settings untouched)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as c:
        yield c


@contextlib.contextmanager
def prefect_server(home: Path, scheduler: bool = False) -> Iterator[dict[str, str]]:
    """A `prefect server start` on 127.0.0.1:<free port>, home and database under ``home``.

    Yields the environment child processes need (PREFECT_API_URL pointing at it). By default the scheduler
    service is off, so deploying the scheduled deployments starts nothing by itself; ``scheduler=True``
    turns it on with a 5 s loop (the production default is 60 s) so a test sees it work in seconds.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true" if scheduler else "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("PREFECT_PROFILES_PATH", None)
    log = home / "server.log"
    proc = start([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log)
    try:
        wait_healthy(api, proc, log)
        yield env
    finally:
        kill_group(proc)


@contextlib.contextmanager
def process_worker(env: dict[str, str], log: Path, pool: str = POOL) -> Iterator[subprocess.Popen]:
    proc = start([PREFECT, "worker", "start", "--pool", pool, "--type", "process"], env, log)
    try:
        yield proc
    finally:
        kill_group(proc)
