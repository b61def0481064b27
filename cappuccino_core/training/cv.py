"""Combinatorial purged cross-validation (CPCV) over the real bars of a MarketDataset.

Semantics follow skfolio's ``CombinatorialPurgedCV`` (Lopez de Prado, AFML ch. 12), counted in bars:
the real bars (in time order) are cut into ``n_groups`` contiguous groups (size ``R // n_groups``, the
last group takes the remainder); each split tests ``n_test_groups`` of them and trains on the rest,
minus ``purge`` bars on each side of every test block and ``embargo`` more bars after it. Adjacent
test groups form one block. Synthetic (CGE) segments join every split's training set and are never tested.

The synthetic share is exact per split (:func:`mix_segments`): with ``synthetic_share`` s, a split whose real
training segments hold R rows gets round(s R / (1 - s)) synthetic rows (whole CGE windows, the last one cut
short), so each split's training set is s synthetic to the row, whatever share of the real bars it trains
on. The dataset must hold enough synthetic rows (``training.data`` sizes them on all pre-holdout bars, with a
margin); a shortfall of more than one point raises.

The env receives contiguous ``(start, end)`` segments: a run of selected bars is cut wherever the
dataset's own segments end (a missing bar, a change of source), so nothing is glued across a gap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from cappuccino_core.features.dataset import SOURCE_REAL, MarketDataset

Segment = tuple[int, int]


@dataclass(frozen=True)
class CPCVSplit:
    """One CPCV split: its test groups, training positions and test positions per group."""

    index: int
    test_groups: tuple[int, ...]
    train: np.ndarray  # positions (0..R-1) in the real-bar sequence used for training
    test: tuple[np.ndarray, ...]  # one position array per test group, in group order


def cpcv_splits(
    n_bars: int, n_groups: int = 5, n_test_groups: int = 2, purge: int = 0, embargo: int = 0
) -> list[CPCVSplit]:
    """All C(n_groups, n_test_groups) splits of positions ``0..n_bars-1``."""
    if not 1 <= n_test_groups < n_groups:
        raise ValueError(f"need 1 <= n_test_groups ({n_test_groups}) < n_groups ({n_groups})")
    if purge < 0 or embargo < 0:
        raise ValueError("purge and embargo must be >= 0")
    size = n_bars // n_groups
    if size <= purge + embargo + 1:
        raise ValueError(
            f"{n_bars} bars in {n_groups} groups ({size} bars each) leave nothing after purge {purge} "
            f"+ embargo {embargo}: use fewer groups or smaller purge/embargo"
        )
    group = np.minimum(np.arange(n_bars) // size, n_groups - 1)
    splits = []
    for i, tg in enumerate(itertools.combinations(range(n_groups), n_test_groups)):
        is_test = np.isin(group, tg)
        excluded = is_test.copy()
        edges = np.flatnonzero(np.diff(is_test.astype(np.int8)))  # last bar before a change
        for e in edges:
            if is_test[e + 1]:  # train -> test at e+1: purge the `purge` bars before it
                excluded[max(0, e + 1 - purge) : e + 1] = True
            else:  # test -> train at e+1: purge + embargo after it
                excluded[e + 1 : e + 1 + purge + embargo] = True
        splits.append(
            CPCVSplit(
                index=i,
                test_groups=tuple(tg),
                train=np.flatnonzero(~excluded),
                test=tuple(np.flatnonzero(group == g) for g in tg),
            )
        )
    return splits


@dataclass(frozen=True)
class SplitSegments:
    """One CPCV split mapped onto dataset rows: contiguous segments for the env and the runner."""

    index: int
    test_groups: tuple[int, ...]
    train: list[Segment]  # real training segments + every synthetic segment
    test: list[list[Segment]]  # per test group: its real segments


class RealBarIndex:
    """The dataset rows of real bars, in time order, opening before ``before`` (ns, the holdout start)."""

    def __init__(self, dataset: MarketDataset, before: int | None = None) -> None:
        assert dataset.source is not None
        real: list[Segment] = []
        for s, e in dataset.segments:
            if dataset.source[s] != SOURCE_REAL:
                continue
            if before is not None:
                e = s + int(np.searchsorted(dataset.times[s:e], before, side="left"))
            if e > s:
                real.append((s, e))
        real.sort(key=lambda se: int(dataset.times[se[0]]))
        self.segments = real
        self.rows = (
            np.concatenate([np.arange(s, e) for s, e in real]) if real else np.empty(0, dtype=np.int64)
        )
        # Each row's segment id: runs never cross a segment boundary.
        self._seg_id = (
            np.concatenate([np.full(e - s, k) for k, (s, e) in enumerate(real)])
            if real
            else np.empty(0, dtype=np.int64)
        )

    def __len__(self) -> int:
        return int(self.rows.size)

    def to_segments(self, positions: np.ndarray, min_len: int = 1) -> list[Segment]:
        """Positions -> contiguous dataset row ranges, cut at every dataset segment boundary."""
        if positions.size == 0:
            return []
        rows = self.rows[positions]
        seg = self._seg_id[positions]
        cut = np.flatnonzero((np.diff(rows) != 1) | (np.diff(seg) != 0)) + 1
        starts = np.concatenate(([0], cut))
        ends = np.concatenate((cut, [rows.size]))
        out = [(int(rows[s]), int(rows[e - 1]) + 1) for s, e in zip(starts, ends, strict=True)]
        return [se for se in out if se[1] - se[0] >= min_len]


def synthetic_segments(dataset: MarketDataset) -> list[Segment]:
    """The dataset's synthetic (CGE) segments."""
    assert dataset.source is not None
    return [(s, e) for s, e in dataset.segments if dataset.source[s] != SOURCE_REAL]


