"""The README's dashboard commands, run as written (only the port is swapped for a free one) in a fresh
directory with the quickstart config: the server answers every page over empty stores, the control is on."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Dashboard\n", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```bash\n(.*?)```", section, re.S)
    assert m, "the README's Dashboard section has no bash block"
    return m.group(1)


def test_readme_dashboard_commands(tmp_path: Path) -> None:
    block = readme_block()
    assert "--port 8050" in block and "http://127.0.0.1:8050" in block
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "configs").mkdir()
    shutil.copy(ROOT / "configs" / "quickstart.toml", tmp_path / "configs")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if k not in ("CAPPUCCINO_DASHBOARD_TOKEN", "PREFECT_API_URL")}
    env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"  # no server: the health page says "not reachable"
    proc = subprocess.Popen(
        ["bash", "-ec", block.replace("8050", str(port))],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base, deadline, r = f"http://127.0.0.1:{port}", time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        out = proc.stdout.read().decode() if proc.stdout is not None and proc.poll() is not None else ""
        assert r is not None and r.status_code == 200, out or "no answer"
        assert 'id="control-disabled"' not in r.text and "Prefect API not reachable" in r.text
        for page in ("training", "gates", "arena", "trading"):
            p = httpx.get(f"{base}/{page}", timeout=5)
            assert p.status_code == 200 and 'id="nothing"' in p.text, page
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    assert (tmp_path / "data" / "state.db").exists() and not (tmp_path / "data" / "mlflow.db").exists()
