"""Estimating the hourly layer on real bars: GARCH(1,1)-t per asset (the ``arch`` package), beta to BTC,
cross-asset correlation, plus the volume and intra-bar range models the augmentation uses.

Input: the bundled real sample ``{sample_dir}/{VENUE}_{BASE}{QUOTE}_1h.parquet`` (canonical columns
time/open/high/low/close/volume) or, for a ticker not in it, ``{real_dir}/{VENUE}_{BASE}{QUOTE}_1h.feather``
(columns date/open/...), both read by ``cappuccino_core.data.sources.files``.
Returns are hourly log returns over the most recent ``hours`` bars that all tickers
share, only between consecutive hours (a return across a missing bar is dropped, never stretched).

Volatility targeting: with the fitted alpha and Student-t tails (nu ~ 3.3 for BTC) the realised volatility of
a simulated year is skewed: its median sits well below the process's unconditional volatility (0.6x for BTC).
The observed sample volatility is one such realisation, so each asset gets ``vol_correction``: the factor
that makes the MEDIAN realised volatility of a simulated year equal the estimated one (from a fixed-seed
pilot simulation of the fitted GARCH-t; exact because the GARCH scales linearly with its target).

The fit is saved as JSON (:meth:`HourlyCalibration.save`) and reused: generating a scenario set does not
refit. Hourly crypto GARCH fits sit on the IGARCH boundary (alpha + beta = 1 for BTC); simulation needs a
stationary variance, so persistence is capped at ``PERSISTENCE_CAP`` (beta lowered, alpha kept) and the raw
estimates are stored beside the capped ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from cappuccino_core.data.bars import TIME
from cappuccino_core.data.sources.files import FileSource, read_bar_file
from cappuccino_core.data.symbols import parse_symbol

HOURS_PER_YEAR = 8760.0
PERSISTENCE_CAP = 0.99  # half-life of a volatility shock ~69 hours
NU_BOUNDS = (2.5, 30.0)  # standardised Student-t needs nu > 2
REFERENCE = "BTC"  # the CGE's crypto price Pc is BTC's anchor; betas are to BTC
ABS_RETURN_FLOOR = 1e-4  # volume model regressor: ln(|r| + floor)
CALIBRATION_FORMAT = 1
PILOT_PATHS, PILOT_SEED = 128, 20250701


@dataclass(frozen=True)
class AssetFit:
    ticker: str
    vol_annual: float  # sample volatility of hourly log returns, annualised (sqrt(8760))
    alpha: float  # GARCH alpha used by the simulation
    beta: float  # GARCH beta used by the simulation (persistence capped)
    nu: float  # Student-t degrees of freedom (bounded to NU_BOUNDS)
    beta_btc: float  # OLS beta of hourly returns on BTC's
    alpha_raw: float
    beta_raw: float
    nu_raw: float
    omega_raw: float  # in (100 x return)^2 units, as arch reports it
    volume_c0: float  # ln(quote volume) = c0 + c1 ln(|r| + floor) + u, u AR(1)
    volume_c1: float
    volume_phi: float
    volume_sd: float  # sd of the AR(1) innovation
    range_scale: float  # mean ln(H/L) / (sqrt(8/pi) x EWMA sigma): Brownian range calibration
    vol_correction: float  # unconditional / median realised volatility of a simulated year (pilot)
    n_obs: int


@dataclass(frozen=True)
class HourlyCalibration:
    tickers: tuple[str, ...]
    assets: dict[str, AssetFit]
    corr: float  # mean pairwise correlation of GARCH-standardised residuals
    corr_matrix: list[list[float]]
    window_start: str
    window_end: str
    hours: int
    sources: dict[str, str]  # ticker -> "file name sha256[:16]"
    arch_version: str
    format: int = CALIBRATION_FORMAT
    notes: list[str] = field(default_factory=list)

    def asset(self, ticker: str) -> AssetFit:
        try:
            return self.assets[ticker]
        except KeyError:
            raise KeyError(
                f"hourly calibration has no fit for {ticker}; it has {list(self.assets)}"
            ) from None

    def covers(self, tickers: list[str] | tuple[str, ...]) -> bool:
        return all(t in self.assets for t in tickers)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tickers"] = list(self.tickers)
        d["content_hash"] = self.content_hash()
        return d

    def content_hash(self) -> str:
        d = asdict(self)
        d["tickers"] = list(self.tickers)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def save(self, path: str | Path) -> Path:
        from cappuccino_core.cge.store import atomic_write_text

        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> HourlyCalibration:
        d = json.loads(Path(path).read_text())
        if d.get("format") != CALIBRATION_FORMAT:
            raise ValueError(
                f"{path}: calibration format {d.get('format')} != {CALIBRATION_FORMAT}; refit it"
            )
        stored = d.pop("content_hash", None)
        cal = cls(
            tickers=tuple(d["tickers"]),
            assets={k: AssetFit(**v) for k, v in d["assets"].items()},
            corr=float(d["corr"]),
            corr_matrix=d["corr_matrix"],
            window_start=d["window_start"],
            window_end=d["window_end"],
            hours=int(d["hours"]),
            sources=d["sources"],
            arch_version=d["arch_version"],
            format=int(d["format"]),
            notes=list(d.get("notes", [])),
        )
        if stored is not None and stored != cal.content_hash():
            raise ValueError(f"{path}: content hash mismatch (edited by hand?); refit it")
        return cal


def base_asset(ticker: str) -> str:
    """'BTC/USDT', 'BTC-USDT', 'BTCUSDT' -> 'BTC' (the key of the price bands)."""
    return parse_symbol(ticker).base


def find_real_file(ticker: str, venue: str, sample_dir: Path | None, real_dir: Path | None) -> Path:
    """The ticker's 1h bar file in the bundled sample first, else in the shared real data."""
    tried = []
    for d in (sample_dir, real_dir):
        if d is None:
            continue
        try:
            return FileSource(d, venue).find(ticker, "1h")
        except FileNotFoundError as exc:
            tried.append(str(exc))
    raise FileNotFoundError(f"no real hourly bars for {ticker}: {'; '.join(tried) or 'no directory given'}")


