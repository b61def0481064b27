"""Data drift per feature: the population stability index (PSI) and the two-sample Kolmogorov-Smirnov
statistic of recent feature values against the training window's.

PSI: bins are the training sample's deciles (edges at its quantiles, open-ended outer bins); with shares
p (training) and q (recent) per bin, each floored at ``eps``, PSI = sum((q - p) * ln(q / p)). Rule of thumb:
< 0.1 stable, 0.1-0.25 moderate, > 0.25 a shift. KS: the largest gap between the two empirical CDFs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def psi(train: np.ndarray, recent: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``recent`` against ``train`` (1-D samples)."""
    a, b = _clean(train, "train"), _clean(recent, "recent")
    edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1) / a.size
    q = np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1) / b.size
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def ks(train: np.ndarray, recent: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (max |F_train - F_recent|)."""
    a, b = np.sort(_clean(train, "train")), np.sort(_clean(recent, "recent"))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def _clean(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size < 2:
        raise ValueError(f"{name} sample needs >= 2 values, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} sample holds NaN or inf")
    return x


def feature_drift(
    train: np.ndarray, recent: np.ndarray, names: Sequence[str], metric: str = "psi"
) -> dict[str, float]:
    """{feature: statistic} for (T, F) and (R, F) matrices whose columns are ``names``."""
    if train.ndim != 2 or recent.ndim != 2 or {train.shape[1], recent.shape[1]} != {len(names)}:
        raise ValueError(
            f"feature matrices must be (T, F) and (R, F) with F = {len(names)} names; "
            f"got {train.shape} and {recent.shape}"
        )
    fn = psi if metric == "psi" else ks
    return {n: fn(train[:, j], recent[:, j]) for j, n in enumerate(names)}
