"""The within-period equilibrium: 31 equations in 31 unknowns (CGE.md section 2).

Unknowns (positive ones in logs, so a step never leaves the domain and residuals are relative):

====== ================================================ =====
slot   unknown                                          count
====== ================================================ =====
0-2    ln p_i      good prices                          3
3-5    ln py_j     value-added prices                   3
6-8    ln Z_j      gross output                         3
9-11   ln L_j      employment                           3
12-14  ln rk_j     capital rents                        3
15-17  ln C_i      household consumption                3
18-20  ln XV_i     investment demand by good            3
21     ln YH       household income                     1
22     ln Td       direct taxes                         1
23     ln Sp       private saving                       1
24     Sg / YH     government saving (may be negative)  1
25     ln pk       price of capital                     1
26     ln I        real investment                      1
27     U           unemployment rate                    1
28     i           policy rate (annual)                 1
29     ln CPI      consumer price index                 1
30     ln Pc       crypto price                         1
====== ================================================ =====

Equations, in the order of :func:`residuals`: zero profit (3), value added (3), labour demand (3), capital
rent (3), household income, direct tax, private saving, consumption (3), government saving, price of capital,
investment by good (3), Tobin's q investment, goods market clearing (3), labour market (sticky wage), CPI,
Taylor rule, crypto market. Inflation ``pi = 4 (CPI / CPI_{-1} - 1)`` (annualised) is a function of CPI.
Walras' law: S - I = Sp + Sg - pk * I is left out of the system; :func:`walras_residual` is the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cappuccino_core.cge.calibrate import Calibration, Exo

N_VARS = 31
P, PY, Z, L, RK, C, XV = (slice(3 * k, 3 * k + 3) for k in range(7))
YH, TD, SP, SG, PK, INV, U, I_RATE, CPI, PC = range(21, 31)
_TINY = 1e-300


class System:
    """The 31 equations at one exogenous state, constants precomputed: residuals and analytic Jacobian."""

    def __init__(self, cal: Calibration, exo: Exo) -> None:
        prm = cal.params
        self.cal, self.exo, self.prm = cal, exo, prm
        self.K = exo.K
        self.sumK = float(exo.K.sum())
        self.aT = cal.a.T.copy()
        # constant parts of the log equations
        self.util = (1.0 - cal.beta) * prm.utilisation  # effective capital K (Z / Zref)^utilisation
        self.c_va = (
            np.log(cal.ay)
            - np.log(exo.A * cal.b)
            - (1.0 - cal.beta) * np.log(exo.K)
            + self.util * np.log(exo.Zref)
        )
        self.c_lab = np.log(exo.w) - np.log(cal.beta) - np.log(cal.ay)
        self.c_cap = np.log(exo.K) - np.log(1.0 - cal.beta) - np.log(cal.ay)
        self.log_tau = np.log(cal.tau)
        self.log_alpha = np.log(cal.alpha)
        self.log_lam = np.log(cal.lam)
        self.log_I0 = np.log(exo.I0)
        self.uc0 = -exo.pi_e + exo.rp + cal.delta  # user cost = i + uc0
        self.log_sumK = np.log(self.sumK)
        self.okun_y = prm.phi_y * cal.okun
        # Taylor rule on four-quarter inflation: (this quarter annualised + 3 x the previous three) / 4
        self.arg0 = (
            cal.taylor_x0
            - prm.phi_pi * prm.pi_star
            + prm.phi_pi * 0.75 * exo.pi_prev3
            + self.okun_y * prm.U0
            + exo.eps_m
        )
        self.pi_scale = 1.0 / exo.cpi_prev  # x 4 (annualised) / 4 (one quarter of the four)
        self.c_pc = (
            np.log(exo.Sc)
            - np.log(cal.theta0 * exo.Ac)
            - prm.a_r * (exo.pi_e + prm.r0)
            + prm.a_p * (exo.rp - prm.rp0)
            - prm.a_m * exo.mu
            - prm.a_u * prm.U0
            - exo.nu
            - self.log_sumK
        )
        self.s_c0 = cal.s0 * (1.0 - prm.eps_s * (exo.pi_e + prm.r0))  # s_t = s_c0 + s_i * i
        self.s_i = cal.s0 * prm.eps_s

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """The 31 residuals at ``x``; each is relative (a log difference or a share): 1e-6 means 1e-6."""
        cal, exo, prm = self.cal, self.exo, self.prm
        lp, lpy = x[P], x[PY]
        p, py, Zv, Lv, rk = np.exp(lp), np.exp(lpy), np.exp(x[Z]), np.exp(x[L]), np.exp(x[RK])
        Cv, XVv = np.exp(x[C]), np.exp(x[XV])
        yh, td, sp = np.exp(x[YH]), np.exp(x[TD]), np.exp(x[SP])
        u, i = x[U], x[I_RATE]
        rkK = rk * self.K
        r = np.empty(N_VARS)
        r[0:3] = lp - np.log(cal.ay * py + self.aT @ p)  # 1. zero profit
        r[3:6] = (1.0 - self.util) * x[Z] - cal.beta * x[L] + self.c_va  # 2. value added
        r[6:9] = x[L] - lpy - x[Z] + self.c_lab  # 3. labour demand
        r[9:12] = x[RK] - lpy - x[Z] + self.c_cap  # 4. capital rent
        r[12] = x[YH] - np.log(exo.w * Lv.sum() + rkK.sum())  # 5. income
        r[13] = x[TD] - self.log_tau - x[YH]  # 5. direct tax
        r[14] = x[SP] - np.log(max((self.s_c0 + self.s_i * i) * (yh - td), _TINY))  # 6. saving
        r[15:18] = lp + x[C] - self.log_alpha - np.log(max(yh - td - sp, _TINY))  # 7. consumption
        r[18] = x[SG] - (td - p @ exo.G) / yh  # 8. government saving
        r[19] = x[PK] - cal.lam @ lp  # 9. price of capital
        r[20:23] = lp + x[XV] - self.log_lam - x[PK] - x[INV]  # 9. investment by good
        uc = max(i + self.uc0, _TINY)  # 10. Tobin's q
        r[23] = x[INV] - self.log_I0 - prm.eta * (np.log(rkK.sum()) - x[PK] - self.log_sumK - np.log(uc))
        r[24:27] = 1.0 - (cal.a @ Zv + Cv + exo.G + XVv) / Zv  # 11. goods markets
        r[27] = np.log(Lv.sum()) - np.log(max(exo.Lbar * (1.0 - u), _TINY))  # 12. labour market
        r[28] = x[CPI] - np.log(cal.cw @ p)  # 13. CPI
        arg = self.arg0 + prm.phi_pi * self.pi_scale * (np.exp(x[CPI]) - exo.cpi_prev) - self.okun_y * u
        k = prm.zlb_sharpness
        r[29] = i - np.logaddexp(0.0, k * arg) / k  # 14. Taylor rule, smooth ZLB
        r[30] = x[PC] + prm.a_r * i + prm.a_u * u - x[PK] + self.c_pc  # 15. crypto market
        return r

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """The analytic Jacobian of :meth:`residuals` at ``x`` (rows: equations, columns: variables)."""
        J = np.zeros((N_VARS, N_VARS))
        self._jac_production(J, x)
        self._jac_households(J, x)
        self._jac_markets(J, x)
        return J

    def _jac_production(self, J: np.ndarray, x: np.ndarray) -> None:
        """Rows of blocks 1-4: zero profit, value added, labour, capital."""
        cal = self.cal
        p, py = np.exp(x[P]), np.exp(x[PY])
        e3 = np.arange(3)
        # 1. zero profit
        D = cal.ay * py + self.aT @ p
        J[0:3, P] = np.eye(3) - self.aT * p[None, :] / D[:, None]
        J[0 + e3, 3 + e3] = -cal.ay * py / D
        # 2-4. value added, labour, capital
        J[3 + e3, 6 + e3] = 1.0 - self.util
        J[3 + e3, 9 + e3] = -cal.beta
        J[6 + e3, 9 + e3] = 1.0
        J[6 + e3, 3 + e3] = -1.0
        J[6 + e3, 6 + e3] = -1.0
        J[9 + e3, 12 + e3] = 1.0
        J[9 + e3, 3 + e3] = -1.0
        J[9 + e3, 6 + e3] = -1.0

    def _jac_households(self, J: np.ndarray, x: np.ndarray) -> None:
        """Rows of blocks 5-8: income and tax, saving, consumption, government saving."""
        exo = self.exo
        p, Lv, rk = np.exp(x[P]), np.exp(x[L]), np.exp(x[RK])
        yh, td, sp = np.exp(x[YH]), np.exp(x[TD]), np.exp(x[SP])
        i = x[I_RATE]
        rkK = rk * self.K
        e3 = np.arange(3)
        # 5. income and tax
        E = exo.w * Lv.sum() + rkK.sum()
        J[12, YH] = 1.0
        J[12, L] = -exo.w * Lv / E
        J[12, RK] = -rkK / E
        J[13, TD], J[13, YH] = 1.0, -1.0
        # 6. saving
        s_t = self.s_c0 + self.s_i * i
        J[14, SP] = 1.0
        J[14, YH] = -yh / (yh - td)
        J[14, TD] = td / (yh - td)
        J[14, I_RATE] = -self.s_i / s_t
        # 7. consumption
        M = yh - td - sp
        J[15 + e3, 0 + e3] = 1.0
        J[15 + e3, 15 + e3] = 1.0
        J[15:18, YH] = -yh / M
        J[15:18, TD] = td / M
        J[15:18, SP] = sp / M
        # 8. government saving
        J[18, SG] = 1.0
        J[18, TD] = -td / yh
        J[18, P] = p * exo.G / yh
        J[18, YH] = (td - p @ exo.G) / yh

    def _jac_markets(self, J: np.ndarray, x: np.ndarray) -> None:
        """Rows of blocks 9-15: price of capital and investment, Tobin's q, goods and labour markets, CPI,
        Taylor rule, crypto market."""
        cal, exo, prm = self.cal, self.exo, self.prm
        Zv, Lv, rk = np.exp(x[Z]), np.exp(x[L]), np.exp(x[RK])
        Cv, XVv = np.exp(x[C]), np.exp(x[XV])
        u, i = x[U], x[I_RATE]
        rkK = rk * self.K
        e3 = np.arange(3)
        # 9. price of capital, investment by good
        J[19, PK] = 1.0
        J[19, P] = -cal.lam
        J[20 + e3, 0 + e3] = 1.0
        J[20 + e3, 18 + e3] = 1.0
        J[20:23, PK] = -1.0
        J[20:23, INV] = -1.0
        # 10. Tobin's q
        J[23, INV] = 1.0
        J[23, RK] = -prm.eta * rkK / rkK.sum()
        J[23, PK] = prm.eta
        J[23, I_RATE] = prm.eta / (i + self.uc0)
        # 11. goods markets
        T = cal.a @ Zv + Cv + exo.G + XVv
        J[24:27, Z] = -cal.a * Zv[None, :] / Zv[:, None] + np.diag(T / Zv)
        J[24 + e3, 15 + e3] = -Cv / Zv
        J[24 + e3, 18 + e3] = -XVv / Zv
        # 12. labour market
        J[27, L] = Lv / Lv.sum()
        J[27, U] = 1.0 / (1.0 - u)
        # 13. CPI
        J[28, CPI] = 1.0
        p = np.exp(x[P])
        J[28, P] = -cal.cw * p / (cal.cw @ p)
        # 14. Taylor rule
        k = prm.zlb_sharpness
        cpi = np.exp(x[CPI])
        arg = self.arg0 + prm.phi_pi * self.pi_scale * (cpi - exo.cpi_prev) - self.okun_y * u
        sig = 0.5 * (1.0 + np.tanh(0.5 * k * arg))
        J[29, I_RATE] = 1.0
        J[29, CPI] = -sig * prm.phi_pi * self.pi_scale * cpi
        J[29, U] = sig * self.okun_y
        # 15. crypto market
        J[30, PC] = 1.0
        J[30, I_RATE] = prm.a_r
        J[30, U] = prm.a_u
        J[30, PK] = -1.0


def residuals(x: np.ndarray, cal: Calibration, exo: Exo) -> np.ndarray:
    """The 31 residuals at ``x`` (see :class:`System`)."""
    return System(cal, exo).residuals(x)


@dataclass(frozen=True)
class Solution:
    """One solved period, in levels."""

    x: np.ndarray
    max_residual: float
    p: np.ndarray
    py: np.ndarray
    Z: np.ndarray
    L: np.ndarray
    rk: np.ndarray
    C: np.ndarray
    XV: np.ndarray
    YH: float
    Td: float
    Sp: float
    Sg: float
    pk: float
    I: float
    U: float
    i: float
    CPI: float
    Pc: float
    pi: float
    gdp_real: float  # C + G + I at benchmark prices
    gdp_nominal: float  # sum py_j VA_j
    walras: float  # (Sp + Sg - pk I) / YH, the unsolved equation


def unpack(x: np.ndarray, cal: Calibration, exo: Exo, max_residual: float = float("nan")) -> Solution:
    """The solved vector ``x`` as a :class:`Solution` in levels."""
    p, py, Zv, Lv, rk = (np.exp(x[s]) for s in (P, PY, Z, L, RK))
    Cv, XVv = np.exp(x[C]), np.exp(x[XV])
    yh, td, sp = float(np.exp(x[YH])), float(np.exp(x[TD])), float(np.exp(x[SP]))
    sg = float(x[SG]) * yh
    pk, inv = float(np.exp(x[PK])), float(np.exp(x[INV]))
    cpi = float(np.exp(x[CPI]))
    return Solution(
        x=x.copy(),
        max_residual=max_residual,
        p=p,
        py=py,
        Z=Zv,
        L=Lv,
        rk=rk,
        C=Cv,
        XV=XVv,
        YH=yh,
        Td=td,
        Sp=sp,
        Sg=sg,
        pk=pk,
        I=inv,
        U=float(x[U]),
        i=float(x[I_RATE]),
        CPI=cpi,
        Pc=float(np.exp(x[PC])),
        pi=4.0 * (cpi / exo.cpi_prev - 1.0),
        gdp_real=float(Cv.sum() + exo.G.sum() + XVv.sum()),
        gdp_nominal=float((py * cal.ay * Zv).sum()),
        walras=walras_residual(x, exo),
    )


def walras_residual(x: np.ndarray, exo: Exo) -> float:
    """S - I = Sp + Sg - pk * I, relative to household income: ~0 whenever the 31 equations hold."""
    yh = np.exp(x[YH])
    return float((np.exp(x[SP]) + x[SG] * yh - np.exp(x[PK] + x[INV])) / yh)


def pack_benchmark(
    cal: Calibration,
    *,
    z: np.ndarray,
    lab: np.ndarray,
    c: np.ndarray,
    xv: np.ndarray,
    yh: float,
    td: float,
    sp: float,
    inv: float,
    rk: np.ndarray,
) -> np.ndarray:
    """The benchmark point in the solver's layout (all prices 1, w = 1)."""
    x = np.zeros(N_VARS)
    x[Z], x[L], x[RK] = np.log(z), np.log(lab), np.log(rk)
    x[C], x[XV] = np.log(c), np.log(xv)
    x[YH], x[TD], x[SP] = np.log(yh), np.log(td), np.log(sp)
    x[SG] = (td - cal.exo0.G.sum()) / yh
    x[INV] = np.log(inv)
    x[U] = cal.params.U0
    x[I_RATE] = cal.params.r0 + cal.params.pi_star
    return x


# Slots of nominal unknowns: they move one for one (in logs) with the numeraire.
NOMINAL_LOG_SLOTS = np.r_[0:6, 12:15, YH, TD, SP, PK, CPI, PC]


def rescale_nominal(x: np.ndarray, factor: float) -> np.ndarray:
    """Shift every nominal unknown by ln(factor): a warm start after the wage (numeraire) moved."""
    y = x.copy()
    y[NOMINAL_LOG_SLOTS] += np.log(factor)
    return y
