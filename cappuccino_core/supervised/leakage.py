"""Leakage checks that can fail.

* :func:`causality_check`: features recomputed on the data cut at bar k must equal, on every bar before k,
  the features computed on all the data. A feature that reads a later bar (shifted into the future)
  changes when the future is cut away, and is refused.
* :func:`shuffled_label_check`: a model retrained on training labels shuffled in time has nothing to learn;
  its test accuracy must not be significantly above the majority-class rate. Above it, the evaluation
  itself leaks (e.g. test rows also in training, labels in the features).
* The split's window checks are in ``split.gap_checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import polars as pl

from cappuccino_core.gates.verdict import Check, check
from cappuccino_core.supervised.metrics import AccuracyStats, wilson_interval

FeatureFn = Callable[[Mapping[str, pl.DataFrame]], tuple[np.ndarray, np.ndarray]]  # frames -> (times, X)


def causality_check(
    fn: FeatureFn, frames: Mapping[str, pl.DataFrame], cuts: Sequence[int], tol: float = 1e-5
) -> Check:
    """Max |X_cut - X_full| over the bars both contain, for frames cut after each row in ``cuts``."""
    times, full = fn(frames)
    worst, where = 0.0, ""
    for k in cuts:
        cut = {t: df.head(int(k)) for t, df in frames.items()}
        t_cut, x_cut = fn(cut)
        common = np.searchsorted(times, t_cut)
        if np.any(common >= len(times)) or np.any(times[np.minimum(common, len(times) - 1)] != t_cut):
            raise ValueError("features of the cut data have bars the full data does not")
        d = float(np.max(np.abs(x_cut - full[common]))) if t_cut.size else 0.0
        if d > worst:
            worst, where = d, f"cut after row {k}"
    note = f"features change when later bars are removed ({where})" if worst > tol else f"{len(cuts)} cuts"
    return check("leak_future_features", worst, "<=", tol, note)


def shuffled_label_check(shuffled: AccuracyStats, z: float, label: str = "") -> Check:
    """The accuracy of a model trained on time-shuffled labels must lie within chance: not above the upper
    Wilson bound of the majority-class rate on the same number of test forecasts."""
    _, upper = wilson_interval(round(shuffled.base_rate * shuffled.n), shuffled.n, z)
    return check(
        f"leak_shuffled_accuracy[{label}]" if label else "leak_shuffled_accuracy",
        shuffled.accuracy,
        "<=",
        upper,
        f"labels shuffled in time; majority rate {shuffled.base_rate:.3f} on {shuffled.n}",
    )


def shuffle_in_time(labels: np.ndarray, rows: np.ndarray, seed: int) -> np.ndarray:
    """A copy of ``labels`` (T, N) whose ``rows`` carry the labels of those rows in a random time order
    (whole rows move together, so the coins' co-movement is kept and only the link to time is broken)."""
    out = labels.copy()
    perm = np.random.default_rng(seed).permutation(rows)
    out[rows] = labels[perm]
    return out