def read_hourly(path: Path) -> pl.DataFrame:
    """A bar file in the canonical schema (``read_bar_file``), sorted by time, one row per time."""
    return read_bar_file(path).unique(TIME, keep="last").sort(TIME)


def load_real_hourly(
    tickers: list[str] | tuple[str, ...], venue: str, sample_dir: Path | None, real_dir: Path | None
) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """Frames per ticker plus a provenance string (file name + sha256 prefix) per ticker."""
    frames, sources = {}, {}
    for t in tickers:
        p = find_real_file(t, venue, sample_dir, real_dir)
        frames[t] = read_hourly(p)
        sources[t] = f"{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()[:16]}"
    return frames, sources


def aligned_returns(frames: dict[str, pl.DataFrame], hours: int) -> tuple[pl.DataFrame, list[str]]:
    """Rows of the last ``hours`` common bars; columns time, r_<i>, hl_<i>, qv_<i> per ticker (in order)."""
    tickers = list(frames)
    joined = None
    for k, t in enumerate(tickers):
        f = frames[t].select(
            "time",
            pl.col("close").log().diff().alias(f"r_{k}"),
            (pl.col("high") / pl.col("low")).log().alias(f"hl_{k}"),
            (pl.col("volume") * pl.col("close")).alias(f"qv_{k}"),
            (pl.col("time").diff() == pl.duration(hours=1)).alias(f"ok_{k}"),
        )
        joined = f if joined is None else joined.join(f, on="time", how="inner")
    assert joined is not None
    ok = pl.all_horizontal([pl.col(f"ok_{k}") for k in range(len(tickers))])
    joined = joined.filter(ok).drop([f"ok_{k}" for k in range(len(tickers))]).drop_nulls().sort("time")
    joined = joined.tail(hours)
    if joined.height < 2000:
        raise ValueError(
            f"only {joined.height} common consecutive hourly returns for {tickers}; need >= 2000"
        )
    return joined, tickers


def ewma_sigma(r: np.ndarray, lam: float = 0.94) -> np.ndarray:
    """Causal EWMA volatility (RiskMetrics), seeded with the sample variance of the first day."""
    from scipy.signal import lfilter

    v0 = float(np.var(r[:24])) if r.size >= 24 else float(np.var(r))
    var = lfilter([1.0 - lam], [1.0, -lam], np.square(r), zi=[lam * v0])[0]
    prev = np.concatenate([[v0], var[:-1]])  # sigma for bar h uses returns before h
    return np.sqrt(np.maximum(prev, 1e-16))


