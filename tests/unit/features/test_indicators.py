"""Indicator registry: hand-checked values, TA-Lib against plain numpy, lookbacks, zero ranges, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.features.indicators import (
    INDICATORS,
    BarArrays,
    compute_features,
    compute_indicator,
    indicator_lookback,
    resolve_indicators,
    warmup_of,
)
from tests.unit.features.helpers import make_placeholders, random_ohlcv


def _spec(name: str, **params):
    return resolve_indicators([(name, params)])[0]


def _bars(close, high=None, low=None, volume=None) -> BarArrays:
    c = np.asarray(close, dtype=float)
    return BarArrays.from_arrays(
        c,
        c if high is None else high,
        c if low is None else low,
        c,
        np.ones_like(c) if volume is None else volume,
    )


def _one(name: str, bars: BarArrays, **params) -> np.ndarray:
    (out,) = compute_indicator(_spec(name, **params), bars)
    return out


def test_roc_by_hand() -> None:
    out = _one("roc", _bars([10.0, 11.0, 12.1, 11.0]), timeperiod=1)
    np.testing.assert_allclose(out[1:], [10.0, 10.0, (11.0 / 12.1 - 1) * 100])
    assert np.isnan(out[0])


def test_willr_by_hand() -> None:
    high = np.array([10.0, 12.0, 11.0, 13.0, 12.0])
    low = np.array([9.0, 10.0, 9.5, 11.0, 10.5])
    close = np.array([9.5, 11.0, 10.0, 12.0, 11.0])
    out = compute_indicator(
        _spec("willr", timeperiod=3), BarArrays.from_arrays(close, high, low, close, close)
    )[0]
    # t=2: window high 12, low 9 -> (12 - 10) / (12 - 9) = 2/3 -> -66.67
    # t=3: window high 13, low 9.5 -> (13 - 12) / 3.5 -> -28.57; t=4: high 13, low 9.5 -> (13 - 11) / 3.5
    np.testing.assert_allclose(out[2:], [-200 / 3, -100 / 3.5, -200 / 3.5])
    assert np.isnan(out[:2]).all()


def test_obv_raw_and_flow_by_hand() -> None:
    close = np.array([10.0, 11.0, 10.5, 10.5, 12.0])
    volume = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(talib.OBV(close, volume), [1, 3, 0, 0, 5])  # up +2, down -3, flat 0, up +5
    out = _one("obv", _bars(close, volume=volume), timeperiod=2)
    # flow over the last 2 bars / their volume: (2 - 3) / 5, (-3 + 0) / 7, (0 + 5) / 9
    np.testing.assert_allclose(out[2:], [-1 / 5, -3 / 7, 5 / 9])
    assert np.isnan(out[:2]).all()


def test_close_and_volume_transforms_by_hand() -> None:
    bars = _bars([100.0, 110.0, 99.0], volume=np.array([0.0, 9.0, np.e - 1]))
    close = _one("close", bars)
    np.testing.assert_allclose(close[1:], [np.log(1.1), np.log(0.9)])
    np.testing.assert_allclose(_one("volume", bars), [0.0, np.log(10.0), 1.0])


def _rsi_numpy(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI: seed = simple mean of the first n gains/losses, then avg = (avg * (n - 1) + x) / n."""
    d = np.diff(close)
    gain, loss = np.clip(d, 0, None), np.clip(-d, 0, None)
    out = np.full(close.shape, np.nan)
    ag, al = gain[:n].mean(), loss[:n].mean()
    out[n] = 100 * ag / (ag + al)
    for i in range(n, len(d)):
        ag = (ag * (n - 1) + gain[i]) / n
        al = (al * (n - 1) + loss[i]) / n
        out[i + 1] = 100 * ag / (ag + al)
    return out


@pytest.mark.parametrize("n", [2, 14, 30])
def test_rsi_talib_matches_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    close = random_ohlcv(rng, 500)["close"]
    np.testing.assert_allclose(_one("rsi", _bars(close), timeperiod=n), _rsi_numpy(close, n), rtol=1e-10)


