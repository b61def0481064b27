"""Gate figures by hand: Wilson interval, base rate, tiers and calibration error; leakage checks that fail."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.supervised.gate import supervised_verdict
from cappuccino_core.supervised.leakage import causality_check, shuffle_in_time, shuffled_label_check
from cappuccino_core.supervised.metrics import (
    accuracy_stats,
    calibration_error,
    reliability_table,
    tiers_for,
    wilson_interval,
)
from cappuccino_core.supervised.split import gap_checks, time_split
from cappuccino_core.supervised.synthetic import planted_frames


def test_wilson_by_hand() -> None:
    # 80 of 100, z = 1.96: centre (0.8 + 0.019208) / 1.038416, half 1.96 sqrt(0.0016 + 0.00009604) / 1.038416
    lo, hi = wilson_interval(80, 100)
    half = 1.96 * np.sqrt(0.0016 + 1.96**2 / 40000) / (1 + 1.96**2 / 100)
    centre = (0.8 + 1.96**2 / 200) / (1 + 1.96**2 / 100)
    assert (lo, hi) == pytest.approx((centre - half, centre + half))
    assert lo == pytest.approx(0.7111, abs=1e-4)


def test_always_up_in_a_rising_market_scores_only_the_base_rate() -> None:
    y = np.array([1] * 80 + [0] * 20)
    st = accuracy_stats(np.full(100, 0.9), y)
    assert st.accuracy == 0.8 and st.base_rate == 0.8
    v = supervised_verdict("r" * 32, "lstm", ["X"], [np.full(100, 0.9)], [y], GatesConfig(), [])
    failed = {c.name for c in v.failed_checks}
    assert "accuracy_ci_low[X]" in failed  # 80% >= 68% but no better than saying "up" every time
    assert "accuracy[X]" not in failed


def test_reliability_and_calibration_by_hand() -> None:
    tiers = tiers_for(0.75, 0.85)
    p = np.array([0.9, 0.9, 0.1, 0.9, 0.55, 0.45])  # conf 0.9 x4 (high), 0.55 x2 (low)
    y = np.array([1, 1, 0, 0, 1, 1])  # high tier: 3 of 4 hit; low tier: 0.55 -> up hit, 0.45 -> down miss
    table = reliability_table(p, y, tiers)
    by = {r["tier"]: r for r in table}
    assert by["high"]["n"] == 4 and by["high"]["hit_rate"] == 0.75
    assert by["low"]["n"] == 2 and by["low"]["hit_rate"] == 0.5
    assert calibration_error(table) == pytest.approx((4 * 0.15 + 2 * 0.05) / 6)


def test_split_keeps_the_purge_and_a_bad_split_fails() -> None:
    s = time_split(np.arange(10, 1000), 0.2, 0.2, purge=30, embargo=5)
    assert s.val[0] - s.train[-1] > 35 and s.test[0] - s.val[-1] > 35
    assert all(c.passed for c in gap_checks(s, lookback=24, horizon=6))
    bad = type(s)(np.arange(0, 500), np.arange(510, 700), np.arange(700, 900), 30, 5)
    failed = [c.name for c in gap_checks(bad, lookback=24, horizon=6) if not c.passed]
    assert failed == ["leak_window_clear_bars", "leak_rows_apart"]


def _feature_fn(shift: int):
    def fn(frames):
        close = np.stack([f["close"].to_numpy() for f in frames.values()], axis=1)
        times = next(iter(frames.values()))["time"].dt.epoch("ns").to_numpy()
        x = np.log(close)
        if shift:  # the next bar's price: shifted into the future
            x = np.concatenate([x[shift:], np.repeat(x[-1:], shift, axis=0)])
        return times, x

    return fn


def test_features_shifted_into_the_future_are_refused() -> None:
    fr = planted_frames(120)
    assert causality_check(_feature_fn(0), fr, [60, 90]).passed
    c = causality_check(_feature_fn(1), fr, [60, 90])
    assert not c.passed and "cut after row" in c.note


def test_shuffled_labels_check() -> None:
    chance = accuracy_stats(np.r_[np.full(150, 0.6), np.full(150, 0.4)], np.r_[[1, 0] * 150])
    assert shuffled_label_check(chance, 1.96).passed
    leaked = accuracy_stats(np.full(300, 0.6), np.r_[[1] * 200, [0] * 100])  # learnt the majority: fine
    assert shuffled_label_check(leaked, 1.96).passed
    memorised = accuracy_stats(np.r_[[0.9] * 150, [0.1] * 150], np.r_[[1] * 130, [0] * 20, [0] * 150])
    assert not shuffled_label_check(memorised, 1.96).passed  # 93% with labels that carry no information
    labels = np.arange(20).reshape(10, 2)
    sh = shuffle_in_time(labels, np.arange(2, 8), seed=0)
    assert (sh[:2] == labels[:2]).all() and (sh[8:] == labels[8:]).all()
    assert sorted(sh[2:8, 0].tolist()) == labels[2:8, 0].tolist()
    assert ((sh[:, 1] - sh[:, 0]) == 1).all()  # whole rows move together