def rows(segments: list[Segment]) -> int:
    """Number of rows in ``segments``."""
    return sum(e - s for s, e in segments)


def synthetic_row_share(dataset: MarketDataset, segments: list[Segment]) -> float:
    """Share of synthetic rows among the rows of ``segments`` (0.0 for no rows)."""
    assert dataset.source is not None
    total = rows(segments)
    synth = sum(e - s for s, e in segments if dataset.source[s] != SOURCE_REAL)
    return synth / total if total else 0.0


def mix_segments(
    real: list[Segment], synth: list[Segment], share: float, *, seed: int = 0, min_segment_len: int = 2
) -> list[Segment]:
    """``real`` plus synthetic segments holding round(share x R / (1 - share)) rows, R = rows of ``real``:
    whole windows in a seeded order, the last one cut short (never below ``min_segment_len``). Raises when
    ``synth`` cannot supply the share to within one point."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"synthetic share must be in [0, 1); got {share}")
    n_real = rows(real)
    want = round(share * n_real / (1.0 - share))
    picked: list[Segment] = []
    left = want
    for i in np.random.default_rng(seed).permutation(len(synth)):
        if left < min_segment_len:
            break
        s, e = synth[int(i)]
        take = min(e - s, left)
        if 0 < left - take < min_segment_len:  # leave a remainder long enough for a segment of its own
            take = left - min_segment_len
        if take >= min_segment_len:
            picked.append((s, s + take))
            left -= take
    got = rows(picked)
    total = n_real + got
    if total and abs(got / total - share) > 0.01:
        raise ValueError(
            f"the dataset's synthetic rows ({rows(synth)}) cannot give a synthetic share of {share:.0%} on "
            f"{n_real} real training rows (got {got / total:.1%}): build it with more CGE windows"
        )
    return real + sorted(picked)


def split_dataset(
    dataset: MarketDataset,
    n_groups: int,
    n_test_groups: int,
    purge: int,
    embargo: int,
    before: int | None = None,
    min_segment_len: int = 2,
    synthetic_share: float | None = None,
) -> list[SplitSegments]:
    """CPCV over the dataset's real bars opening before ``before`` (ns; the holdout start).

    Segments shorter than ``min_segment_len`` bars are dropped (an episode needs at least two bars).
    ``synthetic_share``: each split's training set is that share synthetic, to the row
    (:func:`mix_segments`); None adds every synthetic segment to every split.
    """
    index = RealBarIndex(dataset, before)
    synth = synthetic_segments(dataset)
    out = []
    for sp in cpcv_splits(len(index), n_groups, n_test_groups, purge, embargo):
        real = index.to_segments(sp.train, min_segment_len)
        train = (
            real + synth
            if synthetic_share is None
            else mix_segments(real, synth, synthetic_share, seed=sp.index, min_segment_len=min_segment_len)
        )
        out.append(
            SplitSegments(
                index=sp.index,
                test_groups=sp.test_groups,
                train=train,
                test=[index.to_segments(t, min_segment_len) for t in sp.test],
            )
        )
    return out


def holdout_start(dataset: MarketDataset, fraction: float) -> int | None:
    """Open time (ns) of the first holdout bar: the newest ``fraction`` of real bars; None if none."""
    index = RealBarIndex(dataset)
    n_hold = int(len(index) * fraction)
    if n_hold == 0:
        return None
    return int(dataset.times[index.rows[len(index) - n_hold]])


def holdout_segments(dataset: MarketDataset, start_ns: int | None) -> list[Segment]:
    """Real segments of bars opening at or after ``start_ns`` (what the gates backtest on)."""
    if start_ns is None:
        return []
    index = RealBarIndex(dataset)
    return index.to_segments(np.flatnonzero(dataset.times[index.rows] >= start_ns))
