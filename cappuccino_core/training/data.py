"""The datasets a study trains on: stored bars -> resampled -> aligned -> features, cached per choice.

Bars come from the Parquet store (``paths.data_root``), or, for a ticker the store lacks, from the
committed sample (``paths.sample_dir``, files ``<VENUE>_<BASE><QUOTE>_<tf>.parquet``). A timeframe is
available when every ticker has it or a finer timeframe that divides it (1h -> 4h by resampling; 5m
only where all tickers have 5m).

The holdout (newest ``training.holdout_fraction`` of the aligned base-timeframe bars) starts at one
TIME for every timeframe, so phase 1 compares timeframes over the same span. Normalisation is fitted on
the bars before it (the builder's ``fit_end``): the CPCV test groups share those statistics, a mild
leak the builder's contiguous ``fit_end`` cannot avoid; the holdout never takes part.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from cappuccino_core.config import Settings
from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.data.align import align_bars
from cappuccino_core.data.bars import OHLCV
from cappuccino_core.data.resample import resample_bars
from cappuccino_core.data.store import BarStore
from cappuccino_core.data.symbols import parse_symbol
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC, MarketDataset

log = logging.getLogger(__name__)
BASE_CANDIDATES = ("1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d")


def _sample_path(settings: Settings, ticker: str, tf: str) -> Path:
    sym = parse_symbol(ticker)
    return (
        Path(settings.paths.sample_dir) / f"{settings.data.venue.upper()}_{sym.base}{sym.quote}_{tf}.parquet"
    )


def _read(settings: Settings, ticker: str, tf: str) -> pl.DataFrame | None:
    store = BarStore(settings.paths.data_root)
    venue = settings.data.venue
    if store.exists(venue, ticker, tf):
        return store.read(venue, ticker, tf)
    p = _sample_path(settings, ticker, tf)
    return pl.read_parquet(p) if p.is_file() else None


def _source_timeframe(settings: Settings, ticker: str, target: str) -> str | None:
    """The coarsest stored timeframe of ``ticker`` that divides ``target`` (the cheapest to resample)."""
    secs = timeframe_seconds(target)
    store = BarStore(settings.paths.data_root)
    for tf in sorted(BASE_CANDIDATES, key=timeframe_seconds, reverse=True):
        s = timeframe_seconds(tf)
        if (
            s <= secs
            and secs % s == 0
            and (
                store.exists(settings.data.venue, ticker, tf) or _sample_path(settings, ticker, tf).is_file()
            )
        ):
            return tf
    return None


def available_timeframes(settings: Settings, candidates: list[str]) -> list[str]:
    """The candidates every configured ticker can provide (directly or by resampling)."""
    out = []
    for tf in candidates:
        tf = normalise_timeframe(tf)
        missing = [t for t in settings.data.tickers if _source_timeframe(settings, t, tf) is None]
        if missing:
            log.info("timeframe %s unavailable: no bars for %s", tf, missing)
        else:
            out.append(tf)
    return out


def load_aligned(settings: Settings, timeframe: str) -> tuple[dict[str, pl.DataFrame], list[tuple[int, int]]]:
    """Aligned, repaired bar frames per ticker (config order) at ``timeframe``, and their segments."""
    tf = normalise_timeframe(timeframe)
    frames = {}
    for t in settings.data.tickers:
        src = _source_timeframe(settings, t, tf)
        if src is None:
            raise FileNotFoundError(
                f"no {tf} (or finer) bars for {t} in the store or {settings.paths.sample_dir}"
            )
        df = _read(settings, t, src)
        assert df is not None
        frames[t] = df if src == tf else resample_bars(df, src, tf, symbol=t)
    aligned = align_bars(frames, tf, settings.data)
    return aligned.frames, aligned.segments


def holdout_time(settings: Settings, base_timeframe: str) -> int | None:
    """Open time (ns) where the holdout starts: the newest ``holdout_fraction`` of base-timeframe bars."""
    frac = settings.training.holdout_fraction
    if frac <= 0:
        return None
    frames, _ = load_aligned(settings, base_timeframe)
    times = next(iter(frames.values()))["time"].dt.epoch("ns").to_numpy()
    return int(times[int(len(times) * (1 - frac))])


@dataclass(frozen=True)
class DatasetRef:
    path: Path
    timeframe: str
    lookback: int


def _set_id(settings: Settings) -> str | None:
    if settings.training.synthetic_share <= 0:
        return None
    from cappuccino_core.cge.generate import latest_set

    return latest_set(settings.cge.output_dir).path.name


def dataset_key(settings: Settings, timeframe: str, lookback: int, holdout_ns: int | None) -> str:
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
    """CGE windows for a synthetic share of ``training.synthetic_share`` of all training windows (the
    latest scenario set under ``cge.output_dir``), resampled to ``timeframe``; [] when the share is 0."""
    cfg = settings.training
    if cfg.synthetic_share <= 0:
        return []
    from cappuccino_core.cge import augment
    from cappuccino_core.cge.generate import latest_set

    plan = augment.mix_plan(max(1, n_real_hours // cfg.synthetic_window_bars), cfg.synthetic_share)
    scenarios = latest_set(settings.cge.output_dir)
    wins = augment.synthetic_windows(
        scenarios, settings.data.tickers, plan.n_synthetic, cfg.synthetic_window_bars, seed=cfg.seed
    )
    if timeframe == "1h":
        return wins
    tag = pl.lit(SOURCE_SYNTHETIC, pl.UInt8).alias("source")
    return [
        {
            t: resample_bars(df.drop("source"), "1h", timeframe, symbol=t).with_columns(tag)
            for t, df in w.items()
        }
        for w in wins
    ]


def build_training_dataset(
    settings: Settings, timeframe: str, lookback: int, holdout_ns: int | None
) -> MarketDataset:
    """Real aligned bars (all of them; the holdout is excluded by CPCV and from the normalisation fit)
    followed by the CGE windows, each its own segment (time drops at every window boundary)."""
    frames, real_segments = load_aligned(settings, timeframe)
    segments: list[tuple[int, int]] | None = real_segments
    times = next(iter(frames.values()))["time"].dt.epoch("ns").to_numpy()
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
        path.parent.mkdir(parents=True, exist_ok=True)
        ds = build_training_dataset(settings, tf, lookback, holdout_ns)
        tmp = path.with_name(path.stem + f".tmp{np.random.randint(1 << 30)}.npz")
        ds.save(tmp)
        tmp.replace(path)  # atomic: concurrent workers never read a half-written file
    return DatasetRef(path, tf, int(lookback))
