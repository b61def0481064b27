"""``tsmom``: time-series momentum over ``timeperiod`` bars, as a scale-free trend statistic.

    tsmom[t] = sum(r[t-n+1 .. t]) / sqrt(sum(r[t-n+1 .. t] ** 2)),   r[t] = log(close[t] / close[t-1])

The summed log return (the trend a momentum rule reads) divided by the root of the summed squared
returns (the window's realised volatility, so BTC at 3% a day and a stablecoin pair read alike). It is
bounded by +-sqrt(n) (every bar moving the same way), 0 on a flat window or where up and down moves cancel;
on a random walk it is about N(0, 1) at every horizon, so a model sees the same scale at any ``n``.
Several horizons (``{name = "tsmom", params = {timeperiod = 48}}`` and so on) give a model the trend at each;
configured more than once the outputs are ``tsmom_48``, ``tsmom_96``, ...
Causal: the value at bar t reads closes <= t; the first ``n`` bars are warm-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import talib

from cappuccino_core.features.indicators import BarArrays, Indicator, Param, register_indicator


def _tsmom(b: BarArrays, p: dict[str, Any]) -> tuple[np.ndarray, ...]:
    n = int(p["timeperiod"])
    out = np.full(len(b), np.nan)
    if len(b) <= n:
        return (out,)
    r = np.diff(np.log(b.close))  # r[j]: the return into bar j + 1
    total = talib.SUM(r, timeperiod=n)[n - 1 :]  # windows ending at r[n-1], ...: bars n, n+1, ...
    energy = np.sqrt(np.maximum(talib.SUM(r * r, timeperiod=n)[n - 1 :], 0.0))
    flat = energy <= 1e-12
    out[n:] = np.divide(total, energy, out=np.zeros_like(total), where=~flat)
    return (out,)


register_indicator(
    Indicator(
        "tsmom", {"timeperiod": Param(48, 2)}, ("tsmom",), (0.0,), _tsmom, lambda p: int(p["timeperiod"])
    )
)
