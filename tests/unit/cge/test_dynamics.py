"""Test 5 of CGE.md section 6 (zero shocks -> steady business-as-usual path), regime behaviour and the
crisis regime checked against 2008-09 (statsmodels macrodata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cappuccino_core.cge.dynamics import simulate_macro
from cappuccino_core.cge.history import history_2008, model_crisis
from cappuccino_core.cge.regimes import REGIME_PARAMS, REGIMES, allocate_mix, regime, zero_shock


def test_zero_shocks_give_a_steady_balanced_growth_path(cal) -> None:
    R = zero_shock()
    mp = simulate_macro(cal, R, np.zeros((8, 5)))
    assert mp.converged
    np.testing.assert_allclose(mp.col("unemployment"), cal.params.U0, atol=1e-10)
    np.testing.assert_allclose(mp.col("inflation"), cal.params.pi_star, atol=1e-10)
    np.testing.assert_allclose(mp.col("policy_rate"), cal.params.r0 + cal.params.pi_star, atol=1e-10)
    np.testing.assert_allclose(mp.col("risk_premium"), cal.params.rp0, atol=1e-12)
    growth = np.diff(np.log(mp.col("gdp")))
    # normal is not flat: potential growth = productivity + labour force
    np.testing.assert_allclose(growth, (R.tfp_growth + R.labour_growth) / 4.0, atol=1e-10)
    np.testing.assert_allclose(np.diff(np.log(mp.col("investment"))), growth, atol=1e-10)
    assert np.abs(mp.col("walras")).max() < 1e-10


def test_same_shocks_same_path_and_paths_respond_to_shocks(cal) -> None:
    e = np.random.default_rng(4).standard_normal((4, 5))
    a = simulate_macro(cal, regime("normal"), e)
    b = simulate_macro(cal, regime("normal"), e.copy())
    np.testing.assert_array_equal(a.values, b.values)
    c = simulate_macro(cal, regime("normal"), e + 0.5)
    assert not np.allclose(a.col("gdp"), c.col("gdp"))


def _medians(cal, name: str, n: int = 40) -> dict[str, float]:
    rng = np.random.default_rng(11)
    out = []
    for _ in range(n):
        mp = simulate_macro(cal, regime(name), rng.standard_normal((4, 5)))
        out.append((mp.ln_pc[-1] - mp.ln_pc[0], mp.col("gdp")[-1] / mp.col("gdp")[0] - 1.0))
    arr = np.median(np.array(out), axis=0)
    return {"crypto": float(arr[0]), "gdp": float(arr[1])}


def test_regimes_order_the_crypto_anchor_like_the_prototype(cal) -> None:
    """1-year median log change of Pc; CGE.md's prototype: +0.19 / +0.49 / -0.31 / -0.63."""
    m = {r: _medians(cal, r) for r in REGIMES}
    target = {"normal": 0.19, "bull": 0.49, "bear": -0.31, "crisis": -0.63}
    for r in REGIMES:
        assert m[r]["crypto"] == pytest.approx(target[r], abs=0.15), r
    assert m["crisis"]["crypto"] < m["bear"]["crypto"] < 0 < m["normal"]["crypto"] < m["bull"]["crypto"]
    assert m["normal"]["gdp"] > 0.01  # labour force and productivity grow
    assert m["crisis"]["gdp"] < -0.02


def test_crisis_matches_2008_09() -> None:
    hist = history_2008()
    assert hist.gdp_fall == pytest.approx(-0.038, abs=0.002)  # the data: 2008Q2 -> 2009Q2
    assert hist.unemployment_start == pytest.approx(0.049) and hist.unemployment_peak == pytest.approx(0.096)
    model, _ = model_crisis(n=40)
    assert model.gdp_fall == pytest.approx(hist.gdp_fall, rel=0.35)  # about -4%
    assert model.unemployment_start == pytest.approx(0.05)
    assert model.unemployment_rise == pytest.approx(hist.unemployment_rise, rel=0.25)  # 5% -> ~10%
    assert 0.09 < model.unemployment_peak < 0.11
    # deflation: four-quarter CPI inflation near 2008-09's -1.9% (the Taylor rule reads four quarters)
    assert hist.inflation_yoy_low == pytest.approx(-0.019, abs=0.002)
    assert -0.03 < model.inflation_yoy_low < -0.01
    assert model.inflation_q_low > -0.09  # no -20% annualised quarter


@pytest.mark.slow
def test_the_documented_okun_coefficient_is_what_the_model_produces() -> None:
    from cappuccino_core.cge.history import OKUN_DOCUMENTED, okun_coefficient

    assert okun_coefficient(n=25) == pytest.approx(OKUN_DOCUMENTED, abs=0.08)
    root = Path(__file__).resolve().parents[3]
    for doc in (root / "README.md", root / "cappuccino_core" / "cge" / "README.md"):
        assert f"Okun coefficient {OKUN_DOCUMENTED:.2f}" in doc.read_text(), doc


def test_regime_table_and_mix() -> None:
    assert set(REGIME_PARAMS) == set(REGIMES)
    crisis, normal = regime("crisis"), regime("normal")
    assert crisis.rp_gap > 0 and crisis.jump_lambda > normal.jump_lambda and crisis.vol_mult > normal.vol_mult
    assert normal.labour_growth > 0
    assert allocate_mix({"normal": 80, "bull": 40, "bear": 50, "crisis": 30}, 200) == {
        "normal": 80,
        "bull": 40,
        "bear": 50,
        "crisis": 30,
    }
    small = allocate_mix({"normal": 80, "bull": 40, "bear": 50, "crisis": 30}, 8)
    assert sum(small.values()) == 8 and all(v >= 1 for v in small.values())
    with pytest.raises(ValueError, match="unknown regime"):
        regime("boom")
