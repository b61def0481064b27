"""PBO by CSCV: a hand-computed tiny case, an overfitted case (PBO ~ 1), a dominant strategy (PBO ~ 0)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cappuccino_core.metrics import probability_of_backtest_overfitting


def test_two_partition_hand_example() -> None:
    # T = 4 rows, S = 2 blocks of 2 rows, N = 3 trials (returns in %; Sharpe is scale-free).
    #            block 0     block 1      per-bar Sharpe (ddof=1) block 0 / block 1
    # trial 0:   [1, 3]      [-1, 1]      2/sqrt(2) = 1.414  /  0
    # trial 1:   [0, 2]      [1, 3]       1/sqrt(2) = 0.707  /  1.414
    # trial 2:   [-1, 1]     [0, 2]       0                  /  0.707
    # Combination 1 (IS = block 0): best IS = trial 0; its OOS Sharpe 0 ranks 1 of 3 -> w = 1/4,
    #   logit = ln(0.25/0.75) = -1.0986.
    # Combination 2 (IS = block 1): best IS = trial 1; its OOS Sharpe 0.707 ranks 2 of 3 -> w = 2/4, logit 0.
    # Both logits <= 0 -> PBO = 1.
    M = np.array([[1, 0, -1], [3, 2, 1], [-1, 1, 0], [1, 3, 2]], dtype=float) / 100
    res = probability_of_backtest_overfitting(M, n_partitions=2)
    assert res.n_combinations == 2
    np.testing.assert_allclose(res.logits, [math.log(1 / 3), 0.0], atol=1e-12)
    np.testing.assert_array_equal(res.best_trial, [0, 1])
    np.testing.assert_allclose(res.is_performance, [math.sqrt(2), math.sqrt(2)])
    np.testing.assert_allclose(res.oos_performance, [0.0, 1 / math.sqrt(2)], atol=1e-12)
    assert res.pbo == 1.0
    assert res.prob_oos_loss == 0.0


def test_in_sample_best_is_out_of_sample_worst() -> None:
    # Every trial's returns sum to zero over the whole sample, so the half where a trial did best is exactly
    # mirrored by a loss in the other half: selection by IS Sharpe picks OOS losers.
    rng = np.random.default_rng(1)
    M = rng.normal(0, 0.01, (1600, 40))
    M -= M.mean(axis=0)
    res = probability_of_backtest_overfitting(M)
    assert res.pbo > 0.9
    assert res.degradation_slope < 0
    assert res.prob_oos_loss > 0.9
    assert res.n_combinations == 12870  # C(16, 8)


def test_dominant_strategy() -> None:
    rng = np.random.default_rng(2)
    M = rng.normal(0, 0.01, (1600, 40))
    M[:, 17] += 0.004  # a real edge of 0.4 per-bar Sharpe
    res = probability_of_backtest_overfitting(M)
    assert res.pbo < 0.05
    assert (res.best_trial == 17).mean() > 0.95
    # IS winner is also the OOS winner: rank N of N -> logit ln(N) = ln(40)
    assert np.median(res.logits) == pytest.approx(math.log(40))


def test_pure_noise_is_near_one_half() -> None:
    res = probability_of_backtest_overfitting(np.random.default_rng(3).normal(0, 0.01, (1600, 40)))
    assert 0.2 < res.pbo < 0.8


def test_remainder_rows_are_dropped_from_the_start() -> None:
    M = np.random.default_rng(4).normal(0, 0.01, (35, 5))
    res = probability_of_backtest_overfitting(M, n_partitions=4)
    assert res.n_obs_used == 32
    same = probability_of_backtest_overfitting(M[3:], n_partitions=4)
    np.testing.assert_allclose(res.logits, same.logits)


def test_to_dict_is_json() -> None:
    res = probability_of_backtest_overfitting(
        np.random.default_rng(5).normal(0, 0.01, (64, 6)), n_partitions=4
    )
    d = res.to_dict(arrays=True)
    json.dumps(d, allow_nan=False)
    assert d["n_combinations"] == 6 and len(d["logits"]) == 6


@pytest.mark.parametrize(
    "shape, S, msg",
    [
        ((100, 1), 16, "at least 2 trial"),
        ((20, 5), 16, "at least 32 rows"),
        ((100, 5), 5, "even"),
        ((100, 5), 0, "even"),
    ],
)
def test_guards(shape: tuple[int, int], S: int, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        probability_of_backtest_overfitting(np.ones(shape), n_partitions=S)


def test_non_finite_and_1d_raise() -> None:
    M = np.random.default_rng(6).normal(0, 0.01, (64, 4))
    M[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        probability_of_backtest_overfitting(M, n_partitions=4)
    with pytest.raises(ValueError, match="2-D"):
        probability_of_backtest_overfitting(np.ones(64), n_partitions=4)
