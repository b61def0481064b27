"""Stylised facts of hourly crypto bars, synthetic beside real (``cappuccino cge describe --facts``).

Per one-year series (8760 hourly log returns r and quote volumes; a scenario, or a one-year window of real
bars cut from the newest bar backwards):

- ``ann_vol``: sd(r) annualised over the 8760 hours of a year; ``excess_kurtosis`` of r; ``max_move``:
  the largest |r|;
- ``acf_abs_1/24/168``: autocorrelation of |r| at 1, 24, 168 hours (volatility clustering);
- ``btc_eth_corr``: correlation of BTC's and ETH's hourly returns;
- ``volume_acf_1/24/168``: autocorrelation of log quote volume; ``volume_hod_ratio``: max / min of the mean
  quote volume by hour of day;

and over all one-year windows of a kind (synthetic: the scenarios of a regime; real: windows starting every
week): ``dispersion_1y`` (sd of the one-year log return), ``dispersion_ratio`` (that sd / the median
annualised volatility: 1 for a random walk, ~0.5 when the path is pulled back to an anchor) and
``share_above_100`` (share of one-year log returns above ln 2, i.e. +100%).

The real range of a per-year fact is its range over the one-year windows; of a per-set fact (dispersion,
share above +100%), its range over the real coins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from cappuccino_core.cge.garch_fit import HourlyCalibration
from cappuccino_core.cge.store import CALIBRATION_FILE, ScenarioSet

HOURS = 8760
LAGS = (1, 24, 168)
PER_YEAR = (
    "ann_vol",
    "excess_kurtosis",
    "max_move",
    "acf_abs_1",
    "acf_abs_24",
    "acf_abs_168",
    "btc_eth_corr",
    "volume_acf_1",
    "volume_acf_24",
    "volume_acf_168",
    "volume_hod_ratio",
)
PER_SET = ("dispersion_1y", "dispersion_ratio", "share_above_100")
FACTS = PER_YEAR + PER_SET
LABELS = {
    "ann_vol": "annualised volatility",
    "excess_kurtosis": "excess kurtosis of hourly log returns",
    "max_move": "largest 1 h move in a year (log)",
    "acf_abs_1": "autocorrelation of abs(r), lag 1 h",
    "acf_abs_24": "autocorrelation of abs(r), lag 24 h",
    "acf_abs_168": "autocorrelation of abs(r), lag 168 h",
    "btc_eth_corr": "BTC-ETH hourly return correlation",
    "volume_acf_1": "log-volume autocorrelation, lag 1 h",
    "volume_acf_24": "log-volume autocorrelation, lag 24 h",
    "volume_acf_168": "log-volume autocorrelation, lag 168 h",
    "volume_hod_ratio": "hour-of-day volume profile (max/min)",
    "dispersion_1y": "1-year log-return dispersion (sd)",
    "dispersion_ratio": "1-year dispersion / annualised volatility",
    "share_above_100": "share of 1-year returns above +100%",
}
# Facts the test suite holds the normal regime inside the real range for (the list).
HELD = (
    "excess_kurtosis",
    "max_move",
    "acf_abs_1",
    "acf_abs_24",
    "acf_abs_168",
    "btc_eth_corr",
    "dispersion_ratio",
    "volume_acf_1",
    "volume_acf_24",
    "volume_acf_168",
)


def acf(x: np.ndarray, lag: int, axis: int = 0) -> np.ndarray:
    """Sample autocorrelation at ``lag`` along ``axis`` (demeaned, normalised by the full variance)."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    d = x - x.mean(axis=0)
    den = np.sum(d * d, axis=0)
    return np.sum(d[lag:] * d[:-lag], axis=0) / np.where(den > 0, den, np.nan)


def hod_ratio(qv: np.ndarray, hour_of_day: np.ndarray) -> np.ndarray:
    """max / min over the 24 hours of the mean quote volume by hour of day; qv (T, ...) ."""
    means = np.stack([qv[hour_of_day == h].mean(axis=0) for h in range(24)])
    return means.max(axis=0) / means.min(axis=0)


