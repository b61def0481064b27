"""Checking the crisis regime against 2008-09 (statsmodels ``macrodata``, US quarterly 1959Q1-2009Q3).

History: real GDP fell 3.8% from its 2008Q2 peak to the 2009Q2 trough (four quarters); unemployment rose
from 4.9% (2008Q1) to 9.6% (2009Q3). The model's crisis regime, started from the benchmark (U0 = 5%), should
give a fall of GDP and a rise of unemployment of that order within its four quarters.

Run ``python -m cappuccino_core.cge.history`` for the comparison table (the calibration record); the test
``tests/unit/cge/test_dynamics.py::test_crisis_matches_2008_09`` asserts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cappuccino_core.cge.calibrate import Calibration, calibrate
from cappuccino_core.cge.dynamics import simulate_macro
from cappuccino_core.cge.regimes import SHOCKS, regime

# The Okun coefficient the model produces (points of unemployment per 1% of output lost over four quarters,
# over all regimes; :func:`okun_coefficient`), as the READMEs state it; a test re-measures it.
OKUN_DOCUMENTED = 0.82


@dataclass(frozen=True)
class CrisisFacts:
    """The headline figures of a crisis: GDP fall, unemployment start and peak, the lowest inflation."""

    gdp_fall: float  # peak-to-trough change of real GDP (negative fraction)
    unemployment_start: float
    unemployment_peak: float
    inflation_yoy_low: float = float("nan")  # lowest four-quarter CPI inflation
    inflation_q_low: float = float("nan")  # lowest one-quarter inflation, annualised

    @property
    def unemployment_rise(self) -> float:
        """Peak minus starting unemployment rate."""
        return self.unemployment_peak - self.unemployment_start


def history_2008() -> CrisisFacts:
    """The 2008-09 recession in statsmodels' ``macrodata``: GDP peak (2007Q4..2008Q4) to the following
    trough, and unemployment from its 2008 low to its 2009 high."""
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    d = d[d["year"] >= 2007].reset_index(drop=True)
    gdp = d["realgdp"].to_numpy()
    peak = int(np.argmax(gdp[:8]))  # 2007Q1..2008Q4
    trough = peak + int(np.argmin(gdp[peak:]))
    u = d["unemp"].to_numpy() / 100.0
    u08 = u[(d["year"] == 2008).to_numpy()]
    cpi = d["cpi"].to_numpy()
    late = (d["year"] >= 2008).to_numpy()
    yoy = cpi[4:] / cpi[:-4] - 1.0
    q = 4.0 * (cpi[1:] / cpi[:-1] - 1.0)
    return CrisisFacts(
        gdp_fall=float(gdp[trough] / gdp[peak] - 1.0),
        unemployment_start=float(u08.min()),
        unemployment_peak=float(u[(d["year"] >= 2009).to_numpy()].max()),
        inflation_yoy_low=float(yoy[late[4:]].min()),
        inflation_q_low=float(q[late[1:]].min()),
    )


def model_crisis(
    cal: Calibration | None = None, n: int = 60, quarters: int = 4, seed: int = 2008
) -> tuple[CrisisFacts, np.ndarray]:
    """Median over ``n`` crisis scenarios of the GDP trough (vs quarter 0) and the unemployment peak; also
    returns the per-scenario rows (gdp_fall, u_peak)."""
    cal = cal or calibrate()
    R = regime("crisis")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        mp = simulate_macro(cal, R, rng.standard_normal((quarters, len(SHOCKS))))
        g, u, cpi, pi = mp.col("gdp"), mp.col("unemployment"), mp.col("cpi"), mp.col("inflation")
        yoy = cpi[4:] / cpi[:-4] - 1.0 if cpi.size > 4 else np.array([np.nan])
        rows.append((g.min() / g[0] - 1.0, u.max(), float(np.min(yoy)), float(pi[1:].min())))
    arr = np.array(rows)
    med = np.median(arr, axis=0)
    return CrisisFacts(float(med[0]), cal.params.U0, float(med[1]), float(med[2]), float(med[3])), arr


def okun_coefficient(cal: Calibration | None = None, n: int = 60, seed: int = 7) -> float:
    """What the model produces: the OLS slope of the four-quarter change in unemployment (points) on the
    four-quarter output gap change (%, GDP growth less the normal regime's trend), over ``n`` scenarios of
    each regime, sign flipped (Okun: U rises ~k points per 1% of output lost)."""
    cal = cal or calibrate()
    rng = np.random.default_rng(seed)
    du, dy = [], []
    trend = None
    for name in ("normal", "bull", "bear", "crisis"):
        R = regime(name)
        for _ in range(n):
            mp = simulate_macro(cal, R, rng.standard_normal((4, len(SHOCKS))))
            g, u = mp.col("gdp"), mp.col("unemployment")
            du.append(100.0 * (u[-1] - u[0]))
            dy.append(100.0 * np.log(g[-1] / g[0]))
        if name == "normal":
            trend = float(np.median(dy))
    assert trend is not None
    x = np.array(dy) - trend
    return float(-np.polyfit(x, np.array(du), 1)[0])


def main() -> None:
    """Print the 2008-09 history beside the model's crisis regime (median), figure by figure."""
    h = history_2008()
    m, arr = model_crisis()
    print(f"{'':24s}{'history 2008-09':>18s}{'model crisis (median)':>24s}")
    print(f"{'GDP peak to trough':24s}{h.gdp_fall:>17.1%} {m.gdp_fall:>23.1%}")
    print(f"{'unemployment start':24s}{h.unemployment_start:>17.1%} {m.unemployment_start:>23.1%}")
    print(f"{'unemployment peak':24s}{h.unemployment_peak:>17.1%} {m.unemployment_peak:>23.1%}")
    print(f"{'inflation, 4 quarters':24s}{h.inflation_yoy_low:>17.1%} {m.inflation_yoy_low:>23.1%}")
    print(f"{'inflation, worst quarter':24s}{h.inflation_q_low:>17.1%} {m.inflation_q_low:>23.1%}")
    print(f"Okun coefficient the model produces: {okun_coefficient():.2f} points of U per 1% of output")
    p10, p90 = np.percentile(arr[:, 0], [10, 90])
    print(
        f"model GDP trough 10-90%: {p10:.1%} .. {p90:.1%}; U peak 10-90%: "
        f"{np.percentile(arr[:, 1], 10):.1%} .. {np.percentile(arr[:, 1], 90):.1%}"
    )


if __name__ == "__main__":
    main()
