"""Recursive dynamics (CGE.md section 3): quarter t's solution and shocks set quarter t+1's exogenous state.

- ln A_j,{t+1} = ln A_j + beta_j g_R/4 + (sigma_R/2) e_tfp: g_R is trend labour-productivity growth (the
  beta_j scaling makes Hicks-neutral A_j equivalent to labour-augmenting progress, so every sector can grow
  at the same rate); the shock is common to all sectors
- rp_{t+1} = rp + rho (rp0 + gap_R - rp) + sigma_rp e_rp ; eps_m, mu, nu: AR(1) towards regime means
- K_{t+1} = (1 - delta/4) K + sh I/4, sh_j ~ K_j (rk_j / mean rk)^zeta
- w_{t+1} = w (1 + pi_e/4) exp((g_R - phi_w (U - U0)) / 4): CGE.md's
  w [1 + pi_e + g_A - phi_w (U - U0)] in exact quarterly form, so a balanced growth path is solved
  exactly; nominal wage growth is floored at
  ModelParams.wage_floor (downward nominal rigidity)
- pi_e_{t+1} = (pi_4q + pi*) / 2, pi_4q = inflation over the last four quarters (CGE.md writes pi; with the
  quarter's annualised inflation a crisis at the zero lower bound becomes a deflationary collapse: a -9%
  annualised quarter moves expectations 4.5 points and the real rate with them); CPI_{-1} <- CPI
- labour force grows at n_R; G and I0 grow with potential output (g_R + n_R), so "normal" grows instead of
  staying flat; the coin supply grows by its issuance; adoption by its drift.

The benchmark sits on the normal regime's balanced growth path (calibrate.ModelParams.trend_growth): with
zero shocks, the normal regime grows at g_R + n_R with U, inflation and the policy rate constant.

Shocks are standard normals drawn up front, one row per quarter in the order of ``regimes.SHOCKS``; a test
passes its own (zeros for the business-as-usual path, one shock for an impulse response).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cappuccino_core.cge.calibrate import Calibration, Exo
from cappuccino_core.cge.equilibrium import Solution, unpack
from cappuccino_core.cge.regimes import SHOCKS, RegimeParams
from cappuccino_core.cge.solver import HOMOTOPY_STEPS, TOL, SolveStats, max_residual, solve_period

# Columns of a macro path, one row per quarter (row 0 = the benchmark the scenario starts from).
MACRO_COLUMNS = (
    "gdp",
    "consumption",
    "investment",
    "government",
    "unemployment",
    "inflation",
    "policy_rate",
    "real_rate",
    "risk_premium",
    "cpi",
    "wage",
    "ln_pc",
    "pk",
    "capital",
    "tfp",
    "money_growth",
    "sentiment",
    "monetary_shock",
    "labour_force",
    "max_residual",
    "walras",
    "method",
)
METHOD_CODE = {"benchmark": 0, "direct": 1, "homotopy": 2, "failed": 3}


@dataclass
class MacroPath:
    """One scenario's quarterly macro path (columns ``MACRO_COLUMNS``) and how its periods were solved."""

    regime: str
    values: np.ndarray  # (Q + 1, len(MACRO_COLUMNS)) float64
    converged: bool
    stats: SolveStats

    def col(self, name: str) -> np.ndarray:
        """One macro column over the quarters."""
        return self.values[:, MACRO_COLUMNS.index(name)]

    @property
    def ln_pc(self) -> np.ndarray:
        """ln Pc, the crypto anchor, over the quarters."""
        return self.col("ln_pc")