def year_facts(
    r: np.ndarray, qv: np.ndarray, hour_of_day: np.ndarray, btc: int | None, eth: int | None
) -> dict[str, np.ndarray]:
    """Per-year facts of series r, qv (T, ..., N): returns arrays (..., N) (btc_eth_corr: (...,))."""
    a = np.abs(r)
    lv = np.log(np.maximum(qv, 1e-12))
    out = {
        "ann_vol": r.std(axis=0) * np.sqrt(HOURS),
        "excess_kurtosis": stats.kurtosis(r, axis=0),
        "max_move": a.max(axis=0),
        **{f"acf_abs_{k}": acf(a, k) for k in LAGS},
        **{f"volume_acf_{k}": acf(lv, k) for k in LAGS},
        "volume_hod_ratio": hod_ratio(qv, hour_of_day),
    }
    if btc is not None and eth is not None:
        rb, re = r[..., btc], r[..., eth]
        db, de = rb - rb.mean(axis=0), re - re.mean(axis=0)
        out["btc_eth_corr"] = np.sum(db * de, axis=0) / np.sqrt(np.sum(db**2, axis=0) * np.sum(de**2, axis=0))
    return out


@dataclass(frozen=True)
class FactTable:
    """Rows: fact x ticker x kind (real, or a regime): median, p05, p95 (per-year facts), lo/hi (real)."""

    rows: pl.DataFrame

    def value(self, kind: str, ticker: str, fact: str, col: str = "median") -> float:
        """One figure (``col``) of one fact for a ticker and kind; KeyError when the table lacks it."""
        f = self.rows.filter(
            (pl.col("kind") == kind) & (pl.col("ticker") == ticker) & (pl.col("fact") == fact)
        )
        if f.height != 1:
            raise KeyError(f"no {fact} for {ticker} ({kind})")
        return float(f[col][0])


def _rows(kind: str, ticker: str, vals: Mapping[str, np.ndarray | float]) -> list[dict]:
    rows = []
    for fact, v in vals.items():
        arr = np.atleast_1d(np.asarray(v, dtype=np.float64))
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            continue
        rows.append(
            {
                "kind": kind,
                "ticker": ticker,
                "fact": fact,
                "median": float(np.median(arr)),
                "p05": float(np.percentile(arr, 5)),
                "p95": float(np.percentile(arr, 95)),
                "lo": float(arr.min()),
                "hi": float(arr.max()),
                "n": int(arr.size),
            }
        )
    return rows


def _base(t: str) -> str:
    from cappuccino_core.cge.garch_fit import base_asset

    return base_asset(t)


