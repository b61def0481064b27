"""Aligned bar frames -> :class:`MarketDataset`: indicators per asset, warm-up dropped, z-scored per spec.

Two entry points share one code path:

- :func:`build_dataset` (training): resolves the configured indicators, fits the normalisation statistics
  (mean and std per ticker x feature) on training rows only, and stores them in the returned spec.
- :func:`apply_spec` (inference, held-out data): checks the data and the expected setup against a stored
  spec (tickers in order, timeframe, indicators and parameters, lookback) and normalises with the STORED
  statistics; a difference raises :class:`FeatureSpecMismatch` naming it.

Decisions (documented here because every consumer depends on them):

- Frames are aligned canonical bar frames (``cappuccino_core.data.bars``): identical ``time`` columns,
  tickers in dict order (never sorted). Optional ``source`` column (0/1 or "real"/"synthetic").
- Indicators run over each *block*: a maximal run of rows with one source and strictly increasing times.
  Inside a block they run through time gaps as if the bars were consecutive: gaps are repaired upstream
  (forward fill, flagged) and the few left (exchange outages) only end a segment, at no extra warm-up.
  A block boundary (real -> synthetic, or a CGE window starting again at an earlier time) restarts the
  indicators, and each block drops its own first ``warmup`` rows, so no feature mixes two sources.
- ``segments`` of the dataset: contiguous runs where consecutive bars are exactly one interval apart, with
  one source and one caller segment (if the caller passes ``segments``).
- Normalisation ``zscore``: ``(x - mean) / std`` with statistics from rows ``< fit_end`` (row index in the
  input frames), std of a constant feature taken as 1, then clipped to +-``CLIP_SIGMA``: a 10-sigma feature
  value carries no more information and keeps a model's inputs bounded under regime shifts. Prices are never
  clipped. ``none``: raw indicator values (finite, unclipped).
- ``volatility``: causal rolling population std of per-bar log returns over ``VOL_WINDOW`` = 24 bars (fewer at
  the start of a block), per bar, not annualised; the slippage model reads it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl
import talib

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.data.timeframes import normalise_timeframe, timeframe_seconds
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.features.frames import blocks_of, check_spacing, infer_timeframe, read_frames, times_ns
from cappuccino_core.features.indicators import (
    BarArrays,
    IndicatorSpec,
    check_outputs,
    compute_columns,
    resolve_indicators,
    warmup_of,
)
from cappuccino_core.features.spec import FeatureSpec, FeatureSpecMismatch

VOL_WINDOW = 24
CLIP_SIGMA = 10.0
PARALLEL_MIN_CELLS = 200_000  # from this many bars x assets, assets run on threads (TA-Lib frees the GIL)
CHUNK_ROWS = 65_536
INFERENCE_HISTORY_BARS = 500  # history for apply_spec to reproduce the training features (see apply_spec)
FEATURES_VERSION = 1  # bump when a computation changes meaning; recorded in spec.extra


def _volatility(close: np.ndarray) -> np.ndarray:
    """Rolling population std of log returns over VOL_WINDOW bars ending at each bar (fewer at the start)."""
    n = len(close)
    vol = np.zeros(n)
    if n < 3:
        return vol
    ret = np.diff(np.log(close))  # ret[j]: return into bar j + 1
    w = VOL_WINDOW
    for k in range(2, min(w - 1, len(ret)) + 1):
        vol[k] = ret[:k].std()
    if len(ret) >= w:
        vol[w:] = talib.STDDEV(ret, timeperiod=w, nbdev=1.0)[w - 1 :]
    return np.nan_to_num(vol, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def _segments(
    times: np.ndarray, source: np.ndarray, starts: list[int], step: int, caller: np.ndarray | None
) -> list[tuple[int, int]]:
    """Runs of dataset rows one interval apart, with one source, inside one block (``starts``: the first row
    of each) and one caller segment (``caller``: its label per row, -1 outside every caller segment)."""
    n = len(times)
    brk = (np.diff(times) != step) | (source[1:] != source[:-1])
    brk[[s - 1 for s in starts if s > 0]] = True
    if caller is not None:
        brk |= caller[1:] != caller[:-1]
    edges = [0, *(np.flatnonzero(brk) + 1).tolist(), n]
    segs = list(itertools.pairwise(edges))
    if caller is not None:
        segs = [(s, e) for s, e in segs if caller[s] >= 0]
    return segs


def _caller_labels(segments: Sequence[tuple[int, int]], n_rows: int) -> np.ndarray:
    labels = np.full(n_rows, -1, dtype=np.int64)
    for k, (s, e) in enumerate(segments):
        if not 0 <= s < e <= n_rows:
            raise ValueError(f"segment [{s}, {e}) outside the frames' rows [0, {n_rows})")
        if np.any(labels[s:e] >= 0):
            raise ValueError(f"segment [{s}, {e}) overlaps another")
        labels[s:e] = k
    return labels


def _kept_blocks(times: np.ndarray, source: np.ndarray, warmup: int) -> list[tuple[int, int]]:
    """Frame rows ``[a, e)`` of each contiguous block after its warm-up; an error when none is left."""
    blocks = blocks_of(times, source)
    kept = [(s + warmup, e) for s, e in blocks if e - s > warmup]
    if not kept:
        raise ValueError(
            f"not enough bars: {len(times)} rows in {len(blocks)} block(s), each needs more than the "
            f"warm-up of {warmup} bars"
        )
    return kept


def _asset_columns(
    bars: BarArrays, kept: list[tuple[int, int]], warmup: int, indicators: tuple[IndicatorSpec, ...],
    replaced: dict[str, int],
) -> tuple[list[np.ndarray], np.ndarray]:  # fmt: skip
    """One asset's feature columns and volatility over the kept blocks, each block computed from its own
    start (its warm-up rows then dropped)."""
    parts, vparts = [], []
    for a, e in kept:
        block = BarArrays(*(x[a - warmup : e] for x in bars))
        parts.append([c[warmup:] for c in compute_columns(block, indicators, replaced)])
        vparts.append(_volatility(block.close)[warmup:])
    cols = parts[0] if len(parts) == 1 else [np.concatenate(cs) for cs in zip(*parts, strict=True)]
    return cols, (vparts[0] if len(vparts) == 1 else np.concatenate(vparts))


def _write_normalised(
    out: np.ndarray, cols: list[np.ndarray], mean: np.ndarray | None, std: np.ndarray | None
) -> None:
    """Fill ``out`` (T, F) with the columns, z-scored and clipped when ``mean``/``std`` are given, in
    cache-sized chunks of rows: no (T, F) float64 temporaries."""
    n_rows, f = out.shape
    tmp = np.empty((min(CHUNK_ROWS, n_rows), f), order="F")
    for a in range(0, n_rows, CHUNK_ROWS):
        b = min(a + CHUNK_ROWS, n_rows)
        v = tmp[: b - a]
        for k, col in enumerate(cols):
            v[:, k] = col[a:b]
        if mean is not None and std is not None:
            v -= mean
            v /= std
            np.clip(v, -CLIP_SIGMA, CLIP_SIGMA, out=v)
        out[a:b] = v


def _per_asset(work: Callable[[int], dict[str, int]], n: int, cells: int) -> dict[str, int]:
    """Run ``work(j)`` for every asset (threads when the table is large); the summed replacement counts."""
    workers = min(n, os.cpu_count() or 1) if cells >= PARALLEL_MIN_CELLS else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            counts = list(pool.map(work, range(n)))
    else:
        counts = [work(j) for j in range(n)]
    replaced: dict[str, int] = {}
    for c in counts:
        for name, k in c.items():
            replaced[name] = replaced.get(name, 0) + k
    return replaced


def _featurise(
    frames: Mapping[str, pl.DataFrame],
    indicators: tuple[IndicatorSpec, ...],
    timeframe: str,
    normalisation: str,
    *,
    fit_end: int | None = None,
    stats: tuple[np.ndarray, np.ndarray] | None = None,
    segments: Sequence[tuple[int, int]] | None = None,
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, dict[str, Any]]:
    """Shared path: returns (dataset arrays, mean (N, F), std (N, F), info for spec.extra)."""
    fr = read_frames(frames)
    check_spacing(fr.times, timeframe)
    warmup = warmup_of(indicators)
    kept = _kept_blocks(fr.times, fr.source, warmup)
    # dataset row r of kept block i is frame row a_i + (r - starts[i])
    starts = [0, *itertools.accumulate(e - a for a, e in kept)]
    n_rows = starts.pop()
    n, f = len(fr.tickers), sum(len(s.outputs) for s in indicators)
    n_fit = n_rows if fit_end is None else sum(min(max(fit_end - a, 0), e - a) for a, e in kept)
    zscore = normalisation == "zscore"
    if stats is None and zscore and n_fit == 0:
        raise ValueError(
            f"fit_end={fit_end} leaves no training rows after the warm-up of {warmup} bars "
            f"(first usable row is {kept[0][0]})"
        )
    features = np.empty((n_rows, n, f), dtype=np.float32)
    prices = np.empty((n_rows, n))
    vol = np.empty((n_rows, n))
    mean = np.zeros((n, f)) if stats is None else np.array(stats[0], dtype=np.float64)
    std = np.ones((n, f)) if stats is None else np.array(stats[1], dtype=np.float64)

    def one_asset(j: int) -> dict[str, int]:
        replaced: dict[str, int] = {}
        cols, vol[:, j] = _asset_columns(fr.bars[j], kept, warmup, indicators, replaced)
        if zscore and stats is None:
            for k, col in enumerate(cols):
                sd = float(col[:n_fit].std())
                mean[j, k], std[j, k] = float(col[:n_fit].mean()), sd if sd > 1e-12 else 1.0
        _write_normalised(features[:, j, :], cols, mean[j] if zscore else None, std[j] if zscore else None)
        for r, (a, e) in zip(starts, kept, strict=True):
            prices[r : r + e - a, j] = fr.bars[j].close[a:e]
        return replaced

    replaced = _per_asset(one_asset, n, n_rows * n)
    step = timeframe_seconds(timeframe) * 1_000_000_000

    def gather(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x[a:e] for a, e in kept])

    caller = gather(_caller_labels(segments, len(fr.times))) if segments is not None else None
    times, source = gather(fr.times), gather(fr.source)
    arrays = {
        "times": times,
        "prices": prices,
        "features": features,
        "volatility": vol,
        "source": source,
        "segments": _segments(times, source, starts, step, caller),
    }
    info: dict[str, Any] = {
        "features_version": FEATURES_VERSION,
        "vol_window": VOL_WINDOW,
        "clip_sigma": CLIP_SIGMA if normalisation == "zscore" else None,
        "nonfinite_replaced": replaced,
    }
    if stats is None:
        info["fit_rows"] = n_fit
        info["fit_end_time"] = str(np.datetime64(int(times[n_fit - 1]), "ns")) + "Z" if n_fit else None
    return arrays, mean, std, info


def build_dataset(
    frames: Mapping[str, pl.DataFrame],
    cfg: FeaturesConfig,
    timeframe: str,
    fit_end: int | None = None,
    segments: Sequence[tuple[int, int]] | None = None,
) -> MarketDataset:
    """Features for aligned bar frames, normalisation fitted on rows ``< fit_end`` (all rows if None).

    ``fit_end`` and ``segments`` ([start, end) pairs) are row indices of the input frames; the dataset drops
    the warm-up rows, so its rows are a subset of the frames' (``dataset.times`` says which).
    """
    tf = normalise_timeframe(timeframe)
    indicators = resolve_indicators(cfg.indicators)
    arrays, mean, std, info = _featurise(
        frames, indicators, tf, cfg.normalisation, fit_end=fit_end, segments=segments
    )
    zscore = cfg.normalisation == "zscore"
    spec = FeatureSpec(
        tickers=tuple(frames),
        timeframe=tf,
        indicators=indicators,
        lookback=cfg.lookback,
        warmup=warmup_of(indicators),
        normalisation=cfg.normalisation,
        norm_mean=tuple(tuple(float(x) for x in r) for r in mean) if zscore else (),
        norm_std=tuple(tuple(float(x) for x in r) for r in std) if zscore else (),
        extra=info,
    )
    return MarketDataset(spec=spec, **arrays)


def apply_spec(
    frames: Mapping[str, pl.DataFrame],
    spec: FeatureSpec,
    *,
    timeframe: str | None = None,
    lookback: int | None = None,
    features: FeaturesConfig | None = None,
    segments: Sequence[tuple[int, int]] | None = None,
) -> MarketDataset:
    """Features for new data exactly as ``spec`` defines them, normalised with the stored statistics.

    What is checked against ``spec`` (all differences named in one :class:`FeatureSpecMismatch`): the frames'
    tickers in order; the timeframe (``timeframe`` if given, else the data's most common bar spacing); the
    indicators and parameters (``features.indicators`` if given); the lookback (``lookback``, else
    ``features.lookback``, if given). The first ``spec.warmup`` rows are dropped; give
    ``INFERENCE_HISTORY_BARS`` bars of history before the row you use so EMA-type indicators have forgotten
    their seed (the last row then equals the training run's exactly: tests measure it on the real sample).
    """
    fr_times = times_ns(next(iter(frames.values())), next(iter(frames))) if frames else np.array([], np.int64)
    inferred = infer_timeframe(fr_times)
    tf = normalise_timeframe(timeframe) if timeframe is not None else (inferred or spec.timeframe)
    problems: list[str] = []
    if timeframe is not None and inferred is not None and inferred != tf:
        problems.append(f"data bars are {inferred} apart but timeframe {tf} was given")
    indicators = resolve_indicators(features.indicators) if features is not None else spec.indicators
    if lookback is None:
        lookback = features.lookback if features is not None else spec.lookback
    candidate = FeatureSpec(
        tickers=tuple(frames),
        timeframe=tf,
        indicators=indicators,
        lookback=lookback,
        warmup=spec.warmup,
        normalisation=features.normalisation if features is not None else spec.normalisation,
    )
    try:
        spec.check_compatible(candidate)
    except FeatureSpecMismatch as exc:
        problems.insert(0, str(exc).removeprefix("FeatureSpec mismatch: "))
    try:
        for ind in spec.indicators:
            check_outputs(ind)
        if warmup_of(spec.indicators) != spec.warmup:
            problems.append(
                f"spec warm-up {spec.warmup} != {warmup_of(spec.indicators)} computed by this code"
            )
    except ValueError as exc:
        problems.append(str(exc))
    n, f = len(spec.tickers), spec.n_features
    zscore = spec.normalisation == "zscore"
    if zscore and (np.shape(spec.norm_mean) != (n, f) or np.shape(spec.norm_std) != (n, f)):
        problems.append(f"normalisation statistics are not {n} x {f} (tickers x features)")
    if problems:
        raise FeatureSpecMismatch("FeatureSpec mismatch: " + "; ".join(problems))
    stats = (np.asarray(spec.norm_mean), np.asarray(spec.norm_std)) if zscore else None
    arrays, _, _, _ = _featurise(
        frames, spec.indicators, spec.timeframe, spec.normalisation, stats=stats, segments=segments
    )
    return MarketDataset(spec=spec, **arrays)


def observation_window(dataset: MarketDataset, t: int, lookback: int | None = None) -> np.ndarray:
    """Features of the ``lookback`` bars ending at row ``t`` (inclusive), shape (lookback, N, F).

    ValueError if the window would reach before the start of ``t``'s segment (or ``t`` is in none).
    """
    lb = dataset.spec.lookback if lookback is None else lookback
    if lb < 1:
        raise ValueError(f"lookback must be >= 1, got {lb}")
    if not 0 <= t < dataset.n_bars:
        raise IndexError(f"row {t} outside [0, {dataset.n_bars})")
    seg = next(((s, e) for s, e in dataset.segments if s <= t < e), None)
    if seg is None:
        raise ValueError(f"row {t} is in no segment")
    if t - lb + 1 < seg[0]:
        raise ValueError(
            f"window of {lb} bars ending at row {t} starts before its segment [{seg[0]}, {seg[1]})"
        )
    return dataset.features[t - lb + 1 : t + 1]