def transition(
    cal: Calibration,
    R: RegimeParams,
    exo: Exo,
    sol: Solution,
    e: np.ndarray,
    pi_4q: float,
    pi_3q: float | None = None,
) -> Exo:
    """Next quarter's exogenous state from this quarter's state and solution, the shocks e (len(SHOCKS),),
    pi_4q, the mean annualised inflation of the last four quarters (this one included), and pi_3q, that of
    the last three (the Taylor rule's history next quarter; default pi_4q)."""
    prm = cal.params
    grow = np.exp((R.tfp_growth + R.labour_growth) / 4.0)  # potential output, one quarter
    rk_rel = sol.rk / sol.rk.mean()
    sh = exo.K * rk_rel**prm.zeta
    sh = sh / sh.sum()
    wage_factor = (1.0 + exo.pi_e / 4.0) * np.exp((R.tfp_growth - prm.phi_w * (sol.U - prm.U0)) / 4.0)
    return Exo(
        w=exo.w * max(wage_factor, np.exp(prm.wage_floor / 4.0)),
        cpi_prev=sol.CPI,
        pi_e=0.5 * (pi_4q + prm.pi_star),
        A=exo.A * np.exp(cal.beta * R.tfp_growth / 4.0 + 0.5 * R.tfp_sigma * e[0]),
        K=(1.0 - cal.delta / 4.0) * exo.K + sh * sol.I / 4.0,
        Lbar=exo.Lbar * np.exp(R.labour_growth / 4.0),
        rp=exo.rp + R.rho_rp * (prm.rp0 + R.rp_gap - exo.rp) + R.sigma_rp * e[1],
        eps_m=R.rho_m * exo.eps_m + (1.0 - R.rho_m) * R.m_mean + R.sigma_m * e[2],
        mu=R.rho_mu * exo.mu + (1.0 - R.rho_mu) * R.mu_mean + R.sigma_mu * e[3],
        nu=R.rho_nu * exo.nu + (1.0 - R.rho_nu) * R.nu_mean + R.sigma_nu * e[4],
        Ac=exo.Ac * np.exp(R.adoption_growth / 4.0),
        Sc=exo.Sc * (1.0 + prm.coin_issuance / 4.0),
        G=exo.G * grow,
        I0=exo.I0 * grow,
        Zref=exo.Zref * grow,
        pi_prev3=pi_4q if pi_3q is None else pi_3q,
    )


def _row(sol: Solution, exo: Exo, method: str) -> list[float]:
    return [
        sol.gdp_real,
        float(sol.C.sum()),
        sol.I,
        float(exo.G.sum()),
        sol.U,
        sol.pi,
        sol.i,
        sol.i - exo.pi_e,
        exo.rp,
        sol.CPI,
        exo.w,
        float(np.log(sol.Pc)),
        sol.pk,
        float(exo.K.sum()),
        float(exo.A.mean()),
        exo.mu,
        exo.nu,
        exo.eps_m,
        exo.Lbar,
        sol.max_residual,
        sol.walras,
        float(METHOD_CODE[method]),
    ]


def draw_shocks(rng: np.random.Generator, quarters: int) -> np.ndarray:
    """Standard normal innovations, one row per quarter, one column per shock (``SHOCKS``)."""
    return rng.standard_normal((quarters, len(SHOCKS)))


def simulate_macro(
    cal: Calibration,
    R: RegimeParams,
    shocks: np.ndarray,
    *,
    tol: float = TOL,
    homotopy_steps: int = HOMOTOPY_STEPS,
    exo0: Exo | None = None,
) -> MacroPath:
    """Solve quarter after quarter from the benchmark (or ``exo0``); shocks has one row per quarter.

    A quarter that neither the direct solve nor the homotopy can solve ends the path: the remaining rows
    repeat the last solved one with method 'failed', and ``converged`` is False (counted, never hidden).
    """
    stats = SolveStats()
    exo = exo0 or cal.exo0
    x = cal.x0
    if exo0 is not None:  # a non-benchmark start: solve it first
        res, calls = solve_period(cal, cal.exo0, cal.x0, exo, tol=tol, steps=homotopy_steps)
        stats.add(res, calls)
        x = res.x
    sol = unpack(x, cal, exo, max_residual=max_residual(x, cal, exo))
    rows = [_row(sol, exo, "benchmark")]
    recent_pi = [cal.params.pi_star] * 3 + [sol.pi]  # the benchmark's history: on target
    converged = True
    for t in range(shocks.shape[0]):
        if not converged:
            rows.append([*rows[-1][:-1], float(METHOD_CODE["failed"])])
            continue
        nxt = transition(
            cal, R, exo, sol, shocks[t], float(np.mean(recent_pi[-4:])), float(np.mean(recent_pi[-3:]))
        )
        res, calls = solve_period(cal, exo, x, nxt, tol=tol, steps=homotopy_steps)
        stats.add(res, calls)
        if not res.converged:
            converged = False
            rows.append([*rows[-1][:-1], float(METHOD_CODE["failed"])])
            continue
        exo, x = nxt, res.x
        sol = unpack(x, cal, exo, max_residual=res.max_residual)
        recent_pi.append(sol.pi)
        rows.append(_row(sol, exo, res.method))
    return MacroPath(regime=R.name, values=np.array(rows, dtype=np.float64), converged=converged, stats=stats)
