"""Timeframe strings ("5m", "15m", "1h", "1d") and their lengths."""

from __future__ import annotations

import re

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_RE = re.compile(r"^(\d+)([mhdw])$")
SECONDS_PER_YEAR = 365.25 * 86400


def timeframe_seconds(tf: str) -> int:
    """Length of one bar in seconds; raises ValueError naming the bad timeframe."""
    m = _RE.match(tf.strip().lower())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"timeframe {tf!r} is not of the form <n>m|h|d|w (e.g. 5m, 1h, 1d)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def bars_per_year(tf: str) -> float:
    """Bars in a (365.25-day) year: crypto trades around the clock."""
    return SECONDS_PER_YEAR / timeframe_seconds(tf)


def normalise_timeframe(tf: str) -> str:
    """Canonical spelling: '60m' -> '1h', '1440m' -> '1d'."""
    s = timeframe_seconds(tf)
    for unit, length in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if s % length == 0:
            return f"{s // length}{unit}"
    raise AssertionError("unreachable")
