"""The run scripts' common ending: a summary printed one ``key: value`` per line, then as one JSON line (the
last line, what the tests parse); NaN becomes null so the JSON is standard."""

from __future__ import annotations

import json
import math
from typing import Any


def print_summary(summary: dict[str, Any]) -> None:
    """Print ``summary`` as ``key: value`` lines, then as JSON on the last line."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()}
    for k, v in clean.items():
        print(f"{k}: {v}")
    print(json.dumps(clean, default=str))
