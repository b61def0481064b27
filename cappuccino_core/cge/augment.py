"""Training-data augmentation: 70% real / 30% synthetic, mixed at the level of whole training windows.

Rules (CGE.md section 5, LESSONS.md): real bars keep their timestamps and are never dropped (windows are cut
from the newest bar backwards, so the newest real data is always in; the oldest remainder is a shorter window,
kept); synthetic windows are ADDED next to them, tagged ``source = SOURCE_SYNTHETIC``, and keep their own
timestamps (the scenario's hourly clock, ``clock_start + hour``, before any real crypto bar); validation and
test folds stay real-only (:func:`assert_real_only`).

Synthetic bars get a full OHLCV so every TA indicator is meaningful on them: open = previous close; high/low
from the exact Brownian-bridge maximum/minimum given the bar's return, with the intra-bar volatility = the
fitted range scale x the path's own causal EWMA volatility; volume from the model fitted to real bars,
ln(quote volume) = c0 + c1 ln(|r| + 1e-4) + hour-of-day and day-of-week effects (on the bar's own clock) +
a slow plus a fast AR(1) (persistence at 1 / 24 / 168 h as the real residual's), divided by the close.

Handing windows to the features builder (``cappuccino_core.features.builder.build_dataset``): concatenate
them with :func:`concat_windows` (real windows first, in time order; synthetic windows after them, ordered so
that time drops at every window boundary) and call ``build_dataset(frames, cfg, "1h", fit_end=n_real_rows,
segments=segments)``. The builder restarts indicators wherever the source changes or time does not increase,
so each synthetic window is its own indicator block with its own warm-up, no feature mixes two windows or two
sources, each window is its own dataset segment (episodes never cross one), and with ``fit_end =
n_real_rows`` the normalisation is fitted on real rows only. Validation/test folds: the real frames after
the training cut-off, built with ``apply_spec``; never passed through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from scipy.signal import lfilter

from cappuccino_core.cge.garch_fit import ABS_RETURN_FLOOR, AssetFit, HourlyCalibration, ewma_sigma
from cappuccino_core.cge.store import CALIBRATION_FILE, ScenarioSet
from cappuccino_core.data.bars import BAR_SCHEMA, TIME
from cappuccino_core.features.dataset import SOURCE_REAL, SOURCE_SYNTHETIC

SOURCE = "source"
Window = dict[str, pl.DataFrame]


@dataclass(frozen=True)
class MixPlan:
    """How many synthetic training windows join the real ones, and the share aimed at."""

    n_real: int  # every real training window is kept
    n_synthetic: int  # synthetic windows added next to them
    target_ratio: float

    @property
    def ratio(self) -> float:
        """Realised synthetic share of all training windows."""
        total = self.n_real + self.n_synthetic
        return self.n_synthetic / total if total else 0.0


def mix_plan(n_real_windows: int, ratio: float = 0.3) -> MixPlan:
    """How many whole synthetic windows to add to ``n_real_windows`` real ones for a synthetic share of
    ``ratio`` (0.3 -> 3 synthetic per 7 real). Real windows are never dropped to make room."""
    if n_real_windows < 0 or not 0.0 <= ratio < 1.0:
        raise ValueError(f"need n_real_windows >= 0 and 0 <= ratio < 1; got {n_real_windows}, {ratio}")
    return MixPlan(n_real_windows, round(n_real_windows * ratio / (1.0 - ratio)), ratio)


def _aligned_times(frames: Window) -> pl.Series:
    first = next(iter(frames.values()))[TIME]
    for t, df in frames.items():
        if not df[TIME].equals(first):
            raise ValueError(f"real frames must be aligned (identical time columns); {t} differs")
    return first


def real_windows(frames: Window, window_len: int, *, train_end: datetime | None = None) -> list[Window]:
    """The real training rows (time < train_end, all rows if None) cut into whole windows of
    ``window_len`` bars from the newest bar backwards; the oldest remainder is a shorter window (kept).
    Rows are untouched apart from a ``source`` column (SOURCE_REAL)."""
    if window_len < 1:
        raise ValueError("window_len must be >= 1")
    times = _aligned_times(frames)
    n = len(times) if train_end is None else int((times < train_end).sum())
    bounds = [(max(0, e - window_len), e) for e in range(n, 0, -window_len)][::-1]
    tag = pl.lit(SOURCE_REAL, pl.UInt8).alias(SOURCE)
    return [{t: df.slice(s, e - s).with_columns(tag) for t, df in frames.items()} for s, e in bounds]


def ar1(phi: float, e: np.ndarray) -> np.ndarray:
    """Stationary unit-variance AR(1) driven by standard normals ``e``."""
    e = e.copy()
    e[0] /= np.sqrt(max(1.0 - phi * phi, 1e-12))
    return lfilter([np.sqrt(max(1.0 - phi * phi, 0.0))], [1.0, -phi], e)


def volume_noise(fit: AssetFit, rng: np.random.Generator, n: int) -> np.ndarray:
    """The volume residual u: a slow plus a fast stationary AR(1), total sd ``volume_sd``."""
    e = rng.standard_normal((2, n))
    w = fit.volume_w_slow
    return fit.volume_sd * (
        np.sqrt(w) * ar1(fit.volume_phi_slow, e[0]) + np.sqrt(1 - w) * ar1(fit.volume_phi, e[1])
    )


def synthetic_bars(
    close: np.ndarray, sigma: np.ndarray, fit: AssetFit, rng: np.random.Generator, times: pl.Series
) -> pl.DataFrame:
    """OHLCV for len(close) - 1 bars from a price path ``close`` (the first point is the first bar's open);
    ``sigma``: the path's causal per-bar volatility (len(close) - 1)."""
    opens, closes = close[:-1], close[1:]
    r = np.log(closes / opens)
    s = fit.range_scale * sigma
    u1, u2 = rng.random(r.size), rng.random(r.size)
    # exact maximum / minimum of a Brownian bridge from 0 to r with volatility s over one bar
    up = 0.5 * (r + np.sqrt(r * r - 2.0 * s * s * np.log1p(-u1)))
    down = 0.5 * (r - np.sqrt(r * r - 2.0 * s * s * np.log1p(-u2)))
    noise = volume_noise(fit, rng, r.size)
    hours = times.dt.hour().to_numpy()
    days = times.dt.weekday().to_numpy() - 1
    season = np.asarray(fit.volume_profile_hod)[hours] + np.asarray(fit.volume_profile_dow)[days]
    quote_volume = np.exp(
        fit.volume_c0
        + fit.volume_c1 * np.log(np.abs(r) + ABS_RETURN_FLOOR)
        + fit.volume_c2 * np.log(sigma)
        + season
        + noise
    )
    return pl.DataFrame(
        {
            TIME: times,
            "open": opens,
            "high": np.maximum(opens * np.exp(up), np.maximum(opens, closes)),
            "low": np.minimum(opens * np.exp(down), np.minimum(opens, closes)),
            "close": closes,
            "volume": quote_volume / closes,
            SOURCE: np.full(r.size, SOURCE_SYNTHETIC, dtype=np.uint8),
        },
        schema={**BAR_SCHEMA, SOURCE: pl.UInt8()},
    )


def _set_calibration(scenario_set: ScenarioSet) -> HourlyCalibration:
    return HourlyCalibration.load(scenario_set.path / CALIBRATION_FILE)


def synthetic_windows(
    scenario_set: ScenarioSet,
    tickers: list[str] | tuple[str, ...],
    n_windows: int,
    window_len: int,
    seed: int,
) -> list[Window]:
    """``n_windows`` windows of ``window_len`` hourly bars drawn from the set: scenario and start hour
    uniformly at random (``seed``), all tickers from the same scenario and hours. Timestamps are the
    scenario's own clock: ``clock_start + hour``."""
    missing = [t for t in tickers if t not in scenario_set.tickers]
    if missing:
        raise ValueError(f"scenario set {scenario_set.path.name} has no paths for {missing}")
    if not 1 <= window_len <= scenario_set.hours:
        raise ValueError(f"window_len must be in [1, {scenario_set.hours}]")
    calib = _set_calibration(scenario_set)
    cols = [scenario_set.tickers.index(t) for t in tickers]
    clock = datetime.fromisoformat(scenario_set.clock_start)
    rng = np.random.default_rng(seed)
    picks = [
        (
            int(rng.integers(scenario_set.n_scenarios)),
            int(rng.integers(0, scenario_set.hours - window_len + 1)),
        )
        for _ in range(n_windows)
    ]
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for sid, start in picks:
        if sid not in cache:
            p = scenario_set.prices(sid)[:, cols]
            sig = np.column_stack([ewma_sigma(np.diff(np.log(p[:, k]))) for k in range(len(cols))])
            cache[sid] = (p, sig)
        p, sig = cache[sid]
        t0 = clock + timedelta(hours=start)
        times = pl.datetime_range(t0, t0 + timedelta(hours=window_len - 1), "1h", eager=True, time_zone="UTC")
        times = times.dt.cast_time_unit("us").alias(TIME)
        out.append(
            {
                t: synthetic_bars(
                    p[start : start + window_len + 1, k],
                    sig[start : start + window_len, k],
                    calib.asset(t),
                    rng,
                    times,
                )
                for k, t in enumerate(tickers)
            }
        )
    return out


def concat_windows(windows: list[Window]) -> tuple[Window, list[tuple[int, int]], int]:
    """(frames per ticker, segments as row ranges, number of real rows) for the features builder.

    Real windows first, in time order; then synthetic windows by descending start time, so that time
    drops at every synthetic window boundary and the builder restarts its indicators there."""
    if not windows:
        raise ValueError("no windows")

    def kind(w: Window) -> int:
        return int(next(iter(w.values()))[SOURCE][0])

    def start(w: Window) -> datetime:
        return next(iter(w.values()))[TIME][0]

    real = sorted([w for w in windows if kind(w) == SOURCE_REAL], key=start)
    synth = sorted([w for w in windows if kind(w) == SOURCE_SYNTHETIC], key=start, reverse=True)
    ordered = real + synth
    tickers = list(ordered[0])
    frames = {t: pl.concat([w[t] for w in ordered], how="vertical_relaxed") for t in tickers}
    segments, row = [], 0
    for w in ordered:
        n = next(iter(w.values())).height
        segments.append((row, row + n))
        row += n
    n_real = sum(next(iter(w.values())).height for w in real)
    return frames, segments, n_real


def augment(
    frames: Window,
    scenario_set: ScenarioSet,
    window_len: int,
    *,
    ratio: float = 0.3,
    seed: int = 0,
    train_end: datetime | None = None,
) -> tuple[list[Window], MixPlan]:
    """Every real training window plus enough synthetic windows for a synthetic share of ``ratio``."""
    real = real_windows(frames, window_len, train_end=train_end)
    plan = mix_plan(len(real), ratio)
    synth = synthetic_windows(scenario_set, list(frames), plan.n_synthetic, window_len, seed)
    return real + synth, plan


def assert_real_only(frames: Window) -> None:
    """Raise ValueError if any bar is synthetic: validation and test folds must be real-only."""
    for t, df in frames.items():
        if SOURCE in df.columns and (df[SOURCE] != SOURCE_REAL).any():
            raise ValueError(f"{t}: synthetic bars in a validation/test fold")
