"""From quarterly CGE anchors to hourly multi-asset log-price paths (CGE.md section 4, recalibrated).

For asset a with beta_a (to BTC), F = ln Pc interpolated linearly between the quarter points:

    x_h = beta_a (F_h - F_0) + sum_{k < h} [ sigma_{a,k} z_{a,k} - lambda_R beta_a muJ_R + beta_a J_k ]

- the regime sets the drift through the anchor F; the hourly noise ACCUMULATES around it (a random walk around
  the anchor's drift, no pull-back), so the one-year dispersion follows the realised volatility. The median
  (and mean) log path follows the anchor: no convexity term, the jump compensation keeps E[x] on it;
- sigma2_{a,h} = sbar2_a q_{a,h}^2 V_h g_{a,h}: sbar2 the regime's target variance (the estimated volatility
  times the regime multiplier, less the jumps' share, times the fit's median correction); q the asset's
  hour-of-day x day-of-week volatility profile (mean square 1); V a SHARED slow volatility factor,
  ln V an AR(1) with half-life ``slow_half_life`` hours and stationary sd ``slow_vol_sd`` (E[V] = 1); g a
  unit-mean GARCH(1,1), g' = (1 - a - b) + (a z^2 + b) g;
- z: correlated fat-tailed shocks, z_a = k(nu_a) (L_R n)_a / sqrt(m_a), n standard normal, L_R the
  Cholesky factor of the estimated pairwise correlation matrix moved by the regime's offset, and m_a a
  chi-square(nu_a)/nu_a variate built from ONE standard normal per hour shared by all assets (Wilson-Hilferty,
  floored), so that tails arrive together, as crypto crashes do; k(nu) makes Var z = 1;
- J ~ Bernoulli(lambda_R) N(muJ_R, sdJ_R), common to all assets (scaled by beta).

alpha, beta, nu per asset and the shared slow-factor sd are moment-matched to real bars (:mod:`garch_fit`).
Scenarios are processed in batches (hour x scenario x asset); each scenario's random numbers come from its
own generator in a fixed draw order, so a path does not depend on its batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from cappuccino_core.cge.garch_fit import HOURS_PER_YEAR, HourlyCalibration
from cappuccino_core.cge.regimes import RegimeParams

MIN_DIFFUSION_SHARE = 0.25  # jumps may take at most 75% of the target variance
WH_FLOOR = 0.3  # floor of the Wilson-Hilferty cube root: caps a shock at ~1/0.3^1.5 x its scale
CLOCK_WEEKDAY = 0  # hour 0 of every scenario clock (2001-01-01) is a Monday 00:00 UTC


@dataclass(frozen=True)
class AssetArrays:
    """The calibration as arrays over a ticker list, in that order."""

    tickers: tuple[str, ...]
    vol: np.ndarray  # annualised normal-regime volatility (median of a simulated year)
    vol_correction: np.ndarray  # GARCH target / median realised volatility (garch_fit)
    alpha: np.ndarray
    beta_g: np.ndarray  # GARCH beta
    nu: np.ndarray
    beta_btc: np.ndarray
    corr: np.ndarray  # (N, N) estimated pairwise correlation
    profile: np.ndarray  # (168, N) hour-of-week volatility multiplier q (mean square 1)
    slow_sd: float
    slow_half_life: float

    @classmethod
    def from_calibration(cls, calib: HourlyCalibration, tickers: list[str] | tuple[str, ...]) -> AssetArrays:
        """The calibration's fits for ``tickers``, in that order (the correlation matrix reordered to
        match)."""
        fits = [calib.asset(t) for t in tickers]
        idx = [calib.tickers.index(t) for t in tickers]
        C = np.asarray(calib.corr_matrix, dtype=np.float64)[np.ix_(idx, idx)]
        return cls(
            tickers=tuple(tickers),
            vol=np.array([f.vol_annual for f in fits]),
            vol_correction=np.array([f.vol_correction for f in fits]),
            alpha=np.array([f.alpha for f in fits]),
            beta_g=np.array([f.beta for f in fits]),
            nu=np.array([f.nu for f in fits]),
            beta_btc=np.array([f.beta_btc for f in fits]),
            corr=C,
            profile=np.column_stack([week_profile(f.vol_profile_hod, f.vol_profile_dow) for f in fits]),
            slow_sd=calib.slow_vol_sd,
            slow_half_life=calib.slow_half_life,
        )

    @property
    def n(self) -> int:
        """Number of tickers."""
        return len(self.tickers)


def week_profile(hod: list[float] | np.ndarray, dow: list[float] | np.ndarray) -> np.ndarray:
    """(168,) multiplier by hour of the week from hour-of-day (24) and day-of-week (7, Monday first) factors,
    normalised to mean square 1."""
    q = np.outer(np.asarray(dow, dtype=np.float64), np.asarray(hod, dtype=np.float64)).ravel()
    return q / np.sqrt(np.mean(q * q))


def hour_of_week(hours: int, start_weekday: int = CLOCK_WEEKDAY) -> np.ndarray:
    """Hour of the week (0 = Monday 00:00) of each of ``hours`` hours from ``start_weekday`` 00:00."""
    return (start_weekday * 24 + np.arange(hours)) % 168


def anchor_path(ln_pc: np.ndarray, hours: int) -> np.ndarray:
    """F_h for h = 0..hours: ln Pc interpolated linearly; quarter q sits at hour q * hours / Q."""
    q = ln_pc.shape[0] - 1
    return np.interp(np.arange(hours + 1, dtype=np.float64), np.linspace(0.0, hours, q + 1), ln_pc)


def regime_corr(C: np.ndarray, R: RegimeParams) -> np.ndarray:
    """The estimated correlation matrix with its mean off-diagonal moved by ``R.rho_offset``: towards all
    ones (a convex combination with the ones matrix) for a positive offset, towards the identity for a
    negative one; positive definite either way."""
    n = C.shape[0]
    if n < 2 or R.rho_offset == 0:
        return C
    off = ~np.eye(n, dtype=bool)
    cbar = float(C[off].mean())
    if R.rho_offset > 0:
        w = min(R.rho_offset / max(1.0 - cbar, 1e-9), 0.95)
        return (1.0 - w) * C + w * np.ones_like(C)
    w = min(-R.rho_offset / max(cbar, 1e-9), 1.0)
    return (1.0 - w) * C + w * np.eye(n)


def _wh_base(zeta: np.ndarray, nu: np.ndarray) -> np.ndarray:
    c = 2.0 / (9.0 * nu)
    return np.maximum(1.0 - c + zeta * np.sqrt(c), WH_FLOOR)


def tail_norm(nu: np.ndarray) -> np.ndarray:
    """k(nu) = 1 / sqrt(E[1 / m]), m = base^3: the scale that makes the mixed shock's variance 1."""
    x = np.linspace(-9.0, 9.0, 7201)
    w = np.exp(-0.5 * x * x)
    w /= w.sum()
    inv = np.array([np.sum(w / _wh_base(x, v) ** 3) for v in np.atleast_1d(nu)])
    return 1.0 / np.sqrt(inv)


