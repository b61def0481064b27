"""Probabilistic and deflated Sharpe ratios (Bailey & Lopez de Prado 2012, 2014).

UNITS: everything here works with the PER-BAR (non-annualised) Sharpe ratio, SR = mean / std(ddof=1) of the
per-bar simple returns (``ratios.sharpe_per_bar``). Convert an annualised Sharpe with
``ratios.deannualize_sharpe(sr, timeframe)`` (divide by sqrt(bars_per_year)) before passing it in, and a
variance of annualised Sharpes by dividing by bars_per_year.

PSR (2012, "The Sharpe Ratio Efficient Frontier"): the probability that the true Sharpe exceeds a benchmark
SR* given the observed SR over n returns with skewness g3 and kurtosis g4 (NOT excess: 3 for a normal):

    PSR(SR*) = Phi( (SR - SR*) * sqrt(n - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2) )

g3, g4 are the population (biased) moment estimates, as in the paper. If the term under the square root is
not positive the PSR is undefined and NaN is returned.

DSR (2014, "The Deflated Sharpe Ratio"): the PSR against the Sharpe one expects from the best of N unskilled
trials, whose Sharpes have variance V across trials (sample variance, ddof=1):

    SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e))),  gamma = 0.5772156649...
    DSR = PSR(SR0)

With N = 1 there is no selection and SR0 = 0. Worked example of the paper (reproduced in the tests):
annualised SR 2.5 over 1250 daily returns (250 a year), N = 100, V = 0.5 annualised, g3 = -3, g4 = 10 ->
SR0 = 0.1132 per day, DSR = 0.9004.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from cappuccino_core.metrics._arrays import as_series, constant_along_time, scalar_or_array
from cappuccino_core.metrics.ratios import _sharpe_unscaled

EULER_GAMMA = float(np.euler_gamma)  # 0.5772156649015329


def return_moments(returns: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(skewness, kurtosis) along the last axis, population estimates; kurtosis NOT excess (normal = 3).
    A constant series gets (0, 3)."""
    r = as_series(returns, name="returns", min_len=2)
    d = r - r.mean(axis=-1, keepdims=True)
    sd = np.sqrt(np.mean(d**2, axis=-1, keepdims=True))
    const = constant_along_time(r) | (sd[..., 0] <= 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        z = d / np.where(sd > 0, sd, 1.0)  # standardised: no underflow of sd**3 for tiny returns
        sk, ku = np.mean(z**3, axis=-1), np.mean(z**4, axis=-1)
    const = const | ~np.isfinite(sk) | ~np.isfinite(ku)
    sk = np.where(const, 0.0, sk)
    ku = np.where(const, 3.0, ku)
    return sk, ku


def psr_from_stats(
    sharpe_per_bar: ArrayLike,
    n_obs: ArrayLike,
    skew: ArrayLike = 0.0,
    kurtosis: ArrayLike = 3.0,
    sr_benchmark_per_bar: ArrayLike = 0.0,
) -> float | np.ndarray:
    """PSR from summary statistics (per-bar Sharpe, number of returns, skewness, NON-excess kurtosis)."""
    sr = np.asarray(sharpe_per_bar, dtype=np.float64)
    n = np.asarray(n_obs, dtype=np.float64)
    g3 = np.asarray(skew, dtype=np.float64)
    g4 = np.asarray(kurtosis, dtype=np.float64)
    srb = np.asarray(sr_benchmark_per_bar, dtype=np.float64)
    if np.any(n < 2):
        raise ValueError(f"PSR needs at least 2 returns; got n_obs={np.asarray(n_obs).tolist()}")
    finite = np.isfinite(sr)
    sr_f = np.where(finite, sr, 0.0)
    var_term = 1.0 - g3 * sr_f + (g4 - 1.0) / 4.0 * sr_f**2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (sr_f - srb) * np.sqrt(n - 1.0) / np.sqrt(np.where(var_term > 0, var_term, np.nan))
    out = stats.norm.cdf(z)
    out = np.where(finite, out, np.where(sr > 0, 1.0, np.where(sr < 0, 0.0, np.nan)))
    return scalar_or_array(out)


def probabilistic_sharpe_ratio(returns: ArrayLike, sr_benchmark_per_bar: float = 0.0) -> float | np.ndarray:
    """PSR of per-bar simple returns ((T,) or (S, T)) against a PER-BAR benchmark Sharpe (default 0)."""
    r = as_series(returns, name="returns", min_len=2)
    sk, ku = return_moments(r)
    return psr_from_stats(_sharpe_unscaled(r), r.shape[-1], sk, ku, sr_benchmark_per_bar)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum PER-BAR Sharpe of n_trials unskilled trials whose Sharpes have this variance."""
    n = int(n_trials)
    if n < 1:
        raise ValueError(f"n_trials must be >= 1; got {n_trials}")
    if not np.isfinite(sharpe_variance) or sharpe_variance < 0:
        raise ValueError(f"sharpe_variance must be finite and >= 0; got {sharpe_variance}")
    if n == 1:
        return 0.0
    q = (1.0 - EULER_GAMMA) * stats.norm.ppf(1.0 - 1.0 / n) + EULER_GAMMA * stats.norm.ppf(
        1.0 - 1.0 / (n * np.e)
    )
    return float(np.sqrt(sharpe_variance) * q)


def dsr_from_stats(
    sharpe_per_bar: ArrayLike,
    n_obs: ArrayLike,
    n_trials: int,
    sharpe_variance: float,
    skew: ArrayLike = 0.0,
    kurtosis: ArrayLike = 3.0,
) -> float | np.ndarray:
    """DSR from summary statistics (all Sharpe figures per bar, kurtosis NOT excess)."""
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    return psr_from_stats(sharpe_per_bar, n_obs, skew, kurtosis, sr0)


def deflated_sharpe_ratio(
    returns: ArrayLike,
    trial_sharpes_per_bar: ArrayLike | None = None,
    *,
    n_trials: int | None = None,
    sharpe_variance: float | None = None,
) -> float | np.ndarray:
    """DSR of the selected strategy's per-bar returns ((T,) or (S, T)).

    ``trial_sharpes_per_bar``: the PER-BAR Sharpe of every trial of the study (the selected one included);
    N defaults to their count and V to their sample variance. ``n_trials`` / ``sharpe_variance`` override
    them (e.g. when more trials ran than have a Sharpe on record).
    """
    if trial_sharpes_per_bar is not None:
        t = np.asarray(trial_sharpes_per_bar, dtype=np.float64).ravel()
        t = t[np.isfinite(t)]
        if n_trials is None:
            n_trials = int(t.size)
        if sharpe_variance is None:
            if t.size < 2:
                raise ValueError("need the Sharpes of at least 2 trials to estimate their variance")
            sharpe_variance = float(np.var(t, ddof=1))
    if n_trials is None or sharpe_variance is None:
        raise ValueError("pass trial_sharpes_per_bar, or both n_trials and sharpe_variance")
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(returns, sr0)
