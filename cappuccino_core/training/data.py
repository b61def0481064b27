"""The datasets a study trains on: stored bars -> resampled -> aligned -> features, cached per choice.

Bars come from :mod:`cappuccino_core.data.market` (the Parquet store, or, for a ticker the store lacks,
the committed sample). A timeframe is available when every ticker has it or a finer timeframe that
divides it (1h -> 4h by resampling; 5m only where all tickers have 5m).

The holdout (newest ``training.holdout_fraction`` of the aligned base-timeframe bars) starts at one
TIME for every timeframe, so phase 1 compares timeframes over the same span. Normalisation is fitted on
the bars before it (the builder's ``fit_end``): the CPCV test groups share those statistics, a mild
leak the builder's contiguous ``fit_end`` cannot avoid; the holdout never takes part.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from cappuccino_core.common.atomic import atomic_write_with
from cappuccino_core.config import Settings
from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.data.bars import OHLCV
from cappuccino_core.data.market import available_timeframes as available_timeframes  # the study's import
from cappuccino_core.data.market import load_aligned
from cappuccino_core.data.resample import resample_bars, whole_buckets
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC, MarketDataset


def holdout_time(settings: Settings, base_timeframe: str) -> int | None:
    """Open time (ns) where the holdout starts: the newest ``holdout_fraction`` of base-timeframe bars."""
    frac = settings.training.holdout_fraction
    if frac <= 0:
        return None
    times = load_aligned(settings, base_timeframe).times_ns()
    return int(times[int(len(times) * (1 - frac))])


@dataclass(frozen=True)
class DatasetRef:
    """A prepared training dataset on disk and the timeframe and lookback it was built for."""

    path: Path
    timeframe: str
    lookback: int


def _set_id(settings: Settings) -> str | None:
    if settings.training.synthetic_share <= 0:
        return None
    from cappuccino_core.cge.generate import latest_set

    return latest_set(settings.cge.output_dir).path.name


def dataset_key(settings: Settings, timeframe: str, lookback: int, holdout_ns: int | None) -> str:
    """A hash of everything a prepared dataset depends on (tickers, venue, timeframe, lookback, features,
    synthetic windows, holdout): it names the dataset's cache entry."""
    body = {
        "tickers": list(settings.data.tickers),
        "venue": settings.data.venue,
        "timeframe": timeframe,
        "lookback": lookback,
        "features": settings.features.model_dump(mode="json"),
        "data": settings.data.model_dump(mode="json"),
        "synthetic": [
            settings.training.synthetic_share,
            settings.training.synthetic_window_bars,
            _set_id(settings),
        ],
        "holdout_ns": holdout_ns,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


def synthetic_windows(settings: Settings, timeframe: str, n_real_hours: int) -> list[dict[str, pl.DataFrame]]:
    """CGE windows enough for a synthetic share of ``training.synthetic_share`` of the training rows (the
    latest scenario set under ``cge.output_dir``), resampled to ``timeframe``; [] when the share is 0. Each
    CPCV split (and the final fit) takes exactly its share of rows from them (``cv.mix_segments``)."""
    cfg = settings.training
    if cfg.synthetic_share <= 0:
        return []
    from cappuccino_core.cge import augment
    from cappuccino_core.cge.generate import latest_set

    # Enough whole windows for the share on ALL pre-holdout rows (the final fit), each window counted by the
    # rows it keeps at this timeframe after the features' warm-up: every CPCV split (which trains on fewer
    # real rows) and the final fit then take exactly their share from them (cv.mix_segments).
    from cappuccino_core.features.indicators import resolve_indicators, warmup_of

    tf_hours = max(1, timeframe_seconds(timeframe) // 3600)
    bars = cfg.synthetic_window_bars // tf_hours
    usable = bars - warmup_of(resolve_indicators(settings.features.indicators)) - 1  # - 1: bucket trimming
    if usable < 2:
        raise ValueError(
            f"training.synthetic_window_bars = {cfg.synthetic_window_bars} h holds {bars} {timeframe} bars, "
            f"too few for the features' warm-up: raise it or set training.synthetic_share = 0"
        )
    need = cfg.synthetic_share / (1.0 - cfg.synthetic_share) * (n_real_hours // tf_hours)
    n_synthetic = int(np.ceil(need / usable)) + 1
    scenarios = latest_set(settings.cge.output_dir)
    wins = augment.synthetic_windows(
        scenarios, settings.data.tickers, n_synthetic, cfg.synthetic_window_bars, seed=cfg.seed
    )
    if timeframe == "1h":
        return wins
    tag = pl.lit(SOURCE_SYNTHETIC, pl.UInt8).alias("source")
    return [
        {
            # Scenario windows start and end anywhere in a coarse bar: their edges are trimmed to whole
            # bars (the real history's gaps, in contrast, are reported by resample_bars).
            t: resample_bars(
                whole_buckets(df.drop("source"), "1h", timeframe), "1h", timeframe, symbol=t
            ).with_columns(tag)
            for t, df in w.items()
        }
        for w in wins
    ]


def build_training_dataset(
    settings: Settings, timeframe: str, lookback: int, holdout_ns: int | None
) -> MarketDataset:
    """Real aligned bars (all of them; the holdout is excluded by CPCV and from the normalisation fit)
    followed by the CGE windows, each its own segment (time drops at every window boundary)."""
    aligned = load_aligned(settings, timeframe)
    frames = aligned.frames
    segments: list[tuple[int, int]] | None = aligned.segments
    times = aligned.times_ns()
    fit_end = None if holdout_ns is None else int(np.searchsorted(times, holdout_ns, side="left"))
    feats = FeaturesConfig.model_validate({**settings.features.model_dump(), "lookback": int(lookback)})
    n_fit = len(times) if fit_end is None else fit_end
    synth = synthetic_windows(settings, timeframe, n_fit * timeframe_seconds(timeframe) // 3600)
    if synth:
        from cappuccino_core.cge.augment import concat_windows

        real_tag = pl.lit(SOURCE_REAL, pl.UInt8).alias("source")
        real = {t: df.select("time", *OHLCV).with_columns(real_tag) for t, df in frames.items()}
        frames, _, _ = concat_windows([real, *synth])
        segments = None  # the builder cuts segments at every gap, source change and time drop
        fit_end = n_fit  # real rows first: the normalisation never sees a synthetic bar
    return build_dataset(frames, feats, timeframe, fit_end=fit_end, segments=segments)


def prepare_dataset(
    settings: Settings, timeframe: str, lookback: int, holdout_ns: int | None, cache_dir: Path
) -> DatasetRef:
    """Build (once) and cache the dataset of one (timeframe, lookback) choice as .npz; trials load it."""
    tf = normalise_timeframe(timeframe)
    path = (
        Path(cache_dir) / f"dataset-{tf}-lb{lookback}-{dataset_key(settings, tf, lookback, holdout_ns)}.npz"
    )
    if not path.is_file():
        ds = build_training_dataset(settings, tf, lookback, holdout_ns)
        atomic_write_with(path, ds.save, suffix=".npz")  # concurrent workers never read a half-written file
    return DatasetRef(path, tf, int(lookback))
