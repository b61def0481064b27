"""Regimes: the shock processes of the macro model and the scalings of the hourly layer (CGE.md sections 3-4).

Annual units throughout (rates, growth, volatilities). Per quarter the model uses drift/4 and sigma/2.
The crisis regime is a demand shock: the risk premium jumps (fast reversion towards a high target), crypto
sentiment and money growth fall. Its size is checked against 2008-09 US data (statsmodels ``macrodata``):
see :mod:`cappuccino_core.cge.history` and ``tests/unit/cge/test_crisis_history.py``.

The hourly layer's volatility, correlation and jump intensity per regime follow CGE.md section 4: BTC
annualised volatility 0.55 / 0.60 / 0.65 / 0.95 (normal / bull / bear / crisis), i.e. multipliers of the
volatility estimated on real data; cross-asset correlation +0 / -0.05 / +0.05 / +0.15 around the estimated
one (0.75 / 0.70 / 0.80 / 0.90 in CGE.md); jump intensity 1/800 .. 1/150 per hour. Jump size sd 0.012 (normal)
and 0.015 (bull) instead of 0.03: the moment-matched GARCH-t already carries the normal tails, and 0.03 jumps
alone pushed the largest hourly move of a normal year above every real year's; bear and crisis keep 0.03.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

REGIMES = ("normal", "bull", "bear", "crisis")
# The frozen mix of the published stress set (CGE.md: 80 normal / 40 bull / 50 bear / 30 crisis of 200).
DEFAULT_MIX = {"normal": 80, "bull": 40, "bear": 50, "crisis": 30}
SHOCKS = ("tfp", "risk_premium", "monetary", "money_growth", "sentiment")


@dataclass(frozen=True)
class RegimeParams:
    """One macro regime: its shock processes and the crypto anchor's response."""

    name: str
    # Macro shock processes (quarterly transitions of the exogenous state)
    tfp_growth: float  # TFP drift of ln A (annual)
    tfp_sigma: float  # TFP innovation sd (annual; quarterly sd = tfp_sigma / 2)
    rp_gap: float  # risk premium target minus the benchmark rp0 (annual)
    rho_rp: float  # fraction of the gap to rp0 + rp_gap closed each quarter
    sigma_rp: float  # risk-premium innovation sd per quarter
    m_mean: float  # monetary shock mean (annual rate units)
    rho_m: float  # AR(1) persistence per quarter
    sigma_m: float  # monetary shock innovation sd per quarter
    mu_mean: float  # money growth deviation mean (annual)
    rho_mu: float
    sigma_mu: float
    nu_mean: float  # crypto sentiment mean (log points)
    rho_nu: float
    sigma_nu: float
    labour_growth: float  # labour-force growth (annual): "normal" is not flat
    adoption_growth: float  # crypto adoption drift of ln Ac (annual)
    # Hourly layer scalings
    vol_mult: float  # multiplier of the estimated (normal-regime) hourly volatility
    rho_offset: float  # added to the estimated cross-asset correlation
    jump_lambda: float  # jump probability per hour
    jump_mu: float  # mean jump size (log)
    jump_sd: float = 0.03  # jump size sd (log)

    def to_dict(self) -> dict[str, float | str]:
        """The parameters by name."""
        return asdict(self)


_COMMON = {"rho_m": 0.5, "sigma_m": 0.002, "rho_mu": 0.6, "sigma_mu": 0.008, "rho_nu": 0.5}

REGIME_PARAMS: dict[str, RegimeParams] = {
    "normal": RegimeParams(
        name="normal",
        tfp_growth=0.008,
        tfp_sigma=0.008,
        rp_gap=0.0,
        rho_rp=0.5,
        sigma_rp=0.0015,
        m_mean=0.0,
        mu_mean=0.0,
        nu_mean=0.115,
        sigma_nu=0.15,
        labour_growth=0.010,
        adoption_growth=0.10,
        vol_mult=1.0,
        rho_offset=0.0,
        jump_lambda=1 / 800,
        jump_mu=0.0,
        jump_sd=0.012,
        **_COMMON,
    ),
    "bull": RegimeParams(
        name="bull",
        tfp_growth=0.015,
        tfp_sigma=0.008,
        rp_gap=-0.005,
        rho_rp=0.5,
        sigma_rp=0.0015,
        m_mean=0.0,
        mu_mean=0.02,
        nu_mean=0.41,
        sigma_nu=0.15,
        labour_growth=0.012,
        adoption_growth=0.10,
        vol_mult=0.60 / 0.55,
        rho_offset=-0.05,
        jump_lambda=1 / 600,
        jump_mu=0.005,
        jump_sd=0.015,
        **_COMMON,
    ),
    "bear": RegimeParams(
        name="bear",
        tfp_growth=0.003,
        tfp_sigma=0.010,
        rp_gap=0.008,
        rho_rp=0.5,
        sigma_rp=0.002,
        m_mean=0.0,
        mu_mean=-0.01,
        nu_mean=-0.37,
        sigma_nu=0.15,
        labour_growth=0.008,
        adoption_growth=0.10,
        vol_mult=0.65 / 0.55,
        rho_offset=0.05,
        jump_lambda=1 / 350,
        jump_mu=-0.01,
        **_COMMON,
    ),
    "crisis": RegimeParams(
        name="crisis",
        tfp_growth=-0.005,
        tfp_sigma=0.012,
        rp_gap=0.056,
        rho_rp=0.5,
        sigma_rp=0.003,
        m_mean=0.0,
        mu_mean=-0.02,
        nu_mean=-0.05,
        sigma_nu=0.18,
        labour_growth=0.006,
        adoption_growth=0.10,
        vol_mult=0.95 / 0.55,
        rho_offset=0.15,
        jump_lambda=1 / 150,
        jump_mu=-0.03,
        **_COMMON,
    ),
}


def regime(name: str) -> RegimeParams:
    """The named regime's parameters; ValueError naming the known regimes."""
    try:
        return REGIME_PARAMS[name]
    except KeyError:
        raise ValueError(f"unknown regime {name!r}; known: {', '.join(REGIMES)}") from None


def zero_shock(base: RegimeParams | None = None) -> RegimeParams:
    """``base`` (default: normal) with every shock switched off and the shock means at zero: the
    business-as-usual path of test 5. The trend (productivity, labour force, adoption) stays."""
    from dataclasses import replace

    return replace(
        base or REGIME_PARAMS["normal"],
        name="bau",
        tfp_sigma=0.0,
        sigma_rp=0.0,
        sigma_m=0.0,
        sigma_mu=0.0,
        sigma_nu=0.0,
        rp_gap=0.0,
        m_mean=0.0,
        mu_mean=0.0,
        nu_mean=0.0,
    )


def allocate_mix(mix: dict[str, int], n: int) -> dict[str, int]:
    """Scale a regime mix to ``n`` scenarios by largest remainder (exact when n equals the mix total)."""
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("regime mix must have a positive total")
    quotas = {k: v * n / total for k, v in mix.items()}
    counts = {k: int(q) for k, q in quotas.items()}
    rest = n - sum(counts.values())
    order = sorted(mix, key=lambda k: (-(quotas[k] - counts[k]), REGIMES.index(k) if k in REGIMES else 99))
    for k in order[:rest]:
        counts[k] += 1
    return counts
