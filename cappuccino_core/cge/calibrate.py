"""Calibration: behavioural parameters plus the coefficients read off the benchmark SAM (CGE.md section 1).

All benchmark prices are 1 and the sticky nominal wage ``w`` is the numeraire (1 at the benchmark). Rates are
annual (the SAM flows are annual rates, as in national accounts); one model period is a quarter.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cappuccino_core.cge.sam import DEFAULT_SAM, SECTORS, Sam, load_sam


@dataclass(frozen=True)
class ModelParams:
    """Behavioural parameters. Every value is documented; changing one changes the scenario set's hash."""

    r0: float = 0.02  # neutral real policy rate (annual)
    pi_star: float = 0.02  # inflation target (annual)
    rp0: float = 0.05  # benchmark risk premium on capital (annual)
    U0: float = 0.05  # benchmark (natural) unemployment rate
    eta: float = 0.3  # elasticity of investment to Tobin's q (low, as in q-investment regressions)
    eps_s: float = 0.5  # saving-rate response to the real rate: s = s0 (1 + eps_s (i - pi_e - r0))
    phi_pi: float = 1.5  # Taylor rule: response to inflation
    phi_y: float = 0.5  # Taylor rule: response to the output gap (= okun x unemployment gap)
    zlb_sharpness: float = 100.0  # softplus(k x)/k: smooth zero lower bound, k per unit of annual rate
    phi_w: float = 1.5  # wage Phillips curve: wage growth falls phi_w per point of unemployment gap
    # Downward nominal wage rigidity: annual wage growth never below this. Without a floor a crisis at the
    # zero lower bound becomes a deflationary collapse; at 0 (no cut at all) the crisis showed ~-0.7% four-
    # quarter inflation against 2008-09's -1.9%; -2% a year gives -1.9% (history.py).
    wage_floor: float = -0.02
    # Variable capital utilisation: effective capital K (Z / Zref)^utilisation, Zref the trend output. With
    # fixed utilisation employment moves 1 / labour share ~ 1.6x output (crisis U peak 12-13% for -4% GDP);
    # with 0.65 it moves ~1.2x and the crisis peaks near 2008-09's 10% (tests/unit/cge/test_dynamics.py).
    utilisation: float = 0.65
    zeta: float = 1.0  # new capital flows to sectors with high rents: sh_j ~ K_j (rk_j / mean rk)^zeta
    a_r: float = 20.0  # crypto valuation: semi-elasticity to the real rate
    a_p: float = 15.0  # ... to the risk premium
    a_m: float = 4.0  # ... to money growth
    a_u: float = 5.0  # ... to unemployment
    coin_issuance: float = 0.008  # annual growth of the coin supply Sc (BTC after the 2024 halving)
    # Trend growth of the balanced growth path the benchmark sits on (labour productivity + labour force of
    # the normal regime): depreciation is calibrated so that I0 / K = delta + trend growth.
    trend_growth: float = 0.018

    def to_dict(self) -> dict[str, float | bool]:
        """The parameters by name."""
        return asdict(self)


