"""PSR (Bailey & Lopez de Prado 2012) and DSR (2014): the paper's worked example and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cappuccino_core.metrics import (
    EULER_GAMMA,
    deannualize_sharpe,
    deflated_sharpe_ratio,
    dsr_from_stats,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    psr_from_stats,
    return_moments,
    sharpe_per_bar,
)


def test_dsr_paper_worked_example() -> None:
    # Bailey & Lopez de Prado (2014), numerical example: annualised SR 2.5 from daily returns over 5 years
    # (T = 1250, 250 days a year), N = 100 trials whose annualised Sharpes have variance 0.5, skewness -3,
    # kurtosis 10. Per day: SR = 2.5 / sqrt(250) = 0.1581, V = 0.5 / 250.
    #   SR0 = sqrt(0.002) * ((1 - g) * Z^-1(0.99) + g * Z^-1(1 - 1/(100 e))) = 0.04472 * 2.5306 = 0.1132
    #   DSR = Z((0.1581 - 0.1132) * sqrt(1249) / sqrt(1 + 3 * 0.1581 + 9/4 * 0.1581^2)) = 0.9004
    sr = deannualize_sharpe(2.5, 250)
    assert sr == pytest.approx(0.158114, rel=1e-5)
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.1132, abs=5e-5)
    assert dsr_from_stats(sr, 1250, 100, 0.5 / 250, skew=-3, kurtosis=10) == pytest.approx(0.9004, abs=5e-5)


def test_psr_normal_hand_example() -> None:
    # SR 0.1 per bar, n = 101, normal (skew 0, kurtosis 3):
    #   z = 0.1 * sqrt(100) / sqrt(1 + (3 - 1)/4 * 0.01) = 1 / sqrt(1.005) = 0.997509
    #   PSR = Phi(0.997509) = 0.840742
    assert psr_from_stats(0.1, 101) == pytest.approx(0.840742, abs=2e-6)
    # Against its own value as benchmark the probability is one half.
    assert psr_from_stats(0.1, 101, sr_benchmark_per_bar=0.1) == pytest.approx(0.5)


def test_negative_skew_and_fat_tails_lower_psr() -> None:
    base = psr_from_stats(0.1, 500)
    assert psr_from_stats(0.1, 500, skew=-1.0) < base
    assert psr_from_stats(0.1, 500, kurtosis=8.0) < base


def test_psr_from_returns_uses_population_moments() -> None:
    r = np.random.default_rng(5).standard_t(5, size=800) * 0.01 + 0.001
    sk, ku = return_moments(r)
    assert sk == pytest.approx(stats.skew(r, bias=True))
    assert ku == pytest.approx(stats.kurtosis(r, fisher=False, bias=True))
    expected = psr_from_stats(sharpe_per_bar(r), 800, sk, ku)
    assert probabilistic_sharpe_ratio(r) == pytest.approx(expected)
    batched = probabilistic_sharpe_ratio(np.vstack([r, -r]))
    assert batched.shape == (2,) and batched[0] == pytest.approx(expected)


def test_expected_max_sharpe_matches_simulation() -> None:
    # E[max of N standard normals]: the paper's approximation within a few percent for N = 100.
    assert expected_max_sharpe(1, 1.0) == 0.0
    approx = expected_max_sharpe(100, 1.0)
    sim = np.random.default_rng(0).standard_normal((20000, 100)).max(axis=1).mean()
    assert approx == pytest.approx(sim, rel=0.03)
    # Scales with the standard deviation of the trials' Sharpes.
    assert expected_max_sharpe(100, 4.0) == pytest.approx(2 * approx)
    assert pytest.approx(0.5772156649) == EULER_GAMMA


def test_deflated_from_trial_sharpes() -> None:
    rng = np.random.default_rng(11)
    r = rng.normal(0.001, 0.01, 1000)
    trials = rng.normal(0.0, 0.03, 50)
    dsr = deflated_sharpe_ratio(r, trials)
    sk, ku = return_moments(r)
    expected = dsr_from_stats(sharpe_per_bar(r), 1000, 50, float(np.var(trials, ddof=1)), sk, ku)
    assert dsr == pytest.approx(expected)
    # More trials -> a higher bar -> a lower DSR; one trial -> PSR against 0.
    assert deflated_sharpe_ratio(r, trials, n_trials=1000) < dsr < probabilistic_sharpe_ratio(r)
    assert deflated_sharpe_ratio(r, n_trials=1, sharpe_variance=0.0) == pytest.approx(
        probabilistic_sharpe_ratio(r)
    )


def test_argument_errors() -> None:
    r = np.random.default_rng(1).normal(0, 0.01, 100)
    with pytest.raises(ValueError, match="n_trials"):
        deflated_sharpe_ratio(r)
    with pytest.raises(ValueError, match="at least 2 trials"):
        deflated_sharpe_ratio(r, [0.1])
    with pytest.raises(ValueError):
        expected_max_sharpe(0, 1.0)
    with pytest.raises(ValueError):
        psr_from_stats(0.1, 1)


def test_infinite_sharpe_gives_certainty() -> None:
    assert probabilistic_sharpe_ratio(np.full(10, 0.001)) == 1.0
    assert math.isclose(probabilistic_sharpe_ratio(np.zeros(10)), 0.5)
