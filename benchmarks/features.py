"""Benchmark: the default feature set over 3 assets x 3.08M one-minute bars (about 5.9 years each).

Measured in one run, on the same seeded data:

- ``value``: ``build_dataset`` end to end (polars frames -> MarketDataset: all 16 default features with
  TA-Lib, warm-up drop, z-score fit on the first 85%, volatility, segments), wall seconds, the faster of
  two runs; ``cpu_s`` its CPU seconds (user + system, all threads). Target: < 10 s on 2 cores. CPU seconds
  bound the wall time on dedicated cores from above, so on a machine busy with other jobs (wall time
  inflated by waiting for a core; ``load_avg`` says how busy) the run passes if either is under target
  (``pass_by`` says which).
- ``baseline``: a plain pandas implementation of the same indicators (rolling / ewm, below), raw features
  only, seconds. HT_DCPHASE is left out of it (a recursive Hilbert-transform filter with no rolling/ewm
  form), so ``ratio = baseline / value`` compares pandas doing less work with TA-Lib doing all of it and
  normalising too; ``ratio_like_for_like`` compares the same 15 raw features on both sides.
- ``agree``: the pandas features match TA-Lib's on the last 100k bars (EMA seeds differ, so not the
  start): the baseline computes the same thing.

The data: per asset a geometric random walk with volatility clustering (AR(1) log-volatility) and rare
jumps, open = previous close, high/low outside open/close, log-normal volume; 0.1% of bars are
zero-volume flat placeholders and five 30-bar flat runs imitate outages, so the zero-range paths run too.

If the pandas baseline would take more than ``MAX_BASELINE_S`` over the full size it is timed on a slice
and scaled linearly (the output says so).

Usage: ``.venv/bin/python benchmarks/features.py [--bars N]``. Last line: JSON; exit 1 when it fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
from scipy.signal import lfilter

from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.features.indicators import BarArrays, compute_features, resolve_indicators

N_ASSETS = 3
N_BARS = 3_080_000
TARGET_S = 10.0
MAX_BASELINE_S = 120.0
REPEATS = 2  # the build is timed this many times; the fastest counts
SEED = 20240601


def make_bars(rng: np.random.Generator, n: int, price: float) -> dict[str, np.ndarray]:
    z = rng.standard_normal(n)
    # volatility clustering: log-vol is a slow AR(1), phi = 0.999, around 0.1% per minute
    logvol = lfilter([1.0], [1.0, -0.999], rng.standard_normal(n) * 0.02)
    sigma = 0.001 * np.exp(np.clip(logvol, -2, 2))
    ret = sigma * z
    jumps = rng.random(n) < 2e-5
    ret[jumps] += rng.normal(0, 0.05, jumps.sum())
    close = price * np.exp(np.cumsum(ret))
    open_ = np.r_[price, close[:-1]]
    wick = np.abs(rng.standard_normal(n)) * sigma * 0.5
    high = np.maximum(open_, close) * (1 + wick)
    low = np.minimum(open_, close) * (1 - wick)
    volume = rng.lognormal(2.0, 1.0, n)
    flat = rng.random(n) < 1e-3
    for s in rng.integers(100, n - 100, 5):
        flat[s : s + 30] = True
    flat[0] = False
    idx = np.flatnonzero(flat)
    # a placeholder repeats the previous close; runs repeat the close before the run
    prev = np.maximum.accumulate(np.where(~flat, np.arange(n), 0))
    p = close[prev[idx]]
    open_[idx] = high[idx] = low[idx] = close[idx] = p
    volume[idx] = 0.0
    after = idx + 1
    after = after[after < n]
    open_[after] = close[after - 1]
    high[after] = np.maximum(high[after], open_[after])
    low[after] = np.minimum(low[after], open_[after])
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


# --- the pandas baseline: the same indicators with rolling / ewm -------------------------------------


def pandas_features(o: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    c, h, lo, v = (pd.Series(o[k]) for k in ("close", "high", "low", "volume"))
    out: dict[str, pd.Series] = {}
    pc = c.shift(1)
    out["close_logret"] = np.log(c).diff()
    out["volume_log1p"] = np.log1p(v)
    d = c.diff()
    ag = d.clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    al = (-d).clip(lower=0).ewm(alpha=1 / 14, adjust=False).mean()
    out["rsi"] = 100 * ag / (ag + al)
    fast = c.ewm(span=12, adjust=False).mean()
    slow = c.ewm(span=26, adjust=False).mean()
    macd = fast - slow
    sig = macd.ewm(span=9, adjust=False).mean()
    out["macd_rel"], out["macd_signal_rel"], out["macd_hist_rel"] = macd / c, sig / c, (macd - sig) / c
    tp = (h + lo + c) / 3
    sma = tp.rolling(14).mean()
    md = sum((tp.shift(k) - sma).abs() for k in range(14)) / 14
    out["cci"] = ((tp - sma) / (0.015 * md)).where(md > 0, 0.0)
    tr = pd.concat([h, pc], axis=1).max(axis=1) - pd.concat([lo, pc], axis=1).min(axis=1)
    up, down = h.diff(), -lo.diff()
    pdm = up.where((up > down) & (up > 0), 0.0)
    mdm = down.where((down > up) & (down > 0), 0.0)
    str_ = tr.ewm(alpha=1 / 14, adjust=False).mean()
    pdi = 100 * pdm.ewm(alpha=1 / 14, adjust=False).mean() / str_
    mdi = 100 * mdm.ewm(alpha=1 / 14, adjust=False).mean() / str_
    dx = (100 * (pdi - mdi).abs() / (pdi + mdi)).where(pdi + mdi > 0, 0.0)
    out["dx"] = dx
    out["roc"] = c.pct_change(10) * 100
    bp = c - pd.concat([lo, pc], axis=1).min(axis=1)
    avgs = []
    for k in (7, 14, 28):
        trs = tr.rolling(k).sum()
        avgs.append((bp.rolling(k).sum() / trs).where(trs > 0, 0.5))
    out["ultosc"] = 100 * (4 * avgs[0] + 2 * avgs[1] + avgs[2]) / 7
    hh, ll = h.rolling(14).max(), lo.rolling(14).min()
    out["willr"] = (-100 * (hh - c) / (hh - ll)).where(hh > ll, -50.0)
    vs = v.rolling(14).sum()
    out["obv_flow"] = ((np.sign(d) * v).rolling(14).sum() / vs).where(vs > 0, 0.0)
    out["atr_rel"] = tr.ewm(alpha=1 / 14, adjust=False).mean() / c
    m20 = c.rolling(20).mean()
    out["bbwidth"] = 4 * c.rolling(20).std(ddof=0) / m20
    out["adx"] = dx.ewm(alpha=1 / 14, adjust=False).mean()
    return {k: s.to_numpy() for k, s in out.items()}


def timed(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process: user + system, all threads)."""
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out = fn(*args, **kwargs)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    return out, wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def _make_data(n: int) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, pl.DataFrame]]:
    """The seeded bars of the three assets, as arrays and as polars frames with a 1-minute time column."""
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    data = {
        t: make_bars(rng, n, p) for t, p in zip(("BTC", "ETH", "DOGE"), (30_000.0, 2_000.0, 0.1), strict=True)
    }
    start = datetime(2019, 1, 1, tzinfo=UTC)
    times = pl.datetime_range(
        start,
        start + timedelta(minutes=n - 1),
        timedelta(minutes=1),
        time_unit="us",
        time_zone="UTC",
        eager=True,
    )
    frames = {t: pl.DataFrame({"time": times, **o}) for t, o in data.items()}
    print(f"data: {N_ASSETS} assets x {n:,} 1m bars generated in {time.perf_counter() - t0:.1f} s")
    return data, frames


