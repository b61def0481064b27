"""Training datasets from the bundled sample: available timeframes, one holdout time for every
timeframe, CGE windows appended as synthetic training-only segments."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cappuccino_core.config import load_settings
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC
from cappuccino_core.training.cv import split_dataset, synthetic_row_share
from cappuccino_core.training.data import (
    available_timeframes,
    build_training_dataset,
    holdout_time,
    prepare_dataset,
)


def _settings(tmp_path: Path, sample_dir: Path, **training: Any) -> Any:
    return load_settings(
        paths={"data_root": tmp_path / "data", "sample_dir": sample_dir},
        data={"tickers": ["BTC/USDT", "ETH/USDT", "SOL/USDT"]},
        cge={"n_scenarios": 2, "quarters": 1, "hours": 600, "output_dir": tmp_path / "cge"},
        training={"synthetic_share": 0.0, **training},  # not ./cappuccino.toml's 70/30
    )


def test_timeframes_and_holdout(tmp_path: Path, sample_dir: Path) -> None:
    s = _settings(tmp_path, sample_dir, holdout_fraction=0.2)
    assert available_timeframes(s, ["5m", "1h", "4h", "1d"]) == ["1h", "4h", "1d"]  # 5m: BTC only
    h = holdout_time(s, "1h")
    assert h is not None
    d1 = build_training_dataset(s, "1h", 5, h)
    d4 = build_training_dataset(s, "4h", 5, h)
    for ds in (d1, d4):
        real_before = int((ds.times < h).sum())
        # the normalisation saw exactly the bars before the holdout
        assert ds.spec.extra["fit_rows"] == real_before
        assert (ds.source == SOURCE_REAL).all()
    # the holdout is the newest 20% of the aligned 1h bars; warm-up rows are dropped by the builder
    assert (d1.times >= h).sum() == pytest.approx(0.2 * (d1.n_bars + d1.spec.warmup), abs=2)
    ref = prepare_dataset(s, "4h", 5, h, tmp_path / "cache")
    again = prepare_dataset(s, "4h", 5, h, tmp_path / "cache")
    assert ref.path == again.path and ref.path.is_file()  # built once, cached by content key
    assert prepare_dataset(s, "4h", 6, h, tmp_path / "cache").path != ref.path


def test_cge_windows_join_training_folds_only(tmp_path: Path, sample_dir: Path) -> None:
    from cappuccino_core.cge.generate import generate, spec_from_settings

    s = _settings(tmp_path, sample_dir, synthetic_share=0.3, synthetic_window_bars=300)
    generate(spec_from_settings(s), s.cge.output_dir)
    h = holdout_time(s, "1h")
    ds = build_training_dataset(s, "1h", 5, h)
    synth = [(a, b) for a, b in ds.segments if ds.source[a] == SOURCE_SYNTHETIC]
    real_hours = int((ds.times[ds.source == SOURCE_REAL] < h).sum() + ds.spec.warmup)
    # sized for 30% of all pre-holdout rows, each window counted by the rows it keeps after the warm-up
    assert len(synth) == int(np.ceil(0.3 / 0.7 * real_hours / (300 - ds.spec.warmup - 1))) + 1
    assert ds.spec.extra["fit_rows"] == int(((ds.source == SOURCE_REAL) & (ds.times < h)).sum())
    for sp in split_dataset(ds, 5, 2, 10, 10, before=h):  # no share given: every window joins every split
        assert all(seg in sp.train for seg in synth)
    splits = split_dataset(ds, 5, 2, 10, 10, before=h, synthetic_share=0.3, min_segment_len=6)
    for sp in splits:
        n_real = sum(b - a for a, b in sp.train if ds.source[a] == SOURCE_REAL)
        n_syn = sum(b - a for a, b in sp.train if ds.source[a] == SOURCE_SYNTHETIC)
        assert n_syn == round(0.3 * n_real / 0.7)  # the 70/30 mix, exact to the row in every split
        assert synthetic_row_share(ds, sp.train) == pytest.approx(0.3, abs=0.001)
        assert all(b - a >= 6 for a, b in sp.train)
        assert all(any(a0 <= a and b <= b0 for a0, b0 in synth) for a, b in sp.train if ds.source[a])
        for group in sp.test:
            for a, b in group:
                assert (ds.source[a:b] == SOURCE_REAL).all() and (ds.times[a:b] < h).all()
    assert np.isfinite(ds.features).all()


def test_cge_windows_become_whole_coarse_bars(
    tmp_path: Path, sample_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """301-hour scenario windows at 4h: each is trimmed to whole 4h bars, nothing partial, nothing to warn."""
    from cappuccino_core.cge.generate import generate, spec_from_settings

    s = _settings(tmp_path, sample_dir, synthetic_share=0.3, synthetic_window_bars=301)
    generate(spec_from_settings(s), s.cge.output_dir)
    with caplog.at_level(logging.WARNING, logger="cappuccino_core.data.resample"):
        ds = build_training_dataset(s, "4h", 5, holdout_time(s, "4h"))
    assert "incomplete" not in caplog.text
    # the final fit's set (all pre-holdout real rows) gets its exact 30% at 4h too, warm-ups and all
    from cappuccino_core.training.cv import RealBarIndex, mix_segments, synthetic_segments

    real = RealBarIndex(ds, holdout_time(s, "4h")).segments
    train = mix_segments(real, synthetic_segments(ds), 0.3, min_segment_len=6)
    assert synthetic_row_share(ds, train) == pytest.approx(0.3, abs=0.002)
    synthetic = ds.times[ds.source == SOURCE_SYNTHETIC]
    assert len(synthetic) > 0 and (synthetic % (4 * 3600 * 10**9) == 0).all()
