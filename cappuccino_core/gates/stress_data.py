"""The CGE stress input: every scenario of a set as one segment of ONE MarketDataset, features per spec.

Layout: scenario i's bars are rows [i x H', (i + 1) x H') of the frames handed to
``features.builder.apply_spec`` (H' bars per scenario at the model's timeframe); every scenario keeps the
set's clock (``clock_start + hour``), so time drops at each scenario boundary and the builder restarts its
indicators there (each scenario is its own block with its own warm-up, normalised with the statistics
stored in the model's FeatureSpec). The dataset's segments are then one per scenario, in scenario order,
and the step kernel runs one episode per segment: episode i reads scenario i, all stepped together.

Bars: OHLCV around the hourly path via ``cge.augment.synthetic_bars`` (the same bars training sees; the
set's hourly calibration, seeded). A model with a coarser timeframe (e.g. 4h) sees the path sampled every
k hours (its close-to-close returns are exact; high/low/volume are drawn at that bar size). A sub-hour model
(5m, 15m, 30m) sees each hour split into sub-bars by an explicit Brownian-bridge construction that keeps the
hourly closes (:func:`bridge_subhour`; what it does and does not model is in :func:`scenario_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from cappuccino_core.cge.augment import synthetic_bars
from cappuccino_core.cge.garch_fit import AssetFit, HourlyCalibration, ewma_sigma
from cappuccino_core.cge.store import CALIBRATION_FILE, MANIFEST, ScenarioSet
from cappuccino_core.data.bars import TIME
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.features.builder import apply_spec
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.features.spec import FeatureSpec


@dataclass
class ScenarioBatch:
    """Price paths of S scenarios: (S, H + 1, N) prices at the start of each hour, tickers in order."""

    ids: np.ndarray  # (S,) int scenario ids
    regimes: list[str]  # (S,) regime names
    prices: np.ndarray  # (S, H + 1, N) > 0
    tickers: tuple[str, ...]
    clock_start: datetime
    calibration: HourlyCalibration
    source: str = ""  # where the paths came from (scenario set path, version, content hash)

    def __post_init__(self) -> None:
        p = self.prices
        if p.ndim != 3 or p.shape[0] != len(self.ids) or p.shape[2] != len(self.tickers):
            raise ValueError(
                f"scenario prices must be (S={len(self.ids)}, H+1, N={len(self.tickers)}); got {p.shape}"
            )
        if len(self.regimes) != len(self.ids):
            raise ValueError(f"{len(self.regimes)} regimes for {len(self.ids)} scenarios")
        if not np.isfinite(p).all() or (p <= 0).any():
            raise ValueError("scenario prices must be finite and > 0")

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios S."""
        return int(self.prices.shape[0])

    def subset(
        self, tickers: tuple[str, ...], max_scenarios: int | None, max_hours: int | None
    ) -> ScenarioBatch:
        """The batch restricted to ``tickers`` (in that order), the first ``max_scenarios`` scenarios and
        the first ``max_hours`` hours (None: all); ValueError for a ticker it lacks."""
        missing = [t for t in tickers if t not in self.tickers]
        if missing:
            raise ValueError(f"scenario set {self.source or '?'} has no paths for {missing}")
        cols = [self.tickers.index(t) for t in tickers]
        s = slice(None, max_scenarios)
        h = slice(None, None if max_hours is None else max_hours + 1)
        return ScenarioBatch(
            self.ids[s], self.regimes[s], self.prices[s, h][:, :, cols], tuple(tickers),
            self.clock_start, self.calibration, self.source,
        )  # fmt: skip


def latest_set(output_dir: Path) -> Path:
    """The newest complete scenario set (a folder with a manifest) under ``output_dir``."""
    sets = [p for p in Path(output_dir).glob("*") if (p / MANIFEST).is_file()]
    if not sets:
        raise FileNotFoundError(
            f"no complete CGE scenario set under {output_dir}; run `cappuccino cge generate` first"
        )
    return max(sets, key=lambda p: (p / MANIFEST).stat().st_mtime)


def load_batch(path: Path) -> ScenarioBatch:
    """Every scenario of a stored set, in scenario_id order."""
    sset = ScenarioSet(path)
    meta = sset.scenarios.sort("scenario_id")
    clock = datetime.fromisoformat(sset.clock_start)
    return ScenarioBatch(
        ids=meta["scenario_id"].to_numpy().astype(np.int64),
        regimes=[str(r) for r in meta["regime"].to_list()],
        prices=sset.all_prices(),
        tickers=tuple(sset.tickers),
        clock_start=clock,
        calibration=HourlyCalibration.load(sset.path / CALIBRATION_FILE),
        source=f"{sset.path.name} (content {sset.content_hash[:12]})",
    )


