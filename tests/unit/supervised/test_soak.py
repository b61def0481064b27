"""The accelerated soak, short: 6 h of replayed 5m bars against the loopback exchange with broker faults
and a 30% gap down after 3 h; no crash, the prop-firm guard halts buys, every high-tier signal recorded,
live and backtest win rates reported. (`soak(settings, ..., hours=72)` is the full 72-hour run.)"""

from __future__ import annotations

import math

import numpy as np

from cappuccino_core.supervised.ensemble import ForecastTable
from cappuccino_core.supervised.soak import soak


def _always_up(frames):  # a high-tier "up" on every bar: the account holds its cap into the crash
    times = next(iter(frames.values()))["time"].dt.epoch("ns").to_numpy()
    return [ForecastTable("transformer", times, np.full((len(times), len(frames)), 0.9))]


def test_soak_survives_faults_and_enforces_the_prop_firm_breach(settings) -> None:
    s = settings.model_copy(
        update={"data": settings.data.model_copy(update={"tickers": ["BTC/USDT"], "timeframe": "5m"})}
    )
    rep = soak(s, _always_up, hours=6, crash_hour=3, crash=0.3, fault_every=6)
    assert rep["bars_replayed"] == 72 and rep["faults_injected"] == 12
    assert rep["decided"] > 60 and rep["orders"] > 0
    assert rep["buys_after_breach_same_day"] == 0
    assert rep["high_tier_signals"] == rep["decided"]  # one asset, a high-tier signal every decided bar
    assert rep["prop_firm_halted"] == [True] and rep["total_return"] < -0.05  # the breach happened
    assert rep["broker_errors"] == 0  # every injected fault was absorbed by the broker's retries
    for key in ("win_rate", "backtest_win_rate"):  # live vs backtest, both reported (NaN: no round trip)
        assert isinstance(rep[key], float) and (math.isnan(rep[key]) or 0 <= rep[key] <= 1)
