"""From quarterly CGE anchors to hourly multi-asset log-price paths (CGE.md section 4).

For asset a with beta_a (to BTC), F = ln Pc interpolated linearly between the quarter points:

    x_{h+1} = x_h + beta_a dF_h + kappa (beta_a (F_{h+1} - F_0) - x_h) - c sigma2_{a,h}
              - lambda_R beta_a muJ_R + sigma_{a,h} (L_R z_h)_a + beta_a J_h

- kappa = ln 2 / 336: a two-week half-life back to the anchor;
- c sigma2: the convexity correction, so that the mean PRICE follows exp(anchor). CGE.md writes sigma2/2, the
  random-walk value; around a mean-reverting anchor the gap's stationary variance is
  sigma2 / (2 kappa - kappa^2)
  and the correction that keeps E[exp(gap)] = 1 is c = 1 / (2 (2 - kappa)) ~ 1/4. With sigma2/2 the log
  price would sit sigma2 / (2 kappa) below its anchor: 0.05-0.09 for the alts in a crisis, with the fitted
  volatility; with 1/4 the log gap is half that and the price gap ~0;
- GARCH(1,1) with variance targeting: sigma2' = sbar2 (1 - a - b) + a eps^2 + b sigma2, eps = sigma (L z);
  a, b and the Student-t nu per asset are the ``arch`` fit (:mod:`garch_fit`); sbar is the asset's estimated
  volatility times the regime multiplier, less the jumps' share of the variance, times the fit's median
  correction, so that a typical simulated year shows the target volatility;
- z: independent standardised Student-t per asset; L_R: Cholesky of the equicorrelation matrix with the
  estimated correlation plus the regime offset;
- J ~ Bernoulli(lambda_R) N(muJ_R, sdJ_R), common to all assets (scaled by beta); the compensation term
  -lambda beta muJ keeps the path on its anchor (without it crisis paths drift off by ~1.75 log a year).

Scenarios are processed in batches (arrays hour x scenario x asset) so the GARCH recursion is one numpy
step per hour for the whole batch. Each scenario's random numbers come from its own generator, so a
scenario's path does not depend on which batch it is in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cappuccino_core.cge.garch_fit import HOURS_PER_YEAR, HourlyCalibration
from cappuccino_core.cge.regimes import RegimeParams

KAPPA = np.log(2.0) / 336.0
CONVEXITY = 1.0 / (2.0 * (2.0 - KAPPA))  # ~1/4: keeps the mean price on the anchor (see above)
RHO_BOUNDS = (0.0, 0.97)
MIN_DIFFUSION_SHARE = 0.25  # jumps may take at most 75% of the target variance


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
    corr: float

    @classmethod
    def from_calibration(cls, calib: HourlyCalibration, tickers: list[str] | tuple[str, ...]) -> AssetArrays:
        fits = [calib.asset(t) for t in tickers]
        return cls(
            tickers=tuple(tickers),
            vol=np.array([f.vol_annual for f in fits]),
            vol_correction=np.array([f.vol_correction for f in fits]),
            alpha=np.array([f.alpha for f in fits]),
            beta_g=np.array([f.beta for f in fits]),
            nu=np.array([f.nu for f in fits]),
            beta_btc=np.array([f.beta_btc for f in fits]),
            corr=calib.corr,
        )

    @property
    def n(self) -> int:
        return len(self.tickers)


def anchor_path(ln_pc: np.ndarray, hours: int) -> np.ndarray:
    """F_h for h = 0..hours: ln Pc interpolated linearly; quarter q sits at hour q * hours / Q."""
    q = ln_pc.shape[0] - 1
    return np.interp(np.arange(hours + 1, dtype=np.float64), np.linspace(0.0, hours, q + 1), ln_pc)


def regime_rho(base: float, R: RegimeParams) -> float:
    return float(np.clip(base + R.rho_offset, *RHO_BOUNDS))


def equicorr_cholesky(n: int, rho: float) -> np.ndarray:
    c = np.full((n, n), rho)
    np.fill_diagonal(c, 1.0)
    return np.linalg.cholesky(c)


def diffusion_variance(aa: AssetArrays, R: RegimeParams) -> np.ndarray:
    """Per-hour GARCH target variance: the regime's volatility less the jumps' share (floored), scaled by
    the median-to-unconditional correction so that a typical simulated year shows the target volatility."""
    total = (aa.vol * R.vol_mult) ** 2 / HOURS_PER_YEAR
    jumps = R.jump_lambda * aa.beta_btc**2 * (R.jump_mu**2 + R.jump_sd**2)
    return np.maximum(total - jumps, MIN_DIFFUSION_SHARE * total) * aa.vol_correction**2


def draw_shocks(
    rng: np.random.Generator, aa: AssetArrays, R: RegimeParams, rho: float, hours: int
) -> tuple[np.ndarray, np.ndarray]:
    """Correlated standardised t shocks (hours, N) and jumps (hours,), in a fixed draw order."""
    z = np.empty((hours, aa.n))
    for a in range(aa.n):
        nu = aa.nu[a]
        z[:, a] = rng.standard_t(nu, size=hours) * np.sqrt((nu - 2.0) / nu)
    L = equicorr_cholesky(aa.n, rho)
    zc = np.zeros_like(z)
    for a in range(aa.n):  # explicit order: bit-identical whatever BLAS is underneath
        for k in range(a + 1):
            zc[:, a] += L[a, k] * z[:, k]
    hit = rng.random(hours) < R.jump_lambda
    size = rng.normal(R.jump_mu, R.jump_sd, size=hours)
    return zc, np.where(hit, size, 0.0)


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
    J = np.empty((H, S, 1))
    sbar2 = np.empty((S, N))
    lam_mu = np.empty((S, 1))
    for s, (R, rng) in enumerate(zip(regimes, rngs, strict=True)):
        zc[:, s, :], J[:, s, 0] = draw_shocks(rng, aa, R, regime_rho(aa.corr, R), H)
        sbar2[s] = diffusion_variance(aa, R)
        lam_mu[s, 0] = R.jump_lambda * R.jump_mu if compensate_jumps else 0.0
    omega = sbar2 * (1.0 - aa.alpha - aa.beta_g)
    coef = aa.alpha * np.square(zc)
    coef += aa.beta_g
    sig2 = np.empty((H, S, N))
    sig2[0] = sbar2
    for h in range(H - 1):  # GARCH(1,1), vectorised over the batch
        np.multiply(coef[h], sig2[h], out=sig2[h + 1])
        sig2[h + 1] += omega
    del coef
    beta = aa.beta_btc
    Ft = F.T[:, :, None]  # (H+1, S, 1)
    u = beta * (np.diff(Ft, axis=0) + KAPPA * (Ft[1:] - Ft[0]))
    u -= CONVEXITY * sig2
    u -= beta * lam_mu
    u += np.sqrt(sig2) * zc
    u += beta * J
    x = np.zeros((H + 1, S, N))
    keep = 1.0 - KAPPA
    for h in range(H):  # x_{h+1} = (1 - kappa) x_h + u_h
        np.multiply(x[h], keep, out=x[h + 1])
        x[h + 1] += u[h]
    return np.ascontiguousarray(x.transpose(1, 0, 2))
