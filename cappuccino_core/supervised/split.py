"""Time-ordered train / validation / test split of decision bars with a purge and an embargo.

A sample at decision row t reads feature rows [t - L + 1, t] (L = lookback) and its label reads the close
at t + h (h = horizon). Training, validation (early stopping) and test (the gate) follow each other in time;
between two consecutive sets ``purge + embargo`` rows are dropped from the end of the earlier one, so with
``purge >= h + L`` (the default) no label of an earlier set reaches a bar any later sample reads. The same
rule as the CPCV splits (``training.cv``) reduced to one walk-forward split (the gate needs the newest
bars as its test window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cappuccino_core.gates.verdict import Check, check


@dataclass(frozen=True)
class TimeSplit:
    """Decision rows of each set (increasing) and the gap rule they were cut with."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    purge: int
    embargo: int


def time_split(rows: np.ndarray, val_share: float, test_share: float, purge: int, embargo: int) -> TimeSplit:
    """Cut increasing decision ``rows`` into train / val / test by position; see the module docstring."""
    r = np.asarray(rows, dtype=np.int64)
    if r.size and np.any(np.diff(r) <= 0):
        raise ValueError("decision rows must be strictly increasing")
    if not (val_share > 0 and test_share > 0 and val_share + test_share < 1):
        raise ValueError(f"val_share {val_share} and test_share {test_share} must be > 0 with a sum < 1")
    n = r.size
    a, b = int(n * (1 - val_share - test_share)), int(n * (1 - test_share))
    gap = purge + embargo
    train = r[:a][r[:a] < (r[a] if a < n else np.iinfo(np.int64).max) - gap]
    val = r[a:b][r[a:b] < (r[b] if b < n else np.iinfo(np.int64).max) - gap]
    test = r[b:]
    if min(train.size, val.size, test.size) == 0:
        raise ValueError(
            f"{n} samples leave an empty set after a purge + embargo of {gap} rows "
            f"(train {train.size}, val {val.size}, test {test.size}): use more bars or a smaller purge"
        )
    return TimeSplit(train, val, test, purge, embargo)


def gap_checks(split: TimeSplit, lookback: int, horizon: int, label: str = "") -> list[Check]:
    """Leakage checks of the split: (1) bars strictly between an earlier set's last label bar (t + h) and a
    later set's first feature bar (t' - L + 1), at least 0; (2) decision rows of consecutive sets more than
    ``purge`` apart. Either fails for windows that overlap within the purge."""
    pairs = [(split.train, split.val), (split.val, split.test)]
    clear = min(int(b.min() - lookback + 1 - (a.max() + horizon) - 1) for a, b in pairs)
    apart = min(int(b.min() - a.max()) for a, b in pairs)
    sfx = f"[{label}]" if label else ""
    return [
        check(f"leak_window_clear_bars{sfx}", clear, ">=", 0, f"lookback {lookback}, horizon {horizon}"),
        check(
            f"leak_rows_apart{sfx}", apart, ">", split.purge, f"purge {split.purge}, embargo {split.embargo}"
        ),
    ]


def iso_time(ns: int) -> str:
    """Open time ``ns`` (int64 ns since the epoch, UTC) as ``2025-05-25T00:00:00Z``."""
    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")) + "Z"


def training_window(times: np.ndarray, splits: Sequence[TimeSplit], horizon: int) -> dict[str, str]:
    """The bars a model was fitted and early-stopped on, as open times (``window.*`` params of its run):
    ``train_start``, the first feature row (the normalisation is fitted from it); ``train_end``, the last bar
    a validation label reads (decision row + ``horizon``); ``test_start`` / ``test_end``, the same for the
    test window. ``splits``: one per unit (the LSTM has one per coin); the widest span over them."""
    t = np.asarray(times, dtype=np.int64)
    last = t.size - 1
    val_end = max(int(s.val.max()) for s in splits) + horizon
    test_end = max(int(s.test.max()) for s in splits) + horizon
    return {
        "train_start": iso_time(int(t[0])),
        "train_end": iso_time(int(t[min(val_end, last)])),
        "test_start": iso_time(int(t[min(int(s.test.min()) for s in splits)])),
        "test_end": iso_time(int(t[min(test_end, last)])),
    }
