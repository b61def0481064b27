"""What the run scripts share: training the two forecasters with their gate lines printed, and the ending, a
summary printed one ``key: value`` per line, then as one JSON line (the last line, what the tests parse);
NaN becomes null so the JSON is standard."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from cappuccino_core.supervised.gate import verdict_lines
from cappuccino_core.supervised.members import load_members, parse_members
from cappuccino_core.supervised.run import train_supervised


def train_forecasters(settings: Any, frames: dict[str, Any]) -> tuple[Any, list[Any], float]:
    """``train_supervised`` (configured hyperparameters, no Optuna) on ``frames``, each kind's seconds and
    gate lines printed; (its result, the LSTM and Transformer read back as the CLI reads them, seconds)."""
    t0 = time.perf_counter()
    out = train_supervised(settings, frames, trials=0)
    seconds = time.perf_counter() - t0
    for k in out.kinds:
        print(f"{k.kind}: {k.seconds:.0f} s")
        for line in verdict_lines(k.verdict):
            print("  " + line)
    return out, load_members(settings, parse_members("lstm,transformer")), seconds


def print_summary(summary: dict[str, Any]) -> None:
    """Print ``summary`` as ``key: value`` lines, then as JSON on the last line."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}
    for k, v in clean.items():
        print(f"{k}: {v}")
    print(json.dumps(clean, default=str))
