"""Calendar features of a bar: trading sessions (Tokyo, London, New York), hour of day, day of week, weekend.

Everything here depends on the bar's own open time only (known when the bar opens), so it cannot look ahead.
Session hours are fixed UTC windows without daylight saving (a documented approximation: a session edge may
be an hour off for part of the year): Tokyo 00:00-09:00, London 07:00-16:00, New York 13:00-22:00.
"""

from __future__ import annotations

import numpy as np

NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR
SESSIONS_UTC: dict[str, tuple[int, int]] = {"tokyo": (0, 9), "london": (7, 16), "new_york": (13, 22)}
SESSION_OUTPUTS: tuple[str, ...] = (
    "session_tokyo",
    "session_london",
    "session_new_york",
    "session_overlap",
    "hour_sin",
    "hour_cos",
    "dow_sin",
    "dow_cos",
    "weekend",
)


def session_features(times_ns: np.ndarray) -> np.ndarray:
    """(T, 9) float64 calendar features of bars opening at ``times_ns`` (int64 ns UTC), in SESSION_OUTPUTS
    order. Day of week: Monday 0 ... Sunday 6 (1970-01-01 was a Thursday, day 3)."""
    t = np.asarray(times_ns, dtype=np.int64)
    hour_f = (t % NS_PER_DAY) / NS_PER_HOUR  # fractional hour of day, 0 <= h < 24
    hour = np.floor(hour_f).astype(np.int64)
    dow = (t // NS_PER_DAY + 3) % 7
    flags = [((hour >= a) & (hour < b)).astype(np.float64) for a, b in SESSIONS_UTC.values()]
    overlap = (np.sum(flags, axis=0) >= 2).astype(np.float64)
    ang_h = 2 * np.pi * hour_f / 24.0
    ang_d = 2 * np.pi * dow / 7.0
    weekend = (dow >= 5).astype(np.float64)
    cols = [*flags, overlap, np.sin(ang_h), np.cos(ang_h), np.sin(ang_d), np.cos(ang_d), weekend]
    return np.stack(cols, axis=1)
