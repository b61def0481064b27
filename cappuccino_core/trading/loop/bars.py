"""Bad-bar detection: a bar with NaN/non-positive prices, a gap since the previous bar, or closed too long ago
is not traded; the reason is returned for the log."""

from __future__ import annotations

import numpy as np


def bad_bar_reason(
    close: np.ndarray, bar_time_ns: int, prev_time_ns: int | None, bar_ns: int, now_ns: int, max_age_s: float
) -> str | None:
    """None for a good bar, else why it must not be traded."""
    c = np.asarray(close, dtype=np.float64)
    if not np.isfinite(c).all():
        return f"NaN/inf close for assets {np.flatnonzero(~np.isfinite(c)).tolist()}"
    if (c <= 0).any():
        return f"non-positive close for assets {np.flatnonzero(c <= 0).tolist()}"
    if prev_time_ns is not None and bar_time_ns - prev_time_ns != bar_ns:
        return f"gap: {(bar_time_ns - prev_time_ns) / bar_ns:g} bars since the previous bar"
    age_s = (now_ns - (bar_time_ns + bar_ns)) / 1e9
    if age_s > max_age_s:
        return f"stale: the bar closed {age_s:.0f} s ago (limit {max_age_s:.0f} s)"
    return None
