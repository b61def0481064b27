"""Features and targets of the supervised signal models, on the one feature layer.

The TA-Lib set of ``[features]`` (through :func:`~cappuccino_core.features.builder.build_dataset`, warm-up
dropped, z-scored on training rows) plus the calendar features (``sessions.py``) and the market-state
features per asset (``market_state.py``), z-scored with statistics from the same training rows and clipped
like the TA-Lib set. One :class:`FeatureSpec` describes it all: the extra groups appear as indicators
``session`` and ``market_state`` (their parameters and output names), the target definition in
``spec.extra["supervised"]``; :func:`supervised_frame_features` with a stored spec recomputes the same
features for new data with the STORED statistics and refuses a different setup.

Only real data with strictly increasing times is accepted for training (the supervised models train on real
bars); inference may read synthetic bars (``synthetic_ok``: the CGE stress scenarios, whose OHLCV comes from
``cge.augment.synthetic_bars``, the same bars the RL policies are stressed and trained on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.config.supervised import SupervisedConfig
from cappuccino_core.features.builder import CLIP_SIGMA, apply_spec, build_dataset
from cappuccino_core.features.frames import read_frames
from cappuccino_core.features.market_state import MARKET_STATE_OUTPUTS, market_state_features
from cappuccino_core.features.sessions import SESSION_OUTPUTS, session_features
from cappuccino_core.features.spec import FeatureSpec, FeatureSpecMismatch, IndicatorSpec
from cappuccino_core.features.targets import direction_targets

EXTRA_GROUPS = ("session", "market_state")
SUPERVISED_VERSION = 1


@dataclass
class SupervisedData:
    """Aligned arrays for the supervised models: rows are bars after the warm-up."""

    times: np.ndarray  # (T,) int64 ns, bar open time
    close: np.ndarray  # (T, N)
    features: np.ndarray  # (T, N, F) float32, normalised, finite
    labels: np.ndarray  # (T, N) int8: 1 up, 0 down, -1 masked (dead zone, no future bar in the segment)
    volatility: np.ndarray  # (T, N) causal per-bar volatility (for the vol-scaled dead zone and the report)
    segments: list[tuple[int, int]]
    spec: FeatureSpec

    @property
    def n_bars(self) -> int:
        """Number of rows T (bars after the warm-up)."""
        return int(self.times.shape[0])

    @property
    def tickers(self) -> tuple[str, ...]:
        """The assets of the N columns, in order (from the spec)."""
        return self.spec.tickers


def _extra_specs(cfg: SupervisedConfig) -> tuple[IndicatorSpec, ...]:
    return (
        IndicatorSpec("session", (), SESSION_OUTPUTS),
        IndicatorSpec(
            "market_state", (("long", cfg.vol_long), ("short", cfg.vol_short)), MARKET_STATE_OUTPUTS
        ),
    )


def _extra_columns(
    frames: Mapping[str, pl.DataFrame], cfg_short: int, cfg_long: int, synthetic_ok: bool = False
) -> np.ndarray:
    """(T_frames, N, F_extra) raw extra features on every frame row."""
    fr = read_frames(frames)
    if np.any(np.diff(fr.times) <= 0):
        raise ValueError("supervised features need strictly increasing bar times (one real block)")
    if not synthetic_ok and (np.any(fr.source != fr.source[0]) or int(fr.source[0]) != 0):
        raise ValueError("supervised features are built on real bars only (source column says otherwise)")
    cal = session_features(fr.times)
    out = np.empty((len(fr.times), len(fr.tickers), cal.shape[1] + len(MARKET_STATE_OUTPUTS)))
    for j, b in enumerate(fr.bars):
        ms = market_state_features(b.close, b.high, b.low, b.volume, short=cfg_short, long=cfg_long)
        out[:, j, : cal.shape[1]] = cal
        out[:, j, cal.shape[1] :] = ms
    return out


def _rows_in_frames(frames: Mapping[str, pl.DataFrame], times: np.ndarray) -> np.ndarray:
    first = next(iter(frames.values()))
    ft = first["time"].dt.cast_time_unit("ns").to_physical().to_numpy().astype(np.int64)
    idx = np.searchsorted(ft, times)
    if np.any(idx >= len(ft)) or np.any(ft[np.minimum(idx, len(ft) - 1)] != times):
        raise ValueError("dataset rows do not map onto the frames' times")
    return idx


def _normalise(
    x: np.ndarray, fit_rows: int, stats: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-score (T, N, F) with stats from rows < fit_rows (or the given ones), clipped to +-CLIP_SIGMA."""
    if stats is None:
        if fit_rows < 2:
            raise ValueError(f"{fit_rows} training rows: too few to fit the normalisation")
        mean = x[:fit_rows].mean(axis=0)
        std = x[:fit_rows].std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
    else:
        mean, std = stats
    z = np.clip((x - mean) / std, -CLIP_SIGMA, CLIP_SIGMA)
    return z.astype(np.float32), mean, std