def real_facts(frames: dict[str, pl.DataFrame], years: int = 4) -> list[dict]:
    """Facts of real hourly bars: the last ``years`` one-year windows (newest backwards) of every ticker.
    Dispersion facts: one-year log returns starting every 168 h over those years; their range over tickers."""
    out: list[dict] = []
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for t, df in frames.items():
        df = df.sort("time").unique("time", keep="last", maintain_order=True)
        full = pl.DataFrame(
            {"time": pl.datetime_range(df["time"][0], df["time"][-1], "1h", eager=True, time_zone="UTC")}
        ).with_columns(pl.col("time").dt.cast_time_unit(df["time"].dtype.time_unit))  # type: ignore[attr-defined]
        g = full.join(df, on="time", how="left").with_columns(
            pl.col("close").forward_fill(), pl.col("volume").fill_null(0.0)
        )
        g = g.tail(years * HOURS + 1)
        close = g["close"].to_numpy()
        series[t] = (
            g["time"].to_numpy(),
            np.diff(np.log(close)),
            (g["volume"] * g["close"]).to_numpy()[1:],
            g["time"].dt.hour().to_numpy()[1:],
        )
    tick = list(series)
    btc = next((t for t in tick if _base(t) == "BTC"), None)
    eth = next((t for t in tick if _base(t) == "ETH"), None)
    disp: dict[str, list[float]] = {f: [] for f in PER_SET}
    for t in tick:
        _, r, qv, hod = series[t]
        n_years = r.size // HOURS
        per: dict[str, list[float]] = {}
        for y in range(n_years):
            s = slice(r.size - (y + 1) * HOURS, r.size - y * HOURS)
            f = year_facts(r[s, None], qv[s, None], hod[s], None, None)
            for k, v in f.items():
                per.setdefault(k, []).append(float(v[0]))
        if t == btc and eth is not None:
            rb, re = series[btc][1], series[eth][1]
            m = min(rb.size, re.size)
            rb, re = rb[-m:], re[-m:]
            per["btc_eth_corr"] = [
                float(
                    np.corrcoef(
                        rb[m - (y + 1) * HOURS : m - y * HOURS], re[m - (y + 1) * HOURS : m - y * HOURS]
                    )[0, 1]
                )
                for y in range(m // HOURS)
            ]
        cum = np.concatenate([[0.0], np.cumsum(r)])
        starts = np.arange(0, r.size - HOURS + 1, 168)
        one = cum[starts + HOURS] - cum[starts]
        vol = float(np.median(per["ann_vol"]))
        dd: dict[str, float] = {
            "dispersion_1y": float(np.std(one)),
            "share_above_100": float(np.mean(one > np.log(2.0))),
        }
        dd["dispersion_ratio"] = dd["dispersion_1y"] / vol
        for k, x in dd.items():
            disp[k].append(x)
        out += _rows("real", t, {k: np.array(v) for k, v in per.items()})
        out += _rows("real", t, {k: np.array([x]) for k, x in dd.items()})
    # the range of the dispersion facts: over the real coins
    for k, xs in disp.items():
        out += _rows("real", "all", {k: np.array(xs)})
    return out


def synthetic_facts(
    prices: np.ndarray, volumes: np.ndarray, tickers: list[str], regimes: np.ndarray, clock_hour: int = 0
) -> list[dict]:
    """Facts per regime of scenario paths ``prices`` (S, H + 1, N) and quote volumes ``volumes`` (S, H, N)."""
    r = np.diff(np.log(prices), axis=1)  # (S, H, N)
    H = r.shape[1]
    hod = (clock_hour + np.arange(H)) % 24
    btc = next((k for k, t in enumerate(tickers) if _base(t) == "BTC"), None)
    eth = next((k for k, t in enumerate(tickers) if _base(t) == "ETH"), None)
    out: list[dict] = []
    for reg in dict.fromkeys(regimes.tolist()):
        m = regimes == reg
        rr = np.moveaxis(r[m], 1, 0)  # (H, S', N)
        f = year_facts(rr, np.moveaxis(volumes[m], 1, 0), hod, btc, eth)
        one = np.log(prices[m, -1] / prices[m, 0]) * (HOURS / H)
        for k, t in enumerate(tickers):
            vals = {fact: v[:, k] for fact, v in f.items() if fact != "btc_eth_corr"}
            if k == btc and "btc_eth_corr" in f:
                vals["btc_eth_corr"] = f["btc_eth_corr"]
            out += _rows(reg, t, vals)
            disp = float(np.std(one[:, k]))
            d = {
                "dispersion_1y": disp,
                "dispersion_ratio": disp / float(np.median(f["ann_vol"][:, k])),
                "share_above_100": float(np.mean(one[:, k] > np.log(2.0))),
            }
            out += _rows(reg, t, {kk: np.array([v]) for kk, v in d.items()})
    return out


def fact_table(rows: list[dict]) -> FactTable:
    """A :class:`FactTable` from row dicts."""
    return FactTable(pl.DataFrame(rows))


def real_range(table: FactTable, ticker: str, fact: str) -> tuple[float, float]:
    """The real range of a fact: over years (per-year facts) or over the real coins (dispersion facts)."""
    who = "all" if fact in PER_SET else ticker
    return table.value("real", who, fact, "lo"), table.value("real", who, fact, "hi")


def markdown(table: FactTable, ticker: str, kinds: list[str]) -> str:
    """The facts of ``ticker``: synthetic median (5-95%) per regime beside the real median [range]."""
    head = "| fact | " + " | ".join(f"synthetic {k}" for k in kinds) + " | real median [range] |"
    lines = [head, "|" + "---|" * (len(kinds) + 2)]
    for fact in FACTS:
        cells = []
        for k in kinds:
            try:
                med = table.value(k, ticker, fact)
                p05, p95 = table.value(k, ticker, fact, "p05"), table.value(k, ticker, fact, "p95")
                n = table.value(k, ticker, fact, "n")
            except KeyError:
                cells.append("-")
                continue
            cells.append(f"{med:.3g}" + (f" ({p05:.3g}..{p95:.3g})" if n > 1 else ""))
        try:
            lo, hi = real_range(table, ticker, fact)
            real = f"{table.value('real', ticker, fact):.3g} [{lo:.3g}..{hi:.3g}]"
        except KeyError:
            real = "-"
        lines.append(f"| {LABELS[fact]} | " + " | ".join(cells) + f" | {real} |")
    return "\n".join(lines)


def set_volumes(sset: ScenarioSet, prices: np.ndarray, seed: int = 0) -> np.ndarray:
    """Quote volumes (S, H, N) of the set's paths from the bar model the augmentation uses (seeded)."""
    from datetime import datetime, timedelta

    from cappuccino_core.cge.augment import synthetic_bars
    from cappuccino_core.cge.garch_fit import ewma_sigma

    calib = HourlyCalibration.load(sset.path / CALIBRATION_FILE)
    S, H1, N = prices.shape
    t0 = datetime.fromisoformat(sset.clock_start)
    times = pl.datetime_range(t0, t0 + timedelta(hours=H1 - 2), "1h", eager=True, time_zone="UTC")
    times = times.dt.cast_time_unit("us").alias("time")
    rng = np.random.default_rng(seed)
    out = np.empty((S, H1 - 1, N))
    for s in range(S):
        for k, t in enumerate(sset.tickers):
            p = prices[s, :, k]
            bars = synthetic_bars(p, ewma_sigma(np.diff(np.log(p))), calib.asset(t), rng, times)
            out[s, :, k] = (bars["volume"] * bars["close"]).to_numpy()
    return out


def describe_facts(sset: ScenarioSet, real_frames: dict[str, pl.DataFrame], years: int = 4) -> FactTable:
    """Synthetic (per regime) beside real facts for the set's tickers that have real bars."""
    prices = sset.all_prices()
    clock = int(pl.Series([sset.clock_start]).str.to_datetime().dt.hour()[0])
    rows = synthetic_facts(
        prices, set_volumes(sset, prices), list(sset.tickers), np.array(sset.regimes()), clock
    )
    return fact_table(rows + real_facts(real_frames, years))


def facts_plot(table: FactTable, ticker: str, path: str | Path) -> Path:
    """One panel per fact: the synthetic median and 5-95% range per regime beside the real range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in ("normal", "bull", "bear", "crisis") if (table.rows["kind"] == k).any()]
    facts = [f for f in FACTS if f != "share_above_100"]
    fig, axes = plt.subplots(3, 5, figsize=(15, 8))
    for ax, fact in zip(axes.ravel(), facts, strict=False):
        try:
            lo, hi = real_range(table, ticker, fact)
            ax.axhspan(lo, hi, color="tab:green", alpha=0.25, label="real range")
            ax.axhline(table.value("real", ticker, fact), color="tab:green", lw=1)
        except KeyError:
            pass
        for i, k in enumerate(kinds):
            try:
                med = table.value(k, ticker, fact)
                p05, p95 = table.value(k, ticker, fact, "p05"), table.value(k, ticker, fact, "p95")
            except KeyError:
                continue
            ax.errorbar([i], [med], yerr=[[med - p05], [p95 - med]], fmt="o", color="tab:blue", capsize=3)
        ax.set_xticks(range(len(kinds)), kinds, fontsize=7)
        ax.set_title(LABELS[fact], fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(facts) :]:
        ax.axis("off")
    fig.suptitle(f"{ticker}: synthetic (median, 5-95% per regime) vs real (green: range over years)")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=70)
    plt.close(fig)
    return out