def _time_builds(frames: dict[str, pl.DataFrame], cfg: FeaturesConfig, n: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of ``REPEATS`` ``build_dataset`` runs."""
    builds = []
    for _ in range(REPEATS):
        ds, wall, cpu = timed(build_dataset, frames, cfg, "1m", fit_end=int(n * 0.85))
        builds.append((wall, cpu))
        print(
            f"TA-Lib build_dataset end to end: {wall:.2f} s wall, {cpu:.2f} s CPU -> features "
            f"{ds.features.shape} {ds.features.dtype}, NaN/inf {int((~np.isfinite(ds.features)).sum())}, "
            f"spec {ds.spec.content_hash()}"
        )
        del ds
    return min(builds)


def _time_pandas(
    data: dict[str, dict[str, np.ndarray]], n: int
) -> tuple[dict[str, dict[str, np.ndarray]], float, float, int, str]:
    """(features, wall s, CPU s, bars per asset run, how): the pandas baseline, sliced and scaled if slow."""
    # pandas: full size unless a slice says it would take too long
    probe = min(n, 200_000)
    _, probe_s, _ = timed(pandas_features, {k: a[:probe] for k, a in data["BTC"].items()})
    scaled = probe_s * n / probe * N_ASSETS > MAX_BASELINE_S
    m = probe if scaled else n  # bars per asset the baseline runs on
    pd_out, pandas_s, pandas_cpu = timed(
        lambda: {t: pandas_features({k: a[:m] for k, a in o.items()}) for t, o in data.items()}
    )
    pandas_s, pandas_cpu = pandas_s * n / m, pandas_cpu * n / m
    how = f"timed on {m:,} bars per asset and scaled linearly to {n:,}" if scaled else "full size"
    print(f"pandas baseline (15 features, {how}): {pandas_s:.2f} s wall, {pandas_cpu:.2f} s CPU")
    return pd_out, pandas_s, pandas_cpu, m, how


def _worst_difference(
    data: dict[str, dict[str, np.ndarray]],
    names: list[str],
    talib_raw: dict[str, np.ndarray],
    pd_out: dict[str, dict[str, np.ndarray]],
    m: int,
) -> tuple[float, str]:
    """(worst relative difference, where) of pandas vs TA-Lib on the baseline's last bars."""
    # agreement where the baseline ran, away from the start (EMA seeds differ there)
    tail = min(100_000, m // 2)
    worst, worst_name = 0.0, ""
    for t in data:
        for j, name in enumerate(names):
            a, b = talib_raw[t][m - tail : m, j], pd_out[t][name][-tail:]
            err = float(np.max(np.abs(a - b)) / (1.0 + np.max(np.abs(b))))
            if err > worst:
                worst, worst_name = err, f"{t} {name}"
    print(f"pandas vs TA-Lib on {tail:,} bars: worst relative difference {worst:.2e} ({worst_name})")
    return worst, worst_name


def main() -> int:
    """Time the build, TA-Lib raw and the pandas baseline, check they agree, print the JSON verdict."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=N_BARS)
    args = ap.parse_args()
    n = args.bars
    data, frames = _make_data(n)

    cfg = FeaturesConfig()
    load0 = os.getloadavg()[0]
    build_s, build_cpu = _time_builds(frames, cfg, n)

    specs = resolve_indicators(cfg.indicators)
    no_ht = tuple(s for s in specs if s.name != "ht_dcphase")
    bars = {
        t: BarArrays.from_arrays(*(o[k] for k in ("open", "high", "low", "close", "volume")))
        for t, o in data.items()
    }
    talib_raw, talib_s, talib_cpu = timed(lambda: {t: compute_features(b, no_ht) for t, b in bars.items()})
    print(
        f"TA-Lib raw features without HT_DCPHASE (15 features): {talib_s:.2f} s wall, {talib_cpu:.2f} s CPU"
    )
    pd_out, pandas_s, pandas_cpu, m, how = _time_pandas(data, n)
    worst, _ = _worst_difference(data, [o for s in no_ht for o in s.outputs], talib_raw, pd_out, m)
    agree = worst < 1e-6

    # CPU seconds (all threads) bound the wall time on dedicated cores from above; on a machine shared with
    # other jobs the wall time is inflated by waiting for a core, so either one meeting the target passes.
    load = max(load0, os.getloadavg()[0])
    busy = load > (os.cpu_count() or 1)
    fast = build_s < TARGET_S or build_cpu < TARGET_S
    pass_by = "wall" if build_s < TARGET_S else "cpu" if build_cpu < TARGET_S else None
    if busy:
        print(
            f"note: machine busy (load average {load:.1f} on {os.cpu_count()} CPUs): wall times are inflated"
        )
    ok = fast and agree
    result = {
        "metric": "features_build_seconds_3x3.08M_1m",
        "value": round(build_s, 3),
        "unit": "s",
        "cpu_s": round(build_cpu, 3),
        "baseline": round(pandas_s, 3),
        "baseline_cpu_s": round(pandas_cpu, 3),
        "baseline_kind": f"pandas rolling/ewm, 15 features (no HT_DCPHASE), {how}",
        "ratio": round(pandas_s / build_s, 2),
        "talib_raw_15_s": round(talib_s, 3),
        "ratio_like_for_like": round(pandas_s / talib_s, 2),
        "ratio_like_for_like_cpu": round(pandas_cpu / talib_cpu, 2),
        "agree": agree,
        "agree_worst_rel": worst,
        "target": f"< {TARGET_S} s",
        "pass": ok,
        "pass_by": pass_by,
        "load_avg": round(load, 1),
        "bars": n,
        "assets": N_ASSETS,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
