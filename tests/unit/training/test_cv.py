"""CPCV against a hand-built example, and the mapping of splits onto dataset segments."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.training.cv import (
    cpcv_splits,
    holdout_segments,
    holdout_start,
    split_dataset,
)
from tests.unit.training.helpers import make_dataset

# T=100, N=5 groups of 20, k=2, purge 2 (both sides of a test block), embargo 3 (after it).
HAND_BUILT = {
    (0, 1): [(45, 100)],
    (0, 2): [(25, 38), (65, 100)],
    (0, 3): [(25, 58), (85, 100)],
    (0, 4): [(25, 78)],
    (1, 2): [(0, 18), (65, 100)],
    (1, 3): [(0, 18), (45, 58), (85, 100)],
    (1, 4): [(0, 18), (45, 78)],
    (2, 3): [(0, 38), (85, 100)],
    (2, 4): [(0, 38), (65, 78)],
    (3, 4): [(0, 58)],
}


def test_hand_built_example_exact_index_sets() -> None:
    splits = cpcv_splits(100, n_groups=5, n_test_groups=2, purge=2, embargo=3)
    assert len(splits) == 10
    for sp in splits:
        expected = np.concatenate([np.arange(s, e) for s, e in HAND_BUILT[sp.test_groups]])
        np.testing.assert_array_equal(sp.train, expected)
        assert [(int(t[0]), int(t[-1]) + 1) for t in sp.test] == [
            (20 * g, 20 * g + 20) for g in sp.test_groups
        ]
        assert np.intersect1d(sp.train, np.concatenate(sp.test)).size == 0


def test_remainder_goes_to_last_group_and_no_purge_without_neighbours() -> None:
    splits = cpcv_splits(23, n_groups=3, n_test_groups=1)
    assert [len(t) for sp in splits for t in sp.test] == [7, 7, 9]
    for sp in splits:  # purge 0, embargo 0: train is exactly the complement
        assert sp.train.size + sp.test[0].size == 23


def test_rejects_groups_too_small_for_purge() -> None:
    with pytest.raises(ValueError, match="purge"):
        cpcv_splits(50, n_groups=5, n_test_groups=2, purge=5, embargo=5)
    with pytest.raises(ValueError):
        cpcv_splits(100, n_groups=5, n_test_groups=5)


def test_segments_never_cross_gaps_and_synthetic_only_trains() -> None:
    ds = make_dataset(n_bars=100, gaps=(30, 70), n_synthetic=40)
    splits = split_dataset(ds, 5, 2, purge=2, embargo=3)
    assert len(splits) == 10
    synth = (100, 140)
    for sp in splits:
        assert synth in sp.train
        for s, e in sp.train + [seg for g in sp.test for seg in g]:
            # inside one dataset segment
            assert any(a <= s and e <= b for a, b in ds.segments), (s, e)
        for g in sp.test:
            for _s, e in g:
                assert e <= 100  # never a synthetic bar in a test set
    # group 1 = rows 20..39 crosses the gap at 30: two test segments
    sp = next(s for s in splits if s.test_groups == (1, 3))
    assert sp.test[0] == [(20, 30), (30, 40)]
    assert sp.train[:3] == [(0, 18), (45, 58), (85, 100)]


def test_holdout_is_excluded_from_every_split() -> None:
    ds = make_dataset(n_bars=120, gaps=(50,))
    start = holdout_start(ds, 0.25)
    assert start == int(ds.times[90])
    splits = split_dataset(ds, 3, 1, purge=0, embargo=0, before=start)
    for sp in splits:
        for _s, e in sp.train + [seg for g in sp.test for seg in g]:
            assert e <= 90
    assert holdout_segments(ds, start) == [(90, 120)]
    assert holdout_start(ds, 0.0) is None


def test_mix_segments_gives_the_share_exactly_and_refuses_a_shortfall() -> None:
    from cappuccino_core.training.cv import mix_segments

    real = [(0, 700)]
    synth = [(700 + 100 * k, 800 + 100 * k) for k in range(5)]  # 500 synthetic rows in 5 windows
    out = mix_segments(real, synth, 0.3, seed=1)
    picked = out[1:]
    assert sum(b - a for a, b in picked) == 300  # 0.3 x 700 / 0.7
    assert len(picked) == 3 and all(b - a == 100 for a, b in picked)
    out = mix_segments([(0, 650)], synth, 0.25, seed=2)  # 216.67 -> 217 rows: two windows + 17 rows
    assert sorted(b - a for a, b in out[1:]) == [17, 100, 100]
    assert mix_segments(real, synth, 0.0) == real
    with pytest.raises(ValueError, match="cannot give a synthetic share of 50%"):
        mix_segments([(0, 1000)], synth, 0.5)
