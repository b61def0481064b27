"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, Lopez de Prado & Zhu (2015), "The Probability of Backtest Overfitting".

Input: a (T x N) matrix of per-bar returns, one column per trial (configuration), rows aligned in time.

1. The first T mod S rows are dropped (the most recent data is kept) and the rest cut into S contiguous
   blocks of equal length (S even, default 16).
2. For each of the C(S, S/2) ways to choose S/2 blocks as the in-sample set J (the other half is the
   out-of-sample set J-bar), compute every trial's performance on J and on J-bar. Performance is the
   per-bar Sharpe ratio (mean / std, ddof=1; annualising would not change any rank).
3. n* = the trial with the best in-sample performance. Its out-of-sample relative rank is
   w = rank(R-bar[n*]) / (N + 1) (ranks 1..N ascending, ties averaged) and its logit lambda = ln(w / (1 - w)).
4. PBO = share of combinations with lambda <= 0, i.e. where the in-sample winner is at or below the
   out-of-sample median. Near 0: the selection generalises; near 1: it is overfitted (0.5 ~ no skill).

Also returned: performance degradation, the OLS fit R-bar[n*] = intercept + slope * R[n*] over the
combinations (a negative slope means the in-sample edge reverses), and the probability of loss,
P(R-bar[n*] < 0).

Cost: C(16, 8) = 12870 combinations, computed from per-block sums in one matrix product (milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from cappuccino_core.metrics._arrays import safe_ratio, zero_dispersion


@dataclass(frozen=True)
class PBOResult:
    """Probability of backtest overfitting (CSCV) and the per-combination figures behind it."""

    pbo: float  # share of combinations with logit <= 0, in [0, 1]
    logits: np.ndarray = field(repr=False)  # (C,) lambda per combination
    rank_oos: np.ndarray = field(repr=False)  # (C,) relative OOS rank w of the IS winner, in (0, 1)
    is_performance: np.ndarray = field(repr=False)  # (C,) IS per-bar Sharpe of the IS winner
    oos_performance: np.ndarray = field(repr=False)  # (C,) OOS per-bar Sharpe of the IS winner
    best_trial: np.ndarray = field(repr=False)  # (C,) column index of the IS winner
    degradation_slope: float  # OLS slope of OOS on IS performance of the winner
    degradation_intercept: float
    prob_oos_loss: float  # P(OOS Sharpe of the IS winner < 0)
    n_partitions: int
    n_combinations: int
    n_trials: int
    n_obs_used: int  # rows used (T minus the dropped T mod S oldest rows)

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        """Scalars (JSON-safe); with arrays=True also the per-combination lists."""
        d: dict[str, Any] = {
            "pbo": self.pbo,
            "degradation_slope": self.degradation_slope,
            "degradation_intercept": self.degradation_intercept,
            "prob_oos_loss": self.prob_oos_loss,
            "logit_mean": float(np.mean(self.logits)),
            "logit_median": float(np.median(self.logits)),
            "n_partitions": self.n_partitions,
            "n_combinations": self.n_combinations,
            "n_trials": self.n_trials,
            "n_obs_used": self.n_obs_used,
        }
        d = {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in d.items()}
        if arrays:
            d["logits"] = self.logits.tolist()
            d["is_performance"] = self.is_performance.tolist()
            d["oos_performance"] = self.oos_performance.tolist()
            d["best_trial"] = self.best_trial.tolist()
        return d


def _subset_sharpe(
    mask: np.ndarray, c1: np.ndarray, c2: np.ndarray, centre: np.ndarray, n: int
) -> np.ndarray:
    """Per-bar Sharpe (ddof=1) of every trial on every block subset, from sums of CENTRED returns.

    mask (C, S) selects blocks; c1, c2 (S, N) are per-block sums of (r - centre) and (r - centre)^2.
    Centring keeps the variance-from-sums stable; the Sharpe's mean is shifted back by ``centre``.
    """
    s1, s2 = mask @ c1, mask @ c2
    mean_c = s1 / n
    std = np.sqrt(np.maximum((s2 - n * mean_c**2) / (n - 1), 0.0))
    mean = mean_c + centre
    # Numerically-zero dispersion counts as zero (e.g. a trial that stays in cash on this subset).
    std = np.where(zero_dispersion(std, mean), 0.0, std)
    return safe_ratio(mean, std)


def probability_of_backtest_overfitting(returns: ArrayLike, n_partitions: int = 16) -> PBOResult:
    """CSCV PBO of a (T x N_trials) matrix of per-bar returns (see module docstring)."""
    M = np.asarray(returns.to_numpy() if hasattr(returns, "to_numpy") else returns, dtype=np.float64)
    S = int(n_partitions)
    if M.ndim != 2:
        raise ValueError(f"PBO needs a 2-D (T x N_trials) matrix of returns; got shape {M.shape}")
    T, N = M.shape
    if S < 2 or S % 2:
        raise ValueError(f"n_partitions must be an even number >= 2; got {n_partitions}")
    if N < 2:
        raise ValueError(f"PBO compares trials: need at least 2 trial columns, got {N}")
    block = T // S
    if block < 2:
        raise ValueError(
            f"PBO with {S} partitions needs at least {2 * S} rows (2 per block) of returns; got T={T}. "
            "Use fewer partitions or a longer sample."
        )
    if not np.isfinite(M).all():
        raise ValueError("PBO returns matrix has non-finite values")
    used = M[T - block * S :]
    blocks = used.reshape(S, block, N)
    centre = used.mean(axis=0)
    c_blocks = blocks - centre
    c1 = c_blocks.sum(axis=1)  # (S, N)
    c2 = (c_blocks**2).sum(axis=1)
    combos = np.array(list(combinations(range(S), S // 2)), dtype=np.int64)
    C = len(combos)
    assert comb(S, S // 2) == C
    member = np.zeros((C, S))
    member[np.arange(C)[:, None], combos] = 1.0
    n_half = block * (S // 2)
    best = np.empty(C, dtype=np.int64)
    ranks = np.empty(C)
    is_perf = np.empty(C)
    oos_perf = np.empty(C)
    chunk = max(1, 2_000_000 // N)  # bounds memory at a few (chunk x N) float arrays for large studies
    for lo in range(0, C, chunk):
        m = member[lo : lo + chunk]
        R = _subset_sharpe(m, c1, c2, centre, n_half)  # (c, N) in-sample
        R_bar = _subset_sharpe(1.0 - m, c1, c2, centre, n_half)  # (c, N) out-of-sample
        rows = np.arange(len(m))
        b_ = np.argmax(R, axis=1)
        best[lo : lo + chunk] = b_
        ranks[lo : lo + chunk] = stats.rankdata(R_bar, axis=1, method="average")[rows, b_]
        is_perf[lo : lo + chunk] = R[rows, b_]
        oos_perf[lo : lo + chunk] = R_bar[rows, b_]
    w = ranks / (N + 1.0)
    logits = np.log(w / (1.0 - w))
    finite = np.isfinite(is_perf) & np.isfinite(oos_perf)
    if finite.sum() >= 2 and np.ptp(is_perf[finite]) > 0:
        slope, intercept = np.polyfit(is_perf[finite], oos_perf[finite], 1)
    else:
        slope, intercept = float("nan"), float("nan")
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        rank_oos=w,
        is_performance=is_perf,
        oos_performance=oos_perf,
        best_trial=best,
        degradation_slope=float(slope),
        degradation_intercept=float(intercept),
        prob_oos_loss=float(np.mean(oos_perf < 0)),
        n_partitions=S,
        n_combinations=C,
        n_trials=N,
        n_obs_used=block * S,
    )