def bridge_subhour(log_path: np.ndarray, sigma: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Log prices at k sub-bars per hour, (S, H x k + 1, N), from hourly log prices ``log_path`` (S, H + 1, N)
    and the hourly volatility ``sigma`` (S, H, N): within each hour a Brownian bridge from the hour's open to
    its close with variance sigma^2 / k per sub-bar. Every hourly point is kept exactly."""
    S, H1, N = log_path.shape
    H = H1 - 1
    w = rng.standard_normal((S, H, k, N)) * (sigma / np.sqrt(k))[:, :, None, :]
    W = np.cumsum(w, axis=2)  # (S, H, k, N): W_1..W_k
    frac = (np.arange(1, k + 1) / k)[None, None, :, None]
    start, end = log_path[:, :-1, None, :], log_path[:, 1:, None, :]
    sub = start + frac * (end - start) + W - frac * W[:, :, -1:, :]
    sub[:, :, -1, :] = log_path[:, 1:, :]  # the bridge ends exactly on the hour's close
    out = np.empty((S, H * k + 1, N))
    out[:, 0] = log_path[:, 0]
    out[:, 1:] = sub.reshape(S, H * k, N)
    return out


def subhour_fit(fit: AssetFit, k: int) -> AssetFit:
    """The hourly volume model at 1/k of an hour: quote volume per sub-bar ~ 1/k of the hour's, with the
    regressors ln|r| and ln sigma about 0.5 ln k lower at the sub-bar's volatility."""
    return replace(
        fit, volume_c0=fit.volume_c0 - np.log(k) + 0.5 * (fit.volume_c1 + fit.volume_c2) * np.log(k)
    )


def scenario_frames(batch: ScenarioBatch, timeframe: str, seed: int) -> tuple[dict[str, pl.DataFrame], int]:
    """Frames per ticker with every scenario's bars one after another; returns (frames, bars per scenario).

    Timeframes of whole hours sample the hourly path every k hours. Sub-hour timeframes that divide the hour
    (5m, 15m, 30m, ...) get k = 3600 / seconds sub-bars per hour by :func:`bridge_subhour`: the hourly
    closes are kept exactly and the hour's move is spread over its sub-bars as a Brownian bridge at the path's
    own hourly volatility. That is an explicit construction, not data: sub-hour tails, microstructure and
    intraday seasonality are not modelled (the sub-bar returns are Gaussian given the hour), so a sub-hour
    model's stress verdict tests how it handles the scenarios' hourly moves and regimes, not sub-hour
    microstructure. Any other timeframe is refused with the reason."""
    secs = timeframe_seconds(timeframe)
    if secs % 3600 and 3600 % secs:
        raise ValueError(
            f"stress needs a timeframe that is a whole number of hours or divides the hour (paths are "
            f"hourly); the model uses {timeframe}"
        )
    rng = np.random.default_rng(seed)
    if secs < 3600:
        k = 3600 // secs
        logp = np.log(batch.prices)
        sig = np.stack(
            [
                np.column_stack([ewma_sigma(np.diff(logp[s, :, a])) for a in range(logp.shape[2])])
                for s in range(logp.shape[0])
            ]
        )
        path = np.exp(bridge_subhour(logp, sig, k, np.random.default_rng([seed, k])))
        fits = {t: subhour_fit(batch.calibration.asset(t), k) for t in batch.tickers}
    else:
        path = batch.prices[:, :: secs // 3600]  # (S, H'+1, N)
        fits = {t: batch.calibration.asset(t) for t in batch.tickers}
    n_bars = path.shape[1] - 1
    if n_bars < 2:
        raise ValueError(f"scenario paths of {batch.prices.shape[1] - 1} hours hold < 2 {timeframe} bars")
    t0 = batch.clock_start
    times = pl.datetime_range(
        t0, t0 + timedelta(seconds=secs * (n_bars - 1)), f"{secs}s", eager=True, time_zone="UTC",
    ).dt.cast_time_unit("us").alias(TIME)  # fmt: skip
    frames: dict[str, list[pl.DataFrame]] = {t: [] for t in batch.tickers}
    for s in range(batch.n_scenarios):
        for k, t in enumerate(batch.tickers):
            p = path[s, :, k]
            sigma = ewma_sigma(np.diff(np.log(p)))
            frames[t].append(synthetic_bars(p, sigma, fits[t], rng, times))
    return {t: pl.concat(v) for t, v in frames.items()}, n_bars


def stress_dataset(batch: ScenarioBatch, spec: FeatureSpec, seed: int = 0) -> MarketDataset:
    """One MarketDataset, one segment per scenario (scenario order), features exactly as ``spec`` says."""
    sub = batch.subset(spec.tickers, None, None)
    frames, n_bars = scenario_frames(sub, spec.timeframe, seed)
    return frames_dataset(frames, n_bars, sub.n_scenarios, spec)


def frames_dataset(
    frames: dict[str, pl.DataFrame], n_bars: int, n_scenarios: int, spec: FeatureSpec
) -> MarketDataset:
    """The dataset of :func:`scenario_frames`' output (``n_scenarios`` blocks of ``n_bars`` rows), one
    segment per scenario in scenario order, features per ``spec``."""
    segments = [(i * n_bars, (i + 1) * n_bars) for i in range(n_scenarios)]
    data = apply_spec(frames, spec, timeframe=spec.timeframe, segments=segments)
    if len(data.segments) != n_scenarios:
        raise ValueError(
            f"stress dataset has {len(data.segments)} segments for {n_scenarios} scenarios: a scenario "
            f"path is too short for the warm-up ({spec.warmup} bars) or has gaps"
        )
    return data
