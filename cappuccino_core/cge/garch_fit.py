"""Estimating the hourly layer on real bars (:func:`fit_hourly`): per asset a GARCH(1,1)-t by ``arch`` (the
raw record), then the simulation's alpha, beta, nu and the shared slow volatility factor by moment matching
(:func:`match_moments`: a grid, simulated with the hourly layer's own primitives, against the median over
one-year windows of excess kurtosis, the largest move in sd units and the |r| autocorrelation at 1/24/168 h;
the best grid points re-judged on an independent pilot), hour-of-day / day-of-week volatility profiles, beta
to BTC, the pairwise correlation matrix (plus the shock correlation that reproduces it in simulation), the
volume model and the intra-bar range scale.

Input: frames per ticker (``generate.real_hourly`` reads the bar store, then the bundled sample
``{sample_dir}/{VENUE}_{BASE}{QUOTE}_1h.parquet``, then ``{real_dir}/{VENUE}_{BASE}{QUOTE}_1h.feather``).
Returns are hourly log returns over the most recent ``hours`` bars that all tickers share, only between
consecutive hours (a return across a missing bar is dropped, never stretched).

Volatility targeting: the level is the median realised volatility of the one-year windows; ``vol_correction``
makes the MEDIAN realised volatility of a simulated year equal it (a fixed-seed pilot at the chosen
parameters; exact because the process scales linearly with its target).

The fit is saved as JSON (:meth:`HourlyCalibration.save`) and reused: generating a scenario set does not
refit. The grid's persistence stays at or below ``PERSISTENCE_CAP`` (a stationary variance).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from cappuccino_core.cge.moment_match import (
    CORR_ROUNDS,
    HOURS_PER_YEAR,
    MOMENTS,
    PILOT_PATHS,
    PILOT_SEED,
    PILOT_VOL_PATHS,
    SLOW_HALF_LIFE,
    MomentGrid,
    match_moments,
    pilot_returns,
    series_moments,
)
from cappuccino_core.common.atomic import atomic_write_text
from cappuccino_core.data.bars import TIME
from cappuccino_core.data.sources.files import FileSource, read_bar_file
from cappuccino_core.data.symbols import parse_symbol

PERSISTENCE_CAP = 0.99  # half-life of a volatility shock ~69 hours
NU_BOUNDS = (2.5, 30.0)  # standardised Student-t needs nu > 2
REFERENCE = "BTC"  # the CGE's crypto price Pc is BTC's anchor; betas are to BTC
ABS_RETURN_FLOOR = 1e-4  # volume model regressor: ln(|r| + floor)
CALIBRATION_FORMAT = 2


@dataclass(frozen=True)
class AssetFit:
    """One ticker's hourly fit: the simulation's GARCH-t parameters, the raw arch fit, profiles, volume,
    moments."""

    ticker: str
    vol_annual: float  # sample volatility of hourly log returns, annualised (sqrt(8760))
    alpha: float  # GARCH alpha used by the simulation
    beta: float  # GARCH beta used by the simulation (persistence capped)
    nu: float  # tail parameter of the shocks (chi-square degrees of freedom of the mixing)
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
    vol_profile_hod: list[float]  # volatility multiplier by hour of day (UTC), mean square 1
    vol_profile_dow: list[float]  # by day of week, Monday first, mean square 1
    volume_profile_hod: list[float]  # additive ln(quote volume) effect by hour of day (mean 0)
    volume_profile_dow: list[float]  # by day of week (mean 0)
    volume_c2: float  # + c2 ln(causal EWMA sigma): volume follows the volatility regime
    volume_phi_slow: float  # volume residual u = slow AR(1) + fast AR(1) (phi = volume_phi)
    volume_w_slow: float  # share of Var u in the slow component
    moments_real: dict[str, float]  # the matched moments: real (median over one-year windows)
    moments_sim: dict[str, float]  # and simulated at the chosen parameters


@dataclass(frozen=True)
class HourlyCalibration:
    """The hourly layer's fit for a ticker set: per-asset fits, shock correlations, the window and its
    sources."""

    tickers: tuple[str, ...]
    assets: dict[str, AssetFit]
    corr: float  # mean pairwise correlation of GARCH-standardised residuals
    corr_matrix: list[list[float]]  # the shocks' correlation: the real one corrected for GARCH attenuation
    corr_matrix_real: list[list[float]]  # the pairwise correlation of real hourly returns
    window_start: str
    window_end: str
    hours: int
    sources: dict[str, str]  # ticker -> "file name sha256[:16]"
    arch_version: str
    slow_vol_sd: float = 0.0  # sd of ln V, the shared slow volatility factor
    slow_half_life: float = 720.0  # hours
    format: int = CALIBRATION_FORMAT
    notes: list[str] = field(default_factory=list)

    def asset(self, ticker: str) -> AssetFit:
        """One ticker's fit; KeyError naming the tickers the calibration has."""
        try:
            return self.assets[ticker]
        except KeyError:
            raise KeyError(
                f"hourly calibration has no fit for {ticker}; it has {list(self.assets)}"
            ) from None

    def covers(self, tickers: list[str] | tuple[str, ...]) -> bool:
        """Whether every ticker has a fit."""
        return all(t in self.assets for t in tickers)

    def to_dict(self) -> dict:
        """The calibration as JSON-ready values, with its content hash."""
        d = asdict(self)
        d["tickers"] = list(self.tickers)
        d["content_hash"] = self.content_hash()
        return d

    def content_hash(self) -> str:
        """sha256 of the calibration's values (key order fixed)."""
        d = asdict(self)
        d["tickers"] = list(self.tickers)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def save(self, path: str | Path) -> Path:
        """Write the calibration as JSON, atomically."""
        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> HourlyCalibration:
        """Read a saved calibration; ValueError when its format is not the current one (refit it)."""
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
            corr_matrix_real=d["corr_matrix_real"],
            window_start=d["window_start"],
            window_end=d["window_end"],
            hours=int(d["hours"]),
            sources=d["sources"],
            arch_version=d["arch_version"],
            slow_vol_sd=float(d["slow_vol_sd"]),
            slow_half_life=float(d["slow_half_life"]),
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


