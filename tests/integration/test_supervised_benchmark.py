"""The supervised benchmark's README command, as written: the known answer holds (planted market passes the
accuracy and calibration checks, a random walk fails them) and the last line is the standard verdict."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_supervised_benchmark_small_as_in_the_readme() -> None:
    command = ".venv/bin/python benchmarks/supervised.py --small"
    assert command in (ROOT / "README.md").read_text()
    out = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = out.stdout.strip().splitlines()
    verdict, details = json.loads(lines[-1]), json.loads(lines[-2])
    assert {"metric", "value", "unit", "baseline", "ratio", "target", "pass"} <= set(verdict)
    assert verdict["pass"] is True and out.returncode == 0, out.stdout[-2000:]
    by = {(r["market"], r["kind"]): r for r in details["known_answer"]}
    assert all(by[("planted", k)]["gate_passed"] for k in ("lstm", "transformer"))
    assert all(by[("random_walk", k)]["accuracy_failed"] for k in ("lstm", "transformer"))
