"""The README's Prefect block, as written, on a fresh `git clone` of this checkout.

The block is read from README.md (section "7. Orchestration"), not copied here. Only two things differ from
a user's shell: the port 4200 becomes a free port (other servers may hold 4200 on a shared machine), and
the environment carries tiny budgets (CAPPUCCINO_* overrides of configs/quickstart.toml: a few PPO steps,
two CGE scenarios of two days). No CAPPUCCINO_HOME, no PREFECT_* variable comes from the test: the block
sets what it needs. `.venv` is this checkout's (a symlink: the clone's `make install`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.integration.prefect_helpers import ROOT, free_port, kill_group, start

pytestmark = pytest.mark.slow

BLOCK_TIMEOUT_S = 600


def readme_prefect_block(readme: Path = ROOT / "README.md") -> str:
    section = readme.read_text().split("### 7. Orchestration (Prefect 3)", 1)[1]
    m = re.search(r"```bash\n(.*?)```", section, re.S)
    assert m, "no ```bash block in the README's orchestration section"
    return m.group(1)


def _tiny_budgets() -> dict[str, str]:
    return {
        "CAPPUCCINO_DATA__TICKERS": '["BTC/USDT","ETH/USDT"]',
        "CAPPUCCINO_TRAINING__PHASE1_TRIALS": "1",
        "CAPPUCCINO_TRAINING__PHASE2_TRIALS": "1",
        "CAPPUCCINO_TRAINING__WORKERS": "1",
        "CAPPUCCINO_TRAINING__PHASE1_TIMEFRAMES": '["1h"]',
        "CAPPUCCINO_TRAINING__CV_GROUPS": "3",
        "CAPPUCCINO_TRAINING__TIMESTEPS_PER_SPLIT": "128",
        "CAPPUCCINO_TRAINING__PHASE1_TIMESTEPS_PER_SPLIT": "128",
        "CAPPUCCINO_TRAINING__FINAL_FIT": "false",
        "CAPPUCCINO_TRAINING__N_STEPS_CHOICES": "[64]",
        "CAPPUCCINO_TRAINING__BATCH_SIZE_CHOICES": "[64]",
        "CAPPUCCINO_TRAINING__NET_WIDTH_CHOICES": "[16]",
        "CAPPUCCINO_TRAINING__NET_DEPTH_MAX": "1",
        "CAPPUCCINO_TRAINING__N_ENVS": "1",
        "CAPPUCCINO_TRAINING__SYNTHETIC_SHARE": "0",
        "CAPPUCCINO_CGE__N_SCENARIOS": "2",
        "CAPPUCCINO_CGE__HOURS": "48",
        "CAPPUCCINO_CGE__QUARTERS": "1",
        "CAPPUCCINO_CGE__WORKERS": "1",
        "CAPPUCCINO_GATES__ENABLED": '["backtest"]',
    }


def _kill_left_in(base: Path, grace_s: float = 10.0) -> None:
    """Stop every process whose working directory is under ``base`` (only this test's processes are)."""
    import psutil

    def mine(p: psutil.Process) -> bool:
        try:
            return p.cwd().startswith(str(base))
        except psutil.Error:
            return False

    procs = [p for p in psutil.process_iter() if mine(p)]
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


def test_readme_block_parses_as_expected() -> None:
    """Fast guard: the block is there and keeps its shape (the slow test below runs it)."""
    block = readme_prefect_block()
    assert "CAPPUCCINO_HOME" not in block
    assert "export PREFECT_HOME=" in block and "export PREFECT_API_URL=" in block
    assert "deployment run retrain/monthly -p config=configs/quickstart.toml" in block
    # One Prefect home: the README's is the Makefile's (`make run` uses the same database).
    assert 'PREFECT_HOME="$PWD/data/prefect"' in block
    assert "export PREFECT_HOME ?= $(CURDIR)/data/prefect" in (ROOT / "Makefile").read_text()


def test_readme_prefect_block_runs_as_written_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "cappuccino"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    port = free_port()
    block = readme_prefect_block(clone / "README.md").replace("4200", str(port))
    script = clone / "readme-prefect.sh"
    # Scaffolding around the block, not in it: stop its background server and worker when it ends.
    script.write_text("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + block)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CAPPUCCINO_"))}
    env.update(_tiny_budgets(), OMP_NUM_THREADS="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = tmp_path / "block.log"
    proc = start(["bash", str(script)], env, log, cwd=clone)
    try:
        rc = proc.wait(BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        out = log.read_text(errors="replace")
        kill_group(proc)
        _kill_left_in(tmp_path)  # the block's server, worker and flow-run processes all run in the clone
    assert rc == 0, f"README block exited {rc}:\n{out[-8000:]}"
    assert "Flow run finished successfully in 'Completed'" in out, out[-4000:]

    # The server kept its runs in the clone's data/prefect (the home `make run` uses there).
    db = clone / "data" / "prefect" / "prefect.db"
    assert db.exists(), sorted(p.name for p in (clone / "data").iterdir())
    with sqlite3.connect(db) as c:
        flows = {
            r[0] for r in c.execute("SELECT flow.name FROM flow_run JOIN flow ON flow.id = flow_run.flow_id")
        }
        states = {r[0] for r in c.execute("SELECT state_name FROM flow_run")}
    assert {"retrain", "ingest", "train", "gates", "arena"} <= flows, flows
    assert "Completed" in states
    # The flows ran from the clone (the working directory `prefect deploy` recorded), not from this checkout.
    assert (clone / "data" / "state.db").exists()