def vol_profile(r: np.ndarray, times: pl.Series) -> tuple[list[float], list[float]]:
    """Hour-of-day and day-of-week volatility multipliers (rms of r per bucket / overall), mean square 1."""
    hod = times.dt.hour().to_numpy()
    dow = times.dt.weekday().to_numpy() - 1  # polars: Monday = 1
    r2 = r * r
    base = r2.mean()
    h = np.array([np.sqrt(r2[hod == k].mean() / base) for k in range(24)])
    d = np.array([np.sqrt(r2[dow == k].mean() / base) for k in range(7)])
    h /= np.sqrt(np.mean(h * h))
    d /= np.sqrt(np.mean(d * d))
    return [float(x) for x in h], [float(x) for x in d]


def _acf(x: np.ndarray, k: int) -> float:
    d = x - x.mean()
    return float(np.sum(d[k:] * d[:-k]) / np.sum(d * d))


def _volume_model(r: np.ndarray, qv: np.ndarray, times: pl.Series, r_sim: np.ndarray | None = None) -> dict:
    """ln(quote volume) = c0 + c1 ln(|r| + floor) + c2 ln(EWMA sigma) + hour-of-day + day-of-week effects + u,
    u the sum of a slow and a fast AR(1). u's autocorrelation at 1 / 24 / 168 h is chosen so that the TOTAL
    log volume's matches the real one (medians over one-year windows, each demeaned) when the regressors come
    from the simulated returns ``r_sim`` (the hourly layer's own |r| and sigma dynamics; without it, u's
    autocorrelation is the real residual's)."""
    m = qv > 0
    hod = times.dt.hour().to_numpy()[m]
    dow = times.dt.weekday().to_numpy()[m] - 1
    x = np.log(np.abs(r[m]) + ABS_RETURN_FLOOR)
    xs = np.log(ewma_sigma(r))[m]
    y = np.log(qv[m])
    X = np.column_stack(
        [
            np.ones_like(x),
            x,
            xs,
            *[(hod == k).astype(float) for k in range(1, 24)],
            *[(dow == k).astype(float) for k in range(1, 7)],
        ]
    )
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    u = y - X @ coef
    hp = np.concatenate([[0.0], coef[3:26]])
    dp = np.concatenate([[0.0], coef[26:32]])
    c0 = float(coef[0] + hp.mean() + dp.mean())
    hp, dp = hp - hp.mean(), dp - dp.mean()
    chunks = [u[len(u) - (k + 1) * 8760 : len(u) - k * 8760] for k in range(max(1, len(u) // 8760))]
    chunks = [c for c in chunks if c.size > 400]
    lags = (1, 24, 168)
    target = np.array([np.median([_acf(c, k) for c in chunks]) for k in lags])
    var = float(np.median([np.var(c) for c in chunks]))
    if r_sim is not None:  # u's autocovariance = the real total's less the simulated regressors'
        n_sim = r_sim.size // 8760 * 8760
        hs = np.arange(n_sim)
        a_sim = (
            coef[1] * np.log(np.abs(r_sim[:n_sim]) + ABS_RETURN_FLOOR)
            + coef[2] * np.log(ewma_sigma(r_sim[:n_sim]))
            + hp[hs % 24]
            + dp[(hs // 24) % 7]
        ).reshape(-1, 8760)
        tot = y - coef[0]
        tchunks = [tot[len(tot) - (k + 1) * 8760 : len(tot) - k * 8760] for k in range(len(chunks))]
        acf_t = np.array([np.median([_acf(c, k) for c in tchunks]) for k in lags])
        var_a = float(np.mean(np.var(a_sim, axis=1)))
        cov_a = np.array([np.mean([_acf(c, k) * np.var(c) for c in a_sim]) for k in lags])
        target = np.clip((acf_t * (var_a + var) - cov_a) / var, 0.0, 0.999)
    pf = np.linspace(0.0, 0.97, 50)[:, None, None]
    ps = (0.5 ** (1.0 / np.geomspace(24, 50_000, 60)))[None, :, None]
    w = np.linspace(0.0, 1.0, 51)[None, None, :]
    model = np.stack([w * ps**k + (1 - w) * pf**k for k in lags])
    i = np.unravel_index(
        int(np.argmin(np.sum((model - target[:, None, None, None]) ** 2, axis=0))), model.shape[1:]
    )
    return {
        "volume_c0": c0,
        "volume_c1": float(coef[1]),
        "volume_c2": float(coef[2]),
        "volume_phi": float(pf.ravel()[i[0]]),
        "volume_phi_slow": float(ps.ravel()[i[1]]),
        "volume_w_slow": float(w.ravel()[i[2]]),
        "volume_sd": float(np.sqrt(var)),
        "volume_profile_hod": [float(v) for v in hp],
        "volume_profile_dow": [float(v) for v in dp],
    }


def _attenuation_corrected(C: np.ndarray, assets: dict[str, AssetFit], slow_sd: float) -> np.ndarray:
    """The shock correlation whose simulated returns show the real correlation ``C``: independent GARCH
    variances attenuate return correlation below the shocks'; one pilot year (fixed seed, normal regime, no
    anchor) measures the attenuation and the shock correlation is scaled up by it (positive definite)."""
    import dataclasses

    from cappuccino_core.cge.hourly import AssetArrays, simulate_batch
    from cappuccino_core.cge.regimes import REGIME_PARAMS

    n = C.shape[0]
    if n < 2:
        return C
    calib = HourlyCalibration(
        tickers=tuple(assets), assets=assets, corr=0.0, corr_matrix=C.tolist(), corr_matrix_real=C.tolist(),
        window_start="", window_end="", hours=0, sources={}, arch_version="", slow_vol_sd=slow_sd,
    )  # fmt: skip
    aa = AssetArrays.from_calibration(calib, list(assets))
    R = dataclasses.replace(REGIME_PARAMS["normal"], jump_lambda=0.0)
    off = ~np.eye(n, dtype=bool)
    out = C.copy()
    for _ in range(CORR_ROUNDS):  # fixed point: simulated return correlation = the real one
        aa = dataclasses.replace(aa, corr=out)
        rngs = [np.random.default_rng([PILOT_SEED, k]) for k in range(8)]
        x = simulate_batch(np.zeros((8, int(HOURS_PER_YEAR) + 1)), [R] * 8, rngs, aa)
        sim = np.median([np.corrcoef(np.diff(p, axis=0), rowvar=False) for p in x], axis=0)
        out[off] = np.clip(out[off] * C[off] / np.maximum(sim[off], 1e-3), -0.99, 0.99)
        w, v = np.linalg.eigh(out)
        out = (v * np.maximum(w, 1e-4)) @ v.T
        d = np.sqrt(np.diag(out))
        out = out / np.outer(d, d)
    return out


def _yearly_moments(
    R: np.ndarray, times: pl.Series, tickers: list[str]
) -> tuple[dict[str, dict[str, float]], dict[str, tuple[list[float], list[float]]], dict[str, float]]:
    """Per ticker: the median of each moment over the one-year windows (newest first), the hour-of-day and
    day-of-week volatility profile, and the median annualised volatility of the windows."""
    n_years = max(1, R.shape[0] // int(HOURS_PER_YEAR))
    year = int(HOURS_PER_YEAR) if R.shape[0] >= HOURS_PER_YEAR else R.shape[0]
    chunks = [slice(R.shape[0] - (k + 1) * year, R.shape[0] - k * year) for k in range(n_years)]
    real: dict[str, dict[str, float]] = {}
    vprof: dict[str, tuple[list[float], list[float]]] = {}
    year_vol: dict[str, float] = {}
    for k, t in enumerate(tickers):
        r = R[:, k]
        per = [series_moments(r[c, None]) for c in chunks]
        real[t] = {m: float(np.median([p[m][0] for p in per])) for m in MOMENTS}
        vprof[t] = vol_profile(r, times)
        year_vol[t] = float(np.median([np.std(r[c]) for c in chunks]) * np.sqrt(HOURS_PER_YEAR))
    return real, vprof, year_vol


def _arch_record(r: np.ndarray) -> tuple[float, float, float, float]:
    """The raw GARCH(1,1)-t maximum-likelihood fit by ``arch`` (percent returns), kept as the record:
    (alpha, beta, nu, omega)."""
    from arch import arch_model

    res = arch_model(100.0 * r, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False).fit(
        disp="off", show_warning=False
    )
    p = res.params
    return float(p["alpha[1]"]), float(p["beta[1]"]), float(p["nu"]), float(p["omega"])


def _pilot_corrections(
    chosen: dict[str, tuple[float, float, float, float, dict[str, float]]],
    slow_sd: float,
    profiles: dict[str, np.ndarray],
    year_vol: dict[str, float],
) -> dict[str, np.ndarray]:
    """Put each ticker's volatility ratio from a larger pilot into ``chosen`` (in place) and return two
    simulated years per asset at the chosen parameters: the volume fit's regressors."""
    for t, (a_, b_, nu_, _, sim_) in chosen.items():  # the volatility correction from a larger pilot
        one = (np.array([a_]), np.array([b_]), np.array([nu_]))
        rv = pilot_returns(*one, slow_sd, profiles[t], PILOT_VOL_PATHS, seed=PILOT_SEED + 1)
        chosen[t] = (a_, b_, nu_, float(np.median(rv.std(axis=0))), sim_)
    return {
        t: pilot_returns(np.array([a_]), np.array([b_]), np.array([nu_]), slow_sd, profiles[t], 2,
                         seed=PILOT_SEED + 2).T.ravel() * year_vol[t] / np.sqrt(HOURS_PER_YEAR) / ratio_
        for t, (a_, b_, nu_, ratio_, _) in chosen.items()
    }  # fmt: skip


def fit_hourly(
    frames: dict[str, pl.DataFrame],
    hours: int = 35040,
    sources: dict[str, str] | None = None,
    grid: MomentGrid | None = None,
) -> HourlyCalibration:
    """Fit every ticker's hourly layer on the last ``hours`` common bars: GARCH(1,1)-t by ``arch`` (kept as
    the raw record), then alpha, beta, nu and the shared slow volatility factor by moment matching
    (:func:`match_moments`: kurtosis, largest move, |r| autocorrelation at 1/24/168 h of one-year windows),
    volatility profiles, beta to BTC, the pairwise correlation matrix of hourly returns, the volume model
    and the range scale. The volatility level is the median realised volatility of the one-year windows.

    ``frames`` must contain a BTC ticker (the reference of the betas and of the CGE anchor).
    """
    import arch

    from cappuccino_core.cge.hourly import week_profile

    ref = [t for t in frames if base_asset(t) == REFERENCE]
    if not ref:
        raise ValueError(f"the hourly fit needs {REFERENCE} (the CGE anchor); got {list(frames)}")
    data, tickers = aligned_returns(frames, hours)
    R = np.column_stack([data[f"r_{k}"].to_numpy() for k in range(len(tickers))])
    times = data["time"]
    rb = R[:, tickers.index(ref[0])]
    notes: list[str] = []
    real, vprof, year_vol = _yearly_moments(R, times, tickers)
    profiles = {t: week_profile(*vprof[t]) for t in tickers}
    slow_sd, chosen = match_moments(real, profiles, grid=grid)
    r_sim = _pilot_corrections(chosen, slow_sd, profiles, year_vol)
    assets: dict[str, AssetFit] = {}
    for k, t in enumerate(tickers):
        a, b, nu, ratio, sim = chosen[t]
        r = R[:, k]
        alpha_raw, beta_raw, nu_raw, omega_raw = _arch_record(r)
        assets[t] = AssetFit(
            ticker=t,
            vol_annual=year_vol[t],
            alpha=a,
            beta=b,
            nu=nu,
            beta_btc=float(np.cov(r, rb)[0, 1] / np.var(rb, ddof=1)),
            alpha_raw=alpha_raw,
            beta_raw=beta_raw,
            nu_raw=nu_raw,
            omega_raw=omega_raw,
            range_scale=float(
                np.mean(data[f"hl_{k}"].to_numpy()) / (np.sqrt(8.0 / np.pi) * np.mean(ewma_sigma(r)))
            ),
            vol_correction=1.0 / ratio,
            n_obs=int(r.size),
            vol_profile_hod=vprof[t][0],
            vol_profile_dow=vprof[t][1],
            moments_real=real[t],
            moments_sim=sim,
            **_volume_model(r, data[f"qv_{k}"].to_numpy(), times, r_sim[t]),
        )
    C = np.corrcoef(R, rowvar=False)
    C_sim = _attenuation_corrected(C, assets, slow_sd)
    n = len(tickers)
    corr = float((C.sum() - n) / (n * (n - 1))) if n > 1 else 0.0
    return HourlyCalibration(
        tickers=tuple(tickers),
        assets=assets,
        corr=corr,
        corr_matrix=[[round(float(v), 6) for v in row] for row in np.atleast_2d(C_sim)],
        corr_matrix_real=[[round(float(v), 6) for v in row] for row in np.atleast_2d(C)],
        window_start=str(times.min()),
        window_end=str(times.max()),
        hours=int(data.height),
        sources=dict(sources or {}),
        arch_version=arch.__version__,
        slow_vol_sd=float(slow_sd),
        slow_half_life=SLOW_HALF_LIFE,
        notes=notes,
    )