def test_scale_free_transforms() -> None:
    rng = np.random.default_rng(1)
    o = random_ohlcv(rng, 300)
    b = BarArrays.from_arrays(*(o[k] for k in ("open", "high", "low", "close", "volume")))
    sma = np.convolve(o["close"], np.ones(20) / 20, mode="valid")
    sd = np.array([o["close"][i - 19 : i + 1].std() for i in range(19, 300)])
    np.testing.assert_allclose(_one("bbwidth", b)[19:], 4 * sd / sma, rtol=1e-8)
    m, s, h = compute_indicator(_spec("macd"), b)
    tm, ts, th = talib.MACD(o["close"], 12, 26, 9)
    np.testing.assert_allclose(m[33:], tm[33:] / o["close"][33:])
    np.testing.assert_allclose(s[33:], ts[33:] / o["close"][33:])
    np.testing.assert_allclose(h[33:], th[33:] / o["close"][33:])
    atr = talib.ATR(o["high"], o["low"], o["close"], 14)
    np.testing.assert_allclose(_one("atr", b)[14:], atr[14:] / o["close"][14:])
    # scaling every price by 1e-6 (a micro-priced coin) changes none of them
    tiny = BarArrays.from_arrays(
        *(a * (1e-6 if k != "volume" else 1) for k, a in zip(b._fields, b, strict=True))
    )
    specs = resolve_indicators(FeaturesConfig().indicators)
    w = warmup_of(specs)
    np.testing.assert_allclose(compute_features(tiny, specs)[w:], compute_features(b, specs)[w:], atol=1e-6)


def test_lookback_is_where_outputs_start() -> None:
    rng = np.random.default_rng(2)
    o = random_ohlcv(rng, 300)
    b = BarArrays.from_arrays(*(o[k] for k in ("open", "high", "low", "close", "volume")))
    specs = resolve_indicators(FeaturesConfig().indicators)
    for spec in specs:
        lb = indicator_lookback(spec)
        for name, out in zip(spec.outputs, compute_indicator(spec, b), strict=True):
            assert np.isnan(out[:lb]).all() and np.isfinite(out[lb:]).all(), (name, lb)
    assert warmup_of(specs) == 63  # HT_DCPHASE
    # TA-Lib's own lookbacks: RSI n, MACD slow - 1 + signal - 1, ADX 2n - 1, ULTOSC longest period
    assert [indicator_lookback(_spec(n)) for n in ("rsi", "macd", "adx", "ultosc")] == [14, 33, 27, 28]


def test_flat_windows_give_neutral_values() -> None:
    n = 120
    bars = _bars(np.full(n, 5.0), volume=np.zeros(n))
    expect = {
        "rsi": 50.0,
        "willr": -50.0,
        "ultosc": 50.0,
        "cci": 0.0,
        "dx": 0.0,
        "adx": 0.0,
        "roc": 0.0,
        "obv": 0.0,
        "atr": 0.0,
        "bbwidth": 0.0,
        "close": 0.0,
        "volume": 0.0,
    }
    for name, value in expect.items():
        out = _one(name, bars)
        lb = indicator_lookback(_spec(name))
        np.testing.assert_allclose(out[lb:], value, err_msg=name)


def test_ultosc_partly_flat_counts_flat_window_as_midrange() -> None:
    rng = np.random.default_rng(3)
    o = make_placeholders(random_ohlcv(rng, 100), range(90, 100))  # last 10 bars flat: 7-bar window flat
    b = BarArrays.from_arrays(*(o[k] for k in ("open", "high", "low", "close", "volume")))
    out = _one("ultosc", b)
    t = 99
    pc = np.r_[np.nan, o["close"][:-1]]
    bp = o["close"] - np.minimum(o["low"], pc)
    tr = np.maximum(o["high"], pc) - np.minimum(o["low"], pc)

    def avg(k: int) -> float:
        s = tr[t - k + 1 : t + 1].sum()
        return bp[t - k + 1 : t + 1].sum() / s if s > 0 else 0.5

    assert out[t] == pytest.approx(100 * (4 * avg(7) + 2 * avg(14) + avg(28)) / 7)
    assert avg(7) == 0.5