@dataclass(frozen=True)
class Exo:
    """Exogenous state of one period: the numeraire, predetermined stocks and shock levels."""

    w: float  # nominal wage (numeraire, sticky within the period)
    cpi_prev: float  # last period's CPI (nominal)
    pi_e: float  # expected inflation (annual)
    A: np.ndarray  # (3,) sector TFP
    K: np.ndarray  # (3,) sector capital stocks
    Lbar: float  # labour force
    rp: float  # risk premium (annual)
    eps_m: float  # monetary policy shock (annual rate units)
    mu: float  # money growth shock (annual)
    nu: float  # crypto sentiment (log points)
    Ac: float  # crypto adoption index
    Sc: float  # coin supply
    G: np.ndarray  # (3,) real government purchases
    I0: float  # investment at q = 1
    Zref: np.ndarray = field(default_factory=lambda: np.ones(3))  # (3,) trend gross output (utilisation)
    pi_prev3: float = 0.02  # mean annualised inflation of the three quarters before this one (Taylor rule)

    def blend(self, other: Exo, lam: float) -> Exo:
        """(1 - lam) * self + lam * other, field by field: the homotopy path between two states."""
        kw = {k: (1.0 - lam) * getattr(self, k) + lam * getattr(other, k) for k in self.__dataclass_fields__}
        return dataclasses.replace(self, **kw)

    def replace(self, **changes: float | np.ndarray) -> Exo:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Calibration:
    """The model calibrated on the SAM: technical coefficients, shares, scales and the benchmark
    equilibrium."""

    sam: Sam
    params: ModelParams
    a: np.ndarray  # (3, 3) a[i, j] = X_ij / Z_j
    ay: np.ndarray  # VA_j / Z_j
    beta: np.ndarray  # labour share of value added per sector
    b: np.ndarray  # Cobb-Douglas scale
    alpha: np.ndarray  # household budget shares
    lam: np.ndarray  # investment composition
    cw: np.ndarray  # CPI weights (benchmark consumption shares)
    tau: float  # direct tax rate
    s0: float  # benchmark saving rate out of disposable income
    delta: float  # depreciation (annual): benchmark investment = depreciation + trend growth of K
    okun: float  # output gap per point of unemployment gap (= 1 / labour share in this model)
    taylor_x0: float  # softplus intercept: softplus(x0) = r0 + pi*
    theta0: float  # crypto valuation share at the benchmark (Pc = 1)
    labour_share: float
    exo0: Exo = field(repr=False)
    x0: np.ndarray = field(repr=False)  # benchmark solution (log/level layout of equilibrium.VARS)

    def content_hash(self) -> str:
        """sha256 of the SAM and the parameters: what the calibration is determined by."""
        payload = {"sam": self.sam.content_hash(), "params": self.params.to_dict()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def inverse_softplus(y: float, k: float) -> float:
    """``x`` with ``log(1 + exp(k x)) / k = y`` (for ``y > 0``)."""
    return float(np.log(np.expm1(k * y)) / k)


def calibrate(sam: Sam | str | Path | None = None, params: ModelParams | None = None) -> Calibration:
    """Read every coefficient off the SAM; the benchmark then solves the equilibrium with residual ~0."""
    from cappuccino_core.cge.equilibrium import pack_benchmark

    sam = load_sam(DEFAULT_SAM if sam is None else sam) if not isinstance(sam, Sam) else sam
    prm = params or ModelParams()
    X = sam.block(SECTORS, SECTORS)  # intermediate use X[i, j]: good i used by sector j
    LAB = sam.block(("LAB",), SECTORS)[0]
    CAP = sam.block(("CAP",), SECTORS)[0]
    VA = LAB + CAP
    Z = X.sum(axis=0) + VA  # gross output = column total of a sector
    C = sam.block(SECTORS, ("HOH",))[:, 0]
    G = sam.block(SECTORS, ("GOV",))[:, 0]
    XV = sam.block(SECTORS, ("INV",))[:, 0]
    Td = sam.get("GOV", "HOH")
    Sp = sam.get("INV", "HOH")
    YH = float(LAB.sum() + CAP.sum())
    I0 = float(XV.sum())
    r_user = prm.r0 + prm.rp0
    # Balanced growth: I0 = (delta + g_q) K with K = CAP / (r0 + rp0 + delta)  =>  closed form for delta.
    # g_q: the trend growth as the annualised quarterly rate the capital recursion compounds.
    cap = float(CAP.sum())
    g_q = 4.0 * np.expm1(prm.trend_growth / 4.0)
    delta = (I0 * r_user - g_q * cap) / (cap - I0)
    if not 0.0 < delta < 0.5:
        raise ValueError(
            f"calibrated depreciation {delta:.4f} is implausible; check the SAM and trend_growth"
        )
    K = CAP / (r_user + delta)  # Tobin's q = 1 at the benchmark
    L = LAB.copy()  # w = 1
    beta = LAB / VA
    b = VA / (L**beta * K ** (1.0 - beta))
    labour_share = float(LAB.sum() / VA.sum())
    Lbar = float(L.sum() / (1.0 - prm.U0))
    exo0 = Exo(
        w=1.0,
        cpi_prev=1.0
        / (1.0 + prm.pi_star / 4.0),  # quarterly: without it the Taylor rule misses the benchmark
        pi_e=prm.pi_star,
        A=np.ones(3),
        K=K,
        Lbar=Lbar,
        rp=prm.rp0,
        eps_m=0.0,
        mu=0.0,
        nu=0.0,
        Ac=1.0,
        Sc=1.0,
        G=G.copy(),
        I0=I0,
        Zref=Z.copy(),
        pi_prev3=prm.pi_star,
    )
    cal = Calibration(
        sam=sam,
        params=prm,
        a=X / Z[None, :],
        ay=VA / Z,
        beta=beta,
        b=b,
        alpha=C / C.sum(),
        lam=XV / I0,
        cw=C / C.sum(),
        tau=Td / YH,
        s0=Sp / (YH - Td),
        delta=delta,
        okun=1.0 / labour_share,
        taylor_x0=inverse_softplus(prm.r0 + prm.pi_star, prm.zlb_sharpness),
        theta0=1.0 / float(K.sum()),  # Pc * Sc = theta * pk * sum K with Pc = Sc = pk = 1
        labour_share=labour_share,
        exo0=exo0,
        x0=np.zeros(0),
    )
    x0 = pack_benchmark(cal, z=Z, lab=L, c=C, xv=XV, yh=YH, td=Td, sp=Sp, inv=I0, rk=CAP / K)
    object.__setattr__(cal, "x0", x0)
    return cal