def median_vol_ratio(alpha: float, beta: float, nu: float, hours: int = int(HOURS_PER_YEAR)) -> float:
    """Median realised volatility of ``PILOT_PATHS`` simulated years of a unit-variance GARCH(1,1)-t."""
    rng = np.random.default_rng(PILOT_SEED)
    z = rng.standard_t(nu, size=(hours, PILOT_PATHS)) * np.sqrt((nu - 2.0) / nu)
    coef = alpha * z * z + beta
    omega = 1.0 - alpha - beta
    s2 = np.empty_like(z)
    s2[0] = 1.0
    for h in range(hours - 1):
        s2[h + 1] = omega + coef[h] * s2[h]
    return float(np.median(np.std(np.sqrt(s2) * z, axis=0)))


def _volume_model(r: np.ndarray, qv: np.ndarray) -> tuple[float, float, float, float]:
    m = qv > 0
    x = np.log(np.abs(r[m]) + ABS_RETURN_FLOOR)
    y = np.log(qv[m])
    c1, c0 = np.polyfit(x, y, 1)
    u = y - (c0 + c1 * x)
    phi = float(np.corrcoef(u[:-1], u[1:])[0, 1])
    phi = min(max(phi, 0.0), 0.99)
    sd = float(np.std(u[1:] - phi * u[:-1]))
    return float(c0), float(c1), phi, sd


def fit_hourly(
    frames: dict[str, pl.DataFrame], hours: int = 17520, sources: dict[str, str] | None = None
) -> HourlyCalibration:
    """Fit every ticker's GARCH(1,1)-t, beta to BTC, the cross-asset correlation, volume and range models.

    ``frames`` must contain a BTC ticker (the reference of the betas and of the CGE anchor).
    """
    import arch
    from arch import arch_model

    ref = [t for t in frames if base_asset(t) == REFERENCE]
    if not ref:
        raise ValueError(f"the hourly fit needs {REFERENCE} (the CGE anchor); got {list(frames)}")
    data, tickers = aligned_returns(frames, hours)
    R = np.column_stack([data[f"r_{k}"].to_numpy() for k in range(len(tickers))])
    ref_k = tickers.index(ref[0])
    rb = R[:, ref_k]
    notes: list[str] = []
    std_resid = np.empty_like(R)
    assets: dict[str, AssetFit] = {}
    for k, t in enumerate(tickers):
        r = R[:, k]
        res = arch_model(100.0 * r, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False).fit(
            disp="off", show_warning=False
        )
        p = res.params
        a_raw, b_raw, nu_raw = float(p["alpha[1]"]), float(p["beta[1]"]), float(p["nu"])
        a = min(a_raw, PERSISTENCE_CAP)
        b = max(0.0, min(b_raw, PERSISTENCE_CAP - a))
        if a + b < a_raw + b_raw - 1e-9:
            notes.append(f"{t}: persistence {a_raw + b_raw:.4f} capped at {PERSISTENCE_CAP}")
        nu = float(np.clip(nu_raw, *NU_BOUNDS))
        std_resid[:, k] = 100.0 * r / np.asarray(res.conditional_volatility)
        qv = data[f"qv_{k}"].to_numpy()
        c0, c1, phi, sd = _volume_model(r, qv)
        hl = data[f"hl_{k}"].to_numpy()
        range_scale = float(np.mean(hl) / (np.sqrt(8.0 / np.pi) * np.mean(ewma_sigma(r))))
        assets[t] = AssetFit(
            ticker=t,
            vol_annual=float(np.std(r) * np.sqrt(HOURS_PER_YEAR)),
            alpha=a,
            beta=b,
            nu=nu,
            beta_btc=float(np.cov(r, rb)[0, 1] / np.var(rb, ddof=1)),
            alpha_raw=a_raw,
            beta_raw=b_raw,
            nu_raw=nu_raw,
            omega_raw=float(p["omega"]),
            volume_c0=c0,
            volume_c1=c1,
            volume_phi=phi,
            volume_sd=sd,
            range_scale=range_scale,
            vol_correction=1.0 / median_vol_ratio(a, b, nu),
            n_obs=int(r.size),
        )
    C = np.corrcoef(std_resid, rowvar=False)
    n = len(tickers)
    corr = float((C.sum() - n) / (n * (n - 1))) if n > 1 else 0.0
    times = data["time"]
    return HourlyCalibration(
        tickers=tuple(tickers),
        assets=assets,
        corr=corr,
        corr_matrix=[[round(float(v), 6) for v in row] for row in np.atleast_2d(C)],
        window_start=str(times.min()),
        window_end=str(times.max()),
        hours=int(data.height),
        sources=dict(sources or {}),
        arch_version=arch.__version__,
        notes=notes,
    )