def test_placeholder_and_extreme_move_stay_finite() -> None:
    rng = np.random.default_rng(4)
    o = make_placeholders(random_ohlcv(rng, 400), [150, 151, 152, 300])
    o["close"][200] = o["open"][200] * 1.53  # +53% in one bar
    o["high"][200] = o["close"][200]
    specs = resolve_indicators(FeaturesConfig().indicators)
    x = compute_features(
        BarArrays.from_arrays(*(o[k] for k in ("open", "high", "low", "close", "volume"))), specs
    )
    assert np.isfinite(x[warmup_of(specs) :]).all()


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("rsii", {}, "unknown indicator 'rsii'"),
        ("rsi", {"timeperiod": 1}, "rsi"),
        ("rsi", {"timeperiod": "14"}, "timeperiod"),
        ("rsi", {"timeperiod": True}, "timeperiod"),
        ("rsi", {"timeperiod": 14.5}, "integer"),
        ("rsi", {"period": 14}, "unknown parameter"),
        ("macd", {"fastperiod": 26, "slowperiod": 12}, "fastperiod"),
        ("bbwidth", {"nbdev": -1.0}, "nbdev"),
        ("obv", {"timeperiod": 0}, "obv"),
    ],
)
def test_bad_indicator_or_parameter_is_named(name: str, params: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        resolve_indicators([(name, params)])


def test_resolve_fills_defaults_and_suffixes_duplicates() -> None:
    (spec,) = resolve_indicators([("rsi", {})])
    assert spec.params == (("timeperiod", 14),)
    specs = resolve_indicators([("rsi", {"timeperiod": 14}), ("rsi", {"timeperiod": 28})])
    assert [s.outputs for s in specs] == [("rsi_14",), ("rsi_28",)]
    with pytest.raises(ValueError, match="twice"):
        resolve_indicators([("rsi", {}), ("rsi", {"timeperiod": 14})])
    with pytest.raises(ValueError, match="no indicators"):
        resolve_indicators([])


def test_registry_covers_the_default_feature_set() -> None:
    names = [c.name for c in FeaturesConfig().indicators]
    assert set(names) <= set(INDICATORS)
    specs = resolve_indicators(FeaturesConfig().indicators)
    assert sum(len(s.outputs) for s in specs) == 16


# tsmom (features/extra_indicators/tsmom.py): its look-ahead check is tests/property/test_no_lookahead.py
def test_tsmom_by_hand() -> None:
    close = 100 * np.exp(np.cumsum([0.0, 0.01, 0.01, -0.01, 0.02, 0.0]))
    out = _one("tsmom", _bars(close), timeperiod=3)
    assert np.isnan(out[:3]).all()
    # bar 3: returns .01 .01 -.01 -> .01 / sqrt(3e-4); bar 4: .01 -.01 .02 -> .02 / sqrt(6e-4);
    # bar 5: -.01 .02 0 -> .01 / sqrt(5e-4)
    np.testing.assert_allclose(
        out[3:], [0.01 / math.sqrt(3e-4), 0.02 / math.sqrt(6e-4), 0.01 / math.sqrt(5e-4)]
    )


def test_tsmom_bounds_and_flat_window() -> None:
    up = 100 * np.exp(0.01 * np.arange(30))
    every_bar_up = _one("tsmom", _bars(up), timeperiod=8)
    np.testing.assert_allclose(every_bar_up[8:], math.sqrt(8))  # the bound
    np.testing.assert_allclose(_one("tsmom", _bars(up[::-1]), timeperiod=8)[8:], -math.sqrt(8))
    flat = _one("tsmom", _bars(np.full(30, 7.0)), timeperiod=8)
    assert (flat[8:] == 0.0).all()  # flat: no trend, not NaN
    rng = np.random.default_rng(4)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 5000)))
    out = _one("tsmom", _bars(walk), timeperiod=48)[48:]
    assert np.abs(out).max() <= math.sqrt(48) + 1e-9
    assert abs(out.std() - 1.0) < 0.15  # a random walk: about N(0, 1)
