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


def test_soak_with_trained_forecasters(settings) -> None:
    """The soak on tiny LSTM + Transformer trained on the sample's older 5m bars (before the soak window):
    their forecasts from the stored FeatureSpecs over the replayed, crashed bars, weighted 0.35 / 0.40."""
    from cappuccino_core.config.supervised import SupervisedConfig
    from cappuccino_core.features.supervised_set import build_supervised
    from cappuccino_core.supervised.fit import pick_device
    from cappuccino_core.supervised.pipeline import train_kind
    from cappuccino_core.supervised.soak import model_tables
    from cappuccino_core.supervised.tracking import SupervisedModel
    from cappuccino_core.trading.loop.replay import load_bars

    s = settings.model_copy(
        update={"data": settings.data.model_copy(update={"tickers": ["BTC/USDT"], "timeframe": "5m"})}
    )
    frames = load_bars(s, "5m", source="sample").frames
    older = {k: v.head(v.height - 72 - 24) for k, v in frames.items()}  # ends 2 h before the soak window
    cfg = SupervisedConfig(lookback=4, vol_short=6, vol_long=24, epochs=1, patience=1, batch_size=128,
                           lstm_hidden=8, transformer_d_model=8, transformer_heads=2, embargo=2)  # fmt: skip
    sup = build_supervised(older, s.features, cfg, "5m", fit_end=2000)
    models = [
        SupervisedModel(
            k, train_kind(k, sup, cfg, device=pick_device("cpu"), score_test=False).models, sup.spec
        )
        for k in ("lstm", "transformer")
    ]
    rep = soak(s, model_tables(models), hours=6, crash_hour=3, crash=0.3, fault_every=6)
    assert rep["model"] == "ensemble(lstm 0.47, transformer 0.53)"
    assert rep["bars_replayed"] == 72 and rep["faults_injected"] == 12 and rep["broker_errors"] == 0
    assert rep["forecasts"] == rep["decided"] > 60  # one forecast per decided bar (one asset)
    assert rep["buys_after_breach_same_day"] == 0
    assert 0 <= rep["high_tier_signals"] <= rep["signals"] <= rep["forecasts"]
    assert 0.5 <= rep["max_confidence"] <= 1.0