def build_supervised(
    frames: Mapping[str, pl.DataFrame],
    features: FeaturesConfig,
    cfg: SupervisedConfig,
    timeframe: str,
    fit_end: int | None = None,
    segments: Sequence[tuple[int, int]] | None = None,
) -> SupervisedData:
    """Training features and labels; normalisation fitted on frame rows ``< fit_end`` (all if None)."""
    base = build_dataset(
        frames,
        features.model_copy(update={"lookback": cfg.lookback}),
        timeframe,
        fit_end=fit_end,
        segments=segments,
    )
    return _assemble(frames, base.spec, base.times, base.features, base.prices, base.segments, cfg, fit_end)


def supervised_frame_features(
    frames: Mapping[str, pl.DataFrame],
    spec: FeatureSpec,
    segments: Sequence[tuple[int, int]] | None = None,
    *,
    synthetic_ok: bool = False,
) -> SupervisedData:
    """Features for new data exactly as the stored ``spec`` defines them (stored normalisation statistics);
    a different ticker list, timeframe, indicator set or window raises :class:`FeatureSpecMismatch`.
    ``synthetic_ok``: also read bars tagged synthetic (inference on stress scenarios; never training)."""
    sup = spec.extra.get("supervised")
    if not isinstance(sup, dict):
        raise FeatureSpecMismatch("FeatureSpec mismatch: the spec has no supervised section")
    cfg = SupervisedConfig.model_validate(sup["config"])
    ta = ta_spec(spec)
    f_ta = sum(len(i.outputs) for i in ta.indicators)
    mean, std = np.asarray(spec.norm_mean), np.asarray(spec.norm_std)
    base = apply_spec(frames, ta, segments=segments)
    stats = (mean[:, f_ta:], std[:, f_ta:])
    return _assemble(
        frames, spec, base.times, base.features, base.prices, base.segments, cfg, None, stats, synthetic_ok
    )


def ta_spec(spec: FeatureSpec) -> FeatureSpec:
    """The TA-Lib part of a supervised ``spec`` (its indicators and statistics without the extra groups): the
    spec :func:`~cappuccino_core.features.builder.apply_spec` builds the base features with."""
    sup = spec.extra.get("supervised")
    if not isinstance(sup, dict):
        raise FeatureSpecMismatch("FeatureSpec mismatch: the spec has no supervised section")
    cfg = SupervisedConfig.model_validate(sup["config"])
    n_ta = len(spec.indicators) - len(EXTRA_GROUPS)
    if tuple(i.name for i in spec.indicators[n_ta:]) != EXTRA_GROUPS or spec.indicators[
        n_ta:
    ] != _extra_specs(cfg):
        raise FeatureSpecMismatch("FeatureSpec mismatch: supervised feature groups differ from this code's")
    f_ta = sum(len(i.outputs) for i in spec.indicators[:n_ta])
    return replace(
        spec,
        indicators=spec.indicators[:n_ta],
        norm_mean=tuple(tuple(r[:f_ta]) for r in spec.norm_mean),
        norm_std=tuple(tuple(r[:f_ta]) for r in spec.norm_std),
    )


def _assemble(
    frames: Mapping[str, pl.DataFrame],
    base_spec: FeatureSpec,
    times: np.ndarray,
    ta: np.ndarray,
    close: np.ndarray,
    segments: list[tuple[int, int]],
    cfg: SupervisedConfig,
    fit_end: int | None,
    stats: tuple[np.ndarray, np.ndarray] | None = None,
    synthetic_ok: bool = False,
) -> SupervisedData:
    rows = _rows_in_frames(frames, times)
    raw = _extra_columns(frames, cfg.vol_short, cfg.vol_long, synthetic_ok)[rows]
    fit_rows = len(rows) if fit_end is None else int(np.count_nonzero(rows < fit_end))
    extra, mean, std = _normalise(raw, fit_rows, stats)
    vol = np.exp(raw[:, :, len(SESSION_OUTPUTS) + 1])  # log_vol_short -> vol_short
    labels = direction_targets(
        close, cfg.horizon, cfg.dead_zone, vol=vol, dead_zone_vol=cfg.dead_zone_vol, segments=segments
    )
    n_ta = len(base_spec.indicators) - (len(EXTRA_GROUPS) if stats is not None else 0)
    spec = base_spec
    if stats is None:  # training: extend the TA-Lib spec with the extra groups and their statistics
        ta_mean, ta_std = np.asarray(base_spec.norm_mean), np.asarray(base_spec.norm_std)
        spec = replace(
            base_spec,
            indicators=base_spec.indicators[:n_ta] + _extra_specs(cfg),
            lookback=cfg.lookback,
            norm_mean=tuple(tuple(float(v) for v in r) for r in np.concatenate([ta_mean, mean], axis=1)),
            norm_std=tuple(tuple(float(v) for v in r) for r in np.concatenate([ta_std, std], axis=1)),
            extra={**base_spec.extra, "supervised": _supervised_extra(cfg)},
        )
    feats = np.concatenate([ta, extra], axis=2).astype(np.float32)
    if not np.all(np.isfinite(feats)):
        raise ValueError("supervised features contain NaN/inf")
    return SupervisedData(times, close, feats, labels, vol, list(segments), spec)


def _supervised_extra(cfg: SupervisedConfig) -> dict[str, Any]:
    keys = ("horizon", "dead_zone", "dead_zone_vol", "lookback", "vol_short", "vol_long")
    return {"version": SUPERVISED_VERSION, "config": {k: getattr(cfg, k) for k in keys}}