def tail_scale(zeta: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """k(nu) / sqrt(m(zeta, nu)) for a shared normal ``zeta`` (..., 1) and per-asset nu (N,)."""
    return tail_norm(nu) / _wh_base(zeta, nu) ** 1.5


def slow_factor(e: np.ndarray, sd: float, half_life: float) -> np.ndarray:
    """V = exp(y - sd^2 / 2), y a stationary AR(1) (half-life in hours, sd ``sd``) driven by normals e along
    axis 0: E[V] = 1."""
    if sd <= 0:
        return np.ones_like(e)
    phi = 0.5 ** (1.0 / half_life)
    e = e.copy()
    e[0] /= np.sqrt(1.0 - phi * phi)
    y = lfilter([sd * np.sqrt(1.0 - phi * phi)], [1.0, -phi], e, axis=0)
    return np.exp(y - 0.5 * sd * sd)


def garch_unit(z: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Unit-mean GARCH(1,1) variance g (H, ...) driven by unit shocks z (H, ...): g_0 = 1."""
    coef = alpha * np.square(z)
    coef += beta
    omega = 1.0 - alpha - beta
    g = np.empty_like(z)
    g[0] = 1.0
    for h in range(z.shape[0] - 1):
        np.multiply(coef[h], g[h], out=g[h + 1])
        g[h + 1] += omega
    return g


def diffusion_variance(aa: AssetArrays, R: RegimeParams) -> np.ndarray:
    """Per-hour GARCH target variance: the regime's volatility less the jumps' share (floored), scaled by
    the median-to-unconditional correction so that a typical simulated year shows the target volatility."""
    total = (aa.vol * R.vol_mult) ** 2 / HOURS_PER_YEAR
    jumps = R.jump_lambda * aa.beta_btc**2 * (R.jump_mu**2 + R.jump_sd**2)
    return np.maximum(total - jumps, MIN_DIFFUSION_SHARE * total) * aa.vol_correction**2


def draw_shocks(
    rng: np.random.Generator, aa: AssetArrays, R: RegimeParams, hours: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlated fat-tailed unit shocks z (hours, N), the slow factor's normals (hours,) and jumps (hours,),
    in a fixed draw order."""
    n = rng.standard_normal((hours, aa.n))
    zeta = rng.standard_normal((hours, 1))
    e_slow = rng.standard_normal(hours)
    L = np.linalg.cholesky(regime_corr(aa.corr, R))
    zc = np.zeros_like(n)
    for a in range(aa.n):  # explicit order: bit-identical whatever BLAS is underneath
        for k in range(a + 1):
            zc[:, a] += L[a, k] * n[:, k]
    zc *= tail_scale(zeta, aa.nu)
    hit = rng.random(hours) < R.jump_lambda
    size = rng.normal(R.jump_mu, R.jump_sd, size=hours)
    return zc, e_slow, np.where(hit, size, 0.0)


def simulate_batch(
    F: np.ndarray,
    regimes: list[RegimeParams],
    rngs: list[np.random.Generator],
    aa: AssetArrays,
    *,
    compensate_jumps: bool = True,
) -> np.ndarray:
    """Log-price paths x (S, H+1, N), x[:, 0] = 0, for anchors F (S, H+1). ``compensate_jumps=False``
    exists only to show what the compensation term prevents."""
    S, H = F.shape[0], F.shape[1] - 1
    N = aa.n
    zc = np.empty((H, S, N))
    e_slow = np.empty((H, S))
    J = np.empty((H, S, 1))
    sbar2 = np.empty((S, N))
    lam_mu = np.empty((S, 1))
    for s, (R, rng) in enumerate(zip(regimes, rngs, strict=True)):
        zc[:, s, :], e_slow[:, s], J[:, s, 0] = draw_shocks(rng, aa, R, H)
        sbar2[s] = diffusion_variance(aa, R)
        lam_mu[s, 0] = R.jump_lambda * R.jump_mu if compensate_jumps else 0.0
    sig2 = garch_unit(zc, aa.alpha, aa.beta_g)
    sig2 *= slow_factor(e_slow, aa.slow_sd, aa.slow_half_life)[:, :, None]
    sig2 *= np.square(aa.profile[hour_of_week(H)])[:, None, :]
    sig2 *= sbar2
    beta = aa.beta_btc
    Ft = F.T[:, :, None]  # (H+1, S, 1)
    u = np.sqrt(sig2)
    u *= zc
    u += beta * (np.diff(Ft, axis=0) - lam_mu + J)
    x = np.zeros((H + 1, S, N))
    np.cumsum(u, axis=0, out=x[1:])
    return np.ascontiguousarray(x.transpose(1, 0, 2))
