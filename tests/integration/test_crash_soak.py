"""The crash soak at a small size: SIGKILLs at random points of the tick with partial fills and broker faults
on; duplicates, orphans, lost fills, position mismatches and rule breaches all 0 (the full soak:
`python benchmarks/crash_soak.py`, 1,000 cycles)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_small_crash_soak_has_no_violation(sample_dir: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "crash_soak.py"), "--cycles", "16", "--kill", "0.6",
         "--faults", "0.5", "--seed", "5"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    verdict = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0 and verdict["pass"], r.stdout + r.stderr
    assert verdict["kills"] > 0 and verdict["venue_orders"] > 0
    for k in ("duplicates", "orphans", "lost_fills", "position_mismatches", "rule_breaches", "failed_runs"):
        assert verdict[k] == 0
