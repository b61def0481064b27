"""Moment matching for the hourly layer's GARCH-t + slow-factor process (used by garch_fit.fit_hourly).

For each asset, simulate one-year unit-variance paths of the scenario process (the same primitives as
``hourly``) at every point of a parameter grid (alpha, persistence, nu, slow-factor sd), compute the matched
moments (excess kurtosis, largest move in sd units, autocorrelation of |r| at 1/24/168 h), and keep the point
whose moments are closest to the real ones; the best few are re-judged on an independent, larger pilot so
that the winner is not the luckiest draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS_PER_YEAR = 8760.0
PILOT_PATHS, PILOT_SEED = 128, 20250701
SLOW_HALF_LIFE = 720.0  # hours: the shared slow volatility factor's half-life (a month)
GRID_ALPHA = (0.02, 0.04, 0.07, 0.11, 0.16)
GRID_PERSISTENCE = (0.90, 0.92, 0.935, 0.95, 0.97, 0.98, 0.99)
GRID_NU = (3.0, 4.0, 5.5, 8.0, 14.0)
GRID_SLOW = (0.0, 0.3, 0.5, 0.7, 0.9)  # sd of ln V
MOMENTS = ("excess_kurtosis", "max_move_sd", "acf_abs_1", "acf_abs_24", "acf_abs_168")
# Loss scale per moment: an error of this size (log ratio for the first two, absolute for the acfs) costs 1.
MOMENT_SCALE = {
    "excess_kurtosis": 0.3,
    "max_move_sd": 0.15,
    "acf_abs_1": 0.03,
    "acf_abs_24": 0.005,
    "acf_abs_168": 0.02,
}
PILOT_GRID_PATHS = 12
REJUDGE_TOP, REJUDGE_PATHS = 8, 64
PILOT_VOL_PATHS = 96  # paths of the pilot that sets vol_correction at the chosen parameters
CORR_ROUNDS = 2


def series_moments(r: np.ndarray) -> dict[str, np.ndarray]:
    """Matched moments of one-year series r (T, B): excess kurtosis, the largest |r| in sd units, acf of |r|
    at 1 / 24 / 168 h."""
    from scipy import stats

    a = np.abs(r)
    d = a - a.mean(axis=0)
    den = np.sum(d * d, axis=0)
    out = {
        "excess_kurtosis": stats.kurtosis(r, axis=0),
        "max_move_sd": a.max(axis=0) / r.std(axis=0),
    }
    for k in (1, 24, 168):
        out[f"acf_abs_{k}"] = np.sum(d[k:] * d[:-k], axis=0) / den
    return out


def moment_loss(sim: dict[str, np.ndarray], real: dict[str, float]) -> np.ndarray:
    """The matching loss per simulated candidate: squared errors over ``MOMENTS`` (log ratios for the tail
    moments)."""
    loss = np.zeros_like(sim["acf_abs_1"])
    for m in MOMENTS:
        if m in ("excess_kurtosis", "max_move_sd"):
            err = np.log(np.maximum(sim[m], 1e-3) / max(real[m], 1e-3))
        else:
            err = sim[m] - real[m]
        loss += (err / MOMENT_SCALE[m]) ** 2
    return loss


def pilot_returns(
    alpha: np.ndarray,
    beta: np.ndarray,
    nu: np.ndarray,
    slow_sd: float,
    profile: np.ndarray,
    paths: int,
    seed: int = PILOT_SEED,
    hours: int = int(HOURS_PER_YEAR),
) -> np.ndarray:
    """Unit-variance hourly returns (hours, B x paths) of the hourly layer's process (one asset) for B
    parameter points: the same primitives as the scenario simulation (``hourly``), fixed seed."""
    from cappuccino_core.cge.hourly import garch_unit, hour_of_week, slow_factor, tail_scale

    B = alpha.size
    rng = np.random.default_rng(seed)
    n = rng.standard_normal((hours, paths))
    zeta = rng.standard_normal((hours, paths))
    e = rng.standard_normal((hours, paths))

    def rep(v: np.ndarray) -> np.ndarray:
        return np.repeat(v, paths)

    scale = np.empty((hours, B * paths))
    for b in range(B):
        scale[:, b * paths : (b + 1) * paths] = tail_scale(zeta, np.array([nu[b]]))
    z = np.tile(n, B) * scale
    g = garch_unit(z, rep(alpha), rep(beta))
    v = np.tile(slow_factor(e, slow_sd, SLOW_HALF_LIFE), B)
    q2 = np.square(profile[hour_of_week(hours)])[:, None]
    return np.sqrt(g * v * q2) * z


@dataclass(frozen=True)
class MomentGrid:
    """The parameter points moment matching tries (tests use a small one)."""

    alpha: tuple[float, ...] = GRID_ALPHA
    persistence: tuple[float, ...] = GRID_PERSISTENCE
    nu: tuple[float, ...] = GRID_NU
    slow: tuple[float, ...] = GRID_SLOW


def _grid(grid: MomentGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mesh = np.meshgrid(grid.alpha, grid.persistence, grid.nu, indexing="ij")
    a, p, nu = (m.ravel() for m in mesh)
    return a, p - a, nu


def match_moments(
    real: dict[str, dict[str, float]],
    profiles: dict[str, np.ndarray],
    paths: int = PILOT_GRID_PATHS,
    grid: MomentGrid | None = None,
) -> tuple[float, dict[str, tuple[float, float, float, float, dict[str, float]]]]:
    """Grid moment matching: the shared slow-factor sd and, per asset, (alpha, beta, nu) minimising the
    distance between the medians of simulated one-year moments and the real ones. Returns (slow sd,
    {asset: (alpha, beta, nu, median realised vol / unconditional, simulated moments)})."""
    grid = grid or MomentGrid()
    a, b, nu = _grid(grid)
    best_total, best_sd = np.inf, 0.0
    losses: dict[str, np.ndarray] = {}
    for sd in grid.slow:
        per: dict[str, np.ndarray] = {}
        for t, tgt in real.items():
            r = pilot_returns(a, b, nu, sd, profiles[t], paths)
            m = {k: np.median(v.reshape(a.size, paths), axis=1) for k, v in series_moments(r).items()}
            per[t] = moment_loss(m, tgt)
        total = sum(float(v.min()) for v in per.values())
        if total < best_total:
            best_total, best_sd, losses = total, sd, per
    # Re-judge each asset's best grid points on a larger, independent pilot: the minimum of many noisy
    # losses is biased towards lucky points (the pick's moments would otherwise be optimistic).
    chosen: dict[str, tuple[float, float, float, float, dict[str, float]]] = {}
    for t, tgt in real.items():
        top = np.argsort(losses[t])[:REJUDGE_TOP]
        r = pilot_returns(a[top], b[top], nu[top], best_sd, profiles[t], REJUDGE_PATHS, seed=PILOT_SEED + 3)
        m = {k: np.median(v.reshape(top.size, REJUDGE_PATHS), axis=1) for k, v in series_moments(r).items()}
        j = int(np.argmin(moment_loss(m, tgt)))
        vol = np.median(r.std(axis=0).reshape(top.size, REJUDGE_PATHS), axis=1)[j]
        g = int(top[j])
        chosen[t] = (
            float(a[g]),
            float(b[g]),
            float(nu[g]),
            float(vol),
            {k: float(v[j]) for k, v in m.items()},
        )
    return best_sd, chosen
