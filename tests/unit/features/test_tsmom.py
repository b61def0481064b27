"""tsmom (features/extra_indicators/tsmom.py) by hand, its bounds and flat value; and no indicator in the
registry looks ahead (hypothesis: changing the bars after t leaves every output up to t unchanged)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cappuccino_core.features.indicators import INDICATORS, BarArrays, compute_indicator, resolve_indicators


def _bars(close: np.ndarray, rng: np.random.Generator | None = None) -> BarArrays:
    c = np.asarray(close, dtype=float)
    if rng is None:
        return BarArrays.from_arrays(c, c, c, c, np.ones_like(c))
    wick = np.abs(rng.normal(0.0, 0.003, (2, len(c))))
    return BarArrays.from_arrays(c, c * (1 + wick[0]), c * (1 - wick[1]), c, rng.uniform(1.0, 9.0, len(c)))


def _tsmom(close: np.ndarray, n: int) -> np.ndarray:
    (spec,) = resolve_indicators([("tsmom", {"timeperiod": n})])
    return compute_indicator(spec, _bars(close))[0]


def test_tsmom_by_hand() -> None:
    close = 100 * np.exp(np.cumsum([0.0, 0.01, 0.01, -0.01, 0.02, 0.0]))
    out = _tsmom(close, 3)
    assert np.isnan(out[:3]).all()
    # bar 3: returns .01 .01 -.01 -> .01 / sqrt(3e-4); bar 4: .01 -.01 .02 -> .02 / sqrt(6e-4);
    # bar 5: -.01 .02 0 -> .01 / sqrt(5e-4)
    np.testing.assert_allclose(
        out[3:], [0.01 / math.sqrt(3e-4), 0.02 / math.sqrt(6e-4), 0.01 / math.sqrt(5e-4)]
    )


def test_tsmom_bounds_and_flat_window() -> None:
    up = 100 * np.exp(0.01 * np.arange(30))
    np.testing.assert_allclose(_tsmom(up, 8)[8:], math.sqrt(8))  # every bar up: the bound
    np.testing.assert_allclose(_tsmom(up[::-1], 8)[8:], -math.sqrt(8))
    assert (_tsmom(np.full(30, 7.0), 8)[8:] == 0.0).all()  # flat: no trend, not NaN
    rng = np.random.default_rng(4)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 5000)))
    out = _tsmom(walk, 48)[48:]
    assert np.abs(out).max() <= math.sqrt(48) + 1e-9
    assert abs(out.std() - 1.0) < 0.15  # a random walk: about N(0, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cut=st.integers(80, 200))
def test_no_registered_indicator_looks_ahead(seed: int, cut: int) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 240)))
    changed = close.copy()
    changed[cut + 1 :] *= np.exp(rng.normal(0, 0.05, len(close) - cut - 1))  # the future rewritten
    a, b = _bars(close, np.random.default_rng(seed)), _bars(changed, np.random.default_rng(seed))
    high = np.where(np.arange(240) > cut, b.high * 1.01, a.high)  # and its highs
    b = BarArrays.from_arrays(b.open, high, b.low, b.close, b.volume)
    for name in INDICATORS.names():
        (spec,) = resolve_indicators([(name, {})])
        for out_a, out_b in zip(compute_indicator(spec, a), compute_indicator(spec, b), strict=True):
            np.testing.assert_array_equal(out_a[: cut + 1], out_b[: cut + 1], err_msg=name)
