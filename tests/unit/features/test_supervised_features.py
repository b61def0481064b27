"""Supervised features: calendar and market-state values by hand, targets with a dead zone, and no
look-ahead (property): changing or removing future bars never changes past features or past labels."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.market_state import corwin_schultz, market_state_features, rolling_mean
from cappuccino_core.features.sessions import SESSION_OUTPUTS, session_features
from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.features.supervised_set import build_supervised, supervised_frame_features
from cappuccino_core.features.targets import MASKED, direction_targets
from cappuccino_core.supervised.synthetic import planted_frames

SMALL = FeaturesConfig(indicators=[{"name": "close"}, {"name": "rsi", "params": {"timeperiod": 5}}])
CFG = SupervisedConfig(lookback=4, vol_short=4, vol_long=12, horizon=2, dead_zone=0.001)


def _ns(y: int, m: int, d: int, h: int) -> int:
    return int(datetime(y, m, d, h, tzinfo=UTC).timestamp()) * 10**9


def test_sessions_by_hand() -> None:
    # Saturday 2024-01-06 08:00 UTC: Tokyo (0-9) and London (7-16) overlap, weekend; Monday 14:00: London + NY
    x = session_features(np.array([_ns(2024, 1, 6, 8), _ns(2024, 1, 8, 14), _ns(2024, 1, 9, 23)]))
    col = {n: x[:, i] for i, n in enumerate(SESSION_OUTPUTS)}
    assert col["session_tokyo"].tolist() == [1, 0, 0]
    assert col["session_london"].tolist() == [1, 1, 0]
    assert col["session_new_york"].tolist() == [0, 1, 0]
    assert col["session_overlap"].tolist() == [1, 1, 0]
    assert col["weekend"].tolist() == [1, 0, 0]
    assert col["dow_sin"][1] == pytest.approx(0.0, abs=1e-12)  # Monday: day 0
    assert col["hour_cos"][0] == pytest.approx(np.cos(2 * np.pi * 8 / 24))


def test_rolling_mean_and_spread_by_hand() -> None:
    assert rolling_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    # two identical bars H/L = e^0.01: beta = 2e-4, gamma = 1e-4
    # alpha = (sqrt(4e-4) - sqrt(2e-4)) / k - sqrt(1e-4 / k)
    h, lo = np.array([np.exp(0.01), np.exp(0.01)]), np.array([1.0, 1.0])
    k = 3 - 2 * np.sqrt(2)
    a = (np.sqrt(4e-4) - np.sqrt(2e-4)) / k - np.sqrt(1e-4 / k)
    assert corwin_schultz(h, lo)[1] == pytest.approx(max(2 * (np.exp(a) - 1) / (1 + np.exp(a)), 0.0))
    with pytest.raises(ValueError, match="short"):
        market_state_features(h, h, lo, h, short=5, long=5)


def test_targets_dead_zone_and_segments() -> None:
    close = np.array([100.0, 101.0, 101.05, 100.0, 99.0, 99.0])
    y = direction_targets(close, 1, dead_zone=0.001, segments=[(0, 3), (3, 6)])
    # 100->101 up; 101->101.05 inside the dead zone; row 2 ends its segment; 100->99 down; 99->99 zone; last
    assert y.tolist() == [1, MASKED, MASKED, 0, MASKED, MASKED]
    assert direction_targets(close, 2).tolist() == [1, 0, 0, 0, MASKED, MASKED]
    with pytest.raises(ValueError, match="horizon"):
        direction_targets(close, 0)


def test_spec_round_trip_and_mismatch() -> None:
    fr = planted_frames(200, seed=3)
    d = build_supervised(fr, SMALL, CFG, "1h", fit_end=120)
    assert d.spec.feature_names[-15:-6] == SESSION_OUTPUTS
    again = supervised_frame_features(fr, d.spec)
    np.testing.assert_array_equal(again.features, d.features)
    np.testing.assert_array_equal(again.labels, d.labels)
    other = {k + "X": v for k, v in fr.items()}
    with pytest.raises(FeatureSpecMismatch, match="tickers"):
        supervised_frame_features(other, d.spec)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=130, max_value=199), seed=st.integers(0, 1000), scale=st.floats(0.5, 2.0))
def test_no_look_ahead(cut: int, seed: int, scale: float) -> None:
    """Future bars changed (scaled by a random factor) or removed: features and labels of every bar whose
    label horizon ends before the change are identical, and labels reaching past the data are masked."""
    fr = planted_frames(200, seed=seed)
    d = build_supervised(fr, SMALL, CFG, "1h", fit_end=120)
    changed = {
        k: v.with_row_index()
        .with_columns(
            [
                (v[c] * np.where(np.arange(v.height) >= cut, scale, 1.0)).alias(c)
                for c in ("open", "high", "low", "close", "volume")
            ]
        )
        .drop("index")
        for k, v in fr.items()
    }
    truncated = {k: v.head(cut) for k, v in fr.items()}
    for other in (
        build_supervised(changed, SMALL, CFG, "1h", fit_end=120),
        build_supervised(truncated, SMALL, CFG, "1h", fit_end=120),
    ):
        first_changed = int(
            np.searchsorted(d.times, other.times[0]) + np.searchsorted(other.times, d.times[0])
        )
        before = d.times < d.times[0] + (cut - (200 - d.n_bars)) * 3_600 * 10**9  # rows of bars < cut
        k = int(before.sum())
        assert first_changed == 0
        np.testing.assert_array_equal(other.features[:k], d.features[:k])
        settled = k - CFG.horizon  # labels whose horizon ends before the first changed bar
        np.testing.assert_array_equal(other.labels[:settled], d.labels[:settled])
    assert (build_supervised(truncated, SMALL, CFG, "1h", fit_end=120).labels[-CFG.horizon :] == MASKED).all()
