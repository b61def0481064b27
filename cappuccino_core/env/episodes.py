"""Where episodes start and end: always inside one contiguous index segment, never across a gap.

An episode is a pair (start, end) of bar indices in one segment [seg_start, seg_end):

- ``start`` is the first decision bar. The observation's lookback window (``lookback`` bars ending at the
  decision bar) must lie in the segment, so start >= seg_start + lookback - 1.
- ``end`` is the last bar, the one the final step's equity is marked at: end <= seg_end - 1. The episode
  takes end - start steps (>= 1), at most ``episode_length``.

Training episodes start at random (seeded) positions: a segment is drawn with probability proportional to
its number of possible starts, then a start uniformly among them. Starts run up to the last one that still
leaves ``episode_length`` steps in the segment (every episode is full length when the segment allows it);
a segment shorter than that gives one episode covering all of it. Backtests use :meth:`EpisodeSampler.whole`:
one episode per segment from its first possible start to its last bar. Segments handed over by a caller
(CPCV folds) are first split at the gaps of the data (:func:`within`).
"""

from __future__ import annotations

import numpy as np


class EpisodeSampler:
    """Random episode starts inside contiguous data segments, leaving ``lookback`` bars of history before each
    start and room for ``episode_length`` steps."""

    def __init__(self, segments: list[tuple[int, int]], lookback: int, episode_length: int) -> None:
        if lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {lookback}")
        usable = [(s, e) for s, e in segments if e - s >= lookback + 1]
        if not usable:
            raise ValueError(
                f"no segment holds one step: each needs >= lookback + 1 = {lookback + 1} bars, "
                f"got segment lengths {[e - s for s, e in segments]}"
            )
        self.segments = usable
        self.lookback = lookback
        self.episode_length = episode_length
        seg = np.asarray(usable, dtype=np.int64)
        self._first = seg[:, 0] + lookback - 1  # earliest start per segment
        self._last_bar = seg[:, 1] - 1
        last_start = np.maximum(self._first, self._last_bar - episode_length)
        self._n_starts = last_start - self._first + 1
        self._cum = np.cumsum(self._n_starts)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` random episodes: (starts, ends), int64 arrays."""
        k = rng.integers(0, int(self._cum[-1]), size=n)
        seg = np.searchsorted(self._cum, k, side="right")
        offset = k - (self._cum[seg] - self._n_starts[seg])
        starts = self._first[seg] + offset
        ends = np.minimum(starts + self.episode_length, self._last_bar[seg])
        return starts, ends

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        """One episode per segment covering all of it: (starts, ends)."""
        return self._first.copy(), self._last_bar.copy()

    def check(self, starts: np.ndarray, ends: np.ndarray) -> None:
        """Raise ValueError unless every (start, end) lies in one segment with room for the lookback."""
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            if not any(f <= s < e <= last for f, last in zip(self._first, self._last_bar, strict=True)):
                raise ValueError(
                    f"episode ({s}, {e}) is not inside one segment with {self.lookback} bars of lookback "
                    f"before its start; segments: {self.segments}"
                )


def within(segments: list[tuple[int, int]], data_segments: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of ``segments`` (e.g. CPCV's training folds) that lie inside the data's own contiguous
    segments: a given range that spans a gap in the data is split there."""
    out = []
    for s, e in segments:
        for ds, de in data_segments:
            lo, hi = max(s, ds), min(e, de)
            if hi > lo:
                out.append((lo, hi))
    return out
