"""No lookahead: features (and volatility) at bar t do not change when any bar after t changes, for every
registered indicator."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cappuccino_core.config.features import FeaturesConfig, IndicatorConfig
from cappuccino_core.features.builder import apply_spec, build_dataset
from cappuccino_core.features.indicators import INDICATORS
from tests.unit.features.helpers import frame, make_placeholders, random_ohlcv

# Every registered indicator (the default set and features/extra_indicators/, e.g. tsmom), defaults.
CFG = FeaturesConfig(indicators=[IndicatorConfig(name=n) for n in INDICATORS.names()])
WARMUP = 63
TICKERS = ("BTC", "ETH")


def _frames(seed: int, n: int, placeholders: list[int]) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    out = {}
    for i, t in enumerate(TICKERS):
        o = random_ohlcv(rng, n, price=10.0 ** (i + 1), vol=0.02)
        out[t] = frame(make_placeholders(o, [p for p in placeholders if 0 < p < n]))
    return out


def _perturb(frames: dict[str, pl.DataFrame], t: int, seed: int, jump: float) -> dict[str, pl.DataFrame]:
    """Replace every bar after input row t by another random walk (with an extreme first move)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, df in frames.items():
        n = df.height
        o = random_ohlcv(rng, n - t - 1, price=float(df["close"][t]) * jump, vol=0.05)
        o["volume"][::7] = 0.0
        out[name] = pl.concat([df.head(t + 1), frame(o, start=df["time"][t + 1])])
    return out


lookahead_cases = st.tuples(
    st.integers(0, 2**32 - 1),  # data seed
    st.integers(WARMUP + 20, 260),  # bars
    st.floats(0.0, 1.0),  # where t falls among the usable rows
    st.integers(0, 2**32 - 1),  # perturbation seed
    st.sampled_from([0.5, 0.97, 1.0, 1.53, 3.0]),  # first move after t
    st.lists(st.integers(1, 259), max_size=4),  # zero-volume flat bars
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lookahead_cases)
def test_features_at_t_ignore_the_future(case) -> None:
    seed, n, where, pseed, jump, placeholders = case
    t = WARMUP + int(where * (n - 2 - WARMUP))  # input row; rows <= t must not change
    frames = _frames(seed, n, placeholders)
    future = _perturb(frames, t, pseed, jump)
    # fit_end = t + 1: normalisation statistics come from rows <= t, so they are not what is tested here
    a = build_dataset(frames, CFG, "1h", fit_end=t + 1)
    b = build_dataset(future, CFG, "1h", fit_end=t + 1)
    k = t - WARMUP + 1  # dataset rows <= t
    assert a.spec.content_hash() == b.spec.content_hash()
    np.testing.assert_array_equal(a.features[:k], b.features[:k])
    np.testing.assert_array_equal(a.volatility[:k], b.volatility[:k])
    np.testing.assert_array_equal(a.prices[:k], b.prices[:k])
    assert not np.array_equal(a.prices[k:], b.prices[k:])


@settings(max_examples=25, deadline=None)
@given(lookahead_cases)
def test_features_under_a_fixed_spec_ignore_the_future(case) -> None:
    seed, n, where, pseed, jump, placeholders = case
    t = WARMUP + int(where * (n - 2 - WARMUP))
    spec = build_dataset(_frames(seed + 1, 300, []), CFG, "1h").spec  # stats from other data, fixed
    frames = _frames(seed, n, placeholders)
    a = apply_spec(frames, spec)
    b = apply_spec(_perturb(frames, t, pseed, jump), spec)
    k = t - WARMUP + 1
    np.testing.assert_array_equal(a.features[:k], b.features[:k])
    np.testing.assert_array_equal(a.volatility[:k], b.volatility[:k])
