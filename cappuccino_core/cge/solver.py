"""Solving one period: judged by the residual, warm-started, with a homotopy fallback (CGE.md section 3).

Convergence is ``max |residual| < tol`` (residuals are relative, tol 1e-6 by default). The solver's own
success flag is never consulted: scipy's hybr reports failure at residual 7e-15 on this system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy.optimize import root

from cappuccino_core.cge.equilibrium import System, rescale_nominal

if TYPE_CHECKING:
    from cappuccino_core.cge.calibrate import Calibration, Exo

TOL = 1e-6
HOMOTOPY_STEPS = 10
Method = Literal["direct", "homotopy", "failed"]


@dataclass(frozen=True)
class SolveResult:
    """One period's solve: the solution vector, its residual, whether it converged, the method,
    evaluations."""

    x: np.ndarray
    max_residual: float
    converged: bool
    method: Method
    nfev: int


@dataclass
class SolveStats:
    """Counts across many solves: what the benchmark and the set's manifest report."""

    periods: int = 0
    direct: int = 0
    homotopy: int = 0
    failed: int = 0
    root_calls: int = 0
    nfev: int = 0
    worst_residual: float = 0.0

    def add(self, res: SolveResult, root_calls: int) -> None:
        """Count one period's solve."""
        self.periods += 1
        self.root_calls += root_calls
        self.nfev += res.nfev
        self.worst_residual = max(self.worst_residual, res.max_residual)
        setattr(self, res.method, getattr(self, res.method) + 1)

    def merge(self, other: SolveStats) -> None:
        """Add another set of counts to these."""
        for k in ("periods", "direct", "homotopy", "failed", "root_calls", "nfev"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.worst_residual = max(self.worst_residual, other.worst_residual)

    def to_dict(self) -> dict[str, float | int]:
        """The counts and rates, JSON-ready."""
        n = max(self.periods, 1)
        return {
            "periods": self.periods,
            "direct": self.direct,
            "homotopy": self.homotopy,
            "failed": self.failed,
            "root_calls": self.root_calls,
            "nfev": self.nfev,
            "homotopy_rate": self.homotopy / n,
            "failure_rate": self.failed / n,
            "worst_residual": self.worst_residual,
        }


def max_residual(x: np.ndarray, cal: Calibration, exo: Exo, system: System | None = None) -> float:
    """The largest absolute residual at ``x`` (inf when any is not finite)."""
    with np.errstate(all="ignore"):
        r = (system or System(cal, exo)).residuals(x)
    return float(np.max(np.abs(r))) if np.all(np.isfinite(r)) else float("inf")


def solve_direct(cal: Calibration, exo: Exo, guess: np.ndarray, tol: float = TOL) -> SolveResult:
    """One root call (hybr, analytic Jacobian) from ``guess``; converged means max |residual| < tol,
    whatever scipy's success flag says."""
    system = System(cal, exo)
    with np.errstate(all="ignore"):
        sol = root(
            system.residuals,
            guess,
            jac=system.jacobian,
            method="hybr",
            options={"xtol": 1e-12, "maxfev": 2000},
        )
        x = sol.x
        res = max_residual(x, cal, exo, system)
    ok = bool(np.all(np.isfinite(x)) and res < tol)
    return SolveResult(
        x=x, max_residual=res, converged=ok, method="direct" if ok else "failed", nfev=sol.nfev
    )


def solve_period(
    cal: Calibration,
    exo_from: Exo,
    x_from: np.ndarray,
    exo_to: Exo,
    *,
    tol: float = TOL,
    steps: int = HOMOTOPY_STEPS,
    allow_direct: bool = True,
) -> tuple[SolveResult, int]:
    """Solve at ``exo_to`` given the solved point (exo_from, x_from). Returns (result, root calls).

    Warm start: the previous solution with nominal unknowns rescaled by the change of the numeraire. If the
    direct solve fails, the shock is applied in ``steps`` equal steps (exo blended from exo_from to exo_to),
    each warm-started from the last; if that fails, once more with twice the steps.
    """
    calls = 0
    if allow_direct:
        calls += 1
        res = solve_direct(cal, exo_to, rescale_nominal(x_from, exo_to.w / exo_from.w), tol)
        if res.converged:
            return res, calls
    nfev = 0
    for n in (steps, 2 * steps):
        x, e_prev, ok = x_from, exo_from, True
        for k in range(1, n + 1):
            e = exo_from.blend(exo_to, k / n)
            calls += 1
            r = solve_direct(cal, e, rescale_nominal(x, e.w / e_prev.w), tol)
            nfev += r.nfev
            if not r.converged:
                ok = False
                break
            x, e_prev = r.x, e
        if ok:
            return SolveResult(
                x=x, max_residual=r.max_residual, converged=True, method="homotopy", nfev=nfev
            ), calls
    return SolveResult(x=r.x, max_residual=r.max_residual, converged=False, method="failed", nfev=nfev), calls
