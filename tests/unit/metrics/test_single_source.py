"""One metrics module: no other code annualises with a hard-coded day or hour count."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HARD_CODED = re.compile(r"sqrt\(\s*(252|365|8760|24\s*\*\s*365)(\.0*)?\s*\)")


def test_no_hard_coded_annualisation_outside_metrics() -> None:
    offenders = []
    for folder in ("cappuccino_core", "cappuccino_cli", "tasks", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            if "metrics" in path.relative_to(ROOT).parts:
                continue
            for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if HARD_CODED.search(line.split("#", 1)[0]):  # code, not comments
                    offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "annualise with cappuccino_core.metrics (bars_per_year), not:\n" + "\n".join(
        offenders
    )
