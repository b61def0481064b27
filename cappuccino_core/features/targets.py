"""Direction targets over a horizon with a dead zone.

The label of bar t is the direction of the log return from t's close to the close ``horizon`` bars later:
1 (up) above the dead zone, 0 (down) below minus the dead zone, and ``MASKED`` (-1) when the move is inside
the dead zone (noise-sized moves are not labelled), or when bar t + horizon is not in t's segment (the end of
the data, a gap): such rows are never trained on nor scored. The dead zone is
``max(dead_zone, dead_zone_vol x vol[t] x sqrt(horizon))``: a fixed fraction, optionally widened by the
bar's causal volatility.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MASKED = -1


def direction_targets(
    close: np.ndarray,
    horizon: int,
    dead_zone: float = 0.0,
    *,
    vol: np.ndarray | None = None,
    dead_zone_vol: float = 0.0,
    segments: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """(T,) or (T, N) int8 labels in {1, 0, MASKED} of ``close`` (same shape; see the module docstring)."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 bar, got {horizon}")
    if dead_zone < 0 or dead_zone_vol < 0:
        raise ValueError(f"dead zone must be >= 0, got {dead_zone} and dead_zone_vol {dead_zone_vol}")
    c = np.asarray(close, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError("close prices must be finite and > 0")
    n = c.shape[0]
    fwd = np.full(c.shape, np.nan)
    if n > horizon:
        fwd[: n - horizon] = np.log(c[horizon:] / c[: n - horizon])
    ok = np.zeros(n, dtype=bool)
    for s, e in segments if segments is not None else [(0, n)]:
        ok[s : max(e - horizon, s)] = True
    zone = np.full(c.shape, float(dead_zone))
    if vol is not None and dead_zone_vol > 0:
        zone = np.maximum(zone, dead_zone_vol * np.asarray(vol, dtype=np.float64) * np.sqrt(horizon))
    labels = np.full(c.shape, MASKED, dtype=np.int8)
    valid = (ok if c.ndim == 1 else ok[:, None]) & np.isfinite(fwd)
    labels[valid & (fwd > zone)] = 1
    labels[valid & (fwd < -zone)] = 0
    return labels
