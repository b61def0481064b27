"""Tests 2-4 and 6 of CGE.md section 6: benchmark replication, Walras, homogeneity, signs; the solver."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cappuccino_core.cge import solver
from cappuccino_core.cge.equilibrium import (
    N_VARS,
    NOMINAL_LOG_SLOTS,
    System,
    residuals,
    unpack,
    walras_residual,
)
from cappuccino_core.cge.solver import TOL, solve_direct, solve_period


def test_system_is_31_equations_in_31_unknowns(cal) -> None:
    sy = System(cal, cal.exo0)
    assert N_VARS == 31
    assert sy.residuals(cal.x0).shape == (31,)
    J = sy.jacobian(cal.x0)
    assert J.shape == (31, 31)
    assert np.linalg.matrix_rank(J) == 31  # locally unique equilibrium


def test_analytic_jacobian_matches_finite_differences(cal) -> None:
    exo = cal.exo0.replace(A=np.array([0.97, 0.98, 0.99]), rp=0.07, eps_m=0.01, w=1.3, cpi_prev=1.25)
    sy = System(cal, exo)
    x = cal.x0 + 0.03 * np.random.default_rng(0).standard_normal(N_VARS)
    h = 1e-7
    fd = np.column_stack(
        [(sy.residuals(x + h * e) - sy.residuals(x - h * e)) / (2 * h) for e in np.eye(N_VARS)]
    )
    np.testing.assert_allclose(sy.jacobian(x), fd, atol=1e-6)


def test_benchmark_replication_and_perturbed_start_converges_back(cal) -> None:
    assert np.abs(residuals(cal.x0, cal, cal.exo0)).max() < 1e-12
    sol = unpack(cal.x0, cal, cal.exo0)
    assert sol.gdp_real == pytest.approx(175.0)
    assert pytest.approx(cal.params.U0) == sol.U and sol.Pc == pytest.approx(1.0)
    np.testing.assert_allclose(sol.p, 1.0)
    rng = np.random.default_rng(1)
    for _ in range(5):
        start = cal.x0 + 0.05 * rng.standard_normal(N_VARS)
        res = solve_direct(cal, cal.exo0, start)
        assert res.converged and res.max_residual < 1e-10
        np.testing.assert_allclose(res.x, cal.x0, atol=1e-9)


def test_walras_law_holds_in_every_solved_period(cal) -> None:
    from cappuccino_core.cge.dynamics import simulate_macro
    from cappuccino_core.cge.regimes import REGIME_PARAMS

    rng = np.random.default_rng(2)
    for R in REGIME_PARAMS.values():
        for _ in range(3):
            mp = simulate_macro(cal, R, rng.standard_normal((6, 5)))
            assert mp.converged
            assert np.abs(mp.col("walras")).max() < 1e-9
            assert mp.col("max_residual").max() < TOL
    # it is a real check: away from the equilibrium S - I is not zero
    x = cal.x0.copy()
    x[23] += 0.01  # private saving 1% off
    assert abs(walras_residual(x, cal.exo0)) > 1e-3


def test_homogeneity_of_degree_zero(cal) -> None:
    """Numeraire and every nominal exogenous value x2: every price (Pc too) doubles, real quantities, U and
    i do not move."""
    exo = cal.exo0.replace(
        A=np.array([0.98, 0.99, 0.97]), rp=0.065, eps_m=0.004, nu=0.2, w=1.07, cpi_prev=1.05
    )
    a = solve_direct(cal, exo, cal.x0)
    b = solve_direct(cal, exo.replace(w=2 * exo.w, cpi_prev=2 * exo.cpi_prev), cal.x0)
    assert a.converged and b.converged
    sa, sb = unpack(a.x, cal, exo), unpack(b.x, cal, exo.replace(cpi_prev=2 * exo.cpi_prev))
    for name in ("p", "py", "rk"):
        np.testing.assert_allclose(getattr(sb, name), 2 * getattr(sa, name), rtol=1e-10)
    for name in ("pk", "CPI", "Pc", "YH", "Td", "Sp", "Sg", "gdp_nominal"):
        assert getattr(sb, name) == pytest.approx(2 * getattr(sa, name), rel=1e-10)
    for name in ("Z", "L", "C", "XV"):
        np.testing.assert_allclose(getattr(sb, name), getattr(sa, name), rtol=1e-10)
    for name in ("I", "gdp_real", "U", "i", "pi"):
        assert getattr(sb, name) == pytest.approx(getattr(sa, name), rel=1e-10, abs=1e-12)
    real = np.setdiff1d(np.arange(N_VARS), NOMINAL_LOG_SLOTS)
    np.testing.assert_allclose(b.x[real], a.x[real], atol=1e-10)
    np.testing.assert_allclose(b.x[NOMINAL_LOG_SLOTS] - a.x[NOMINAL_LOG_SLOTS], np.log(2.0), atol=1e-10)


def test_rate_hike_lowers_investment_and_crypto_price(cal) -> None:
    base = solve_direct(cal, cal.exo0, cal.x0)
    hike = solve_direct(cal, cal.exo0.replace(eps_m=0.005), cal.x0)
    s0, s1 = unpack(base.x, cal, cal.exo0), unpack(hike.x, cal, cal.exo0)
    assert s1.i > s0.i
    assert s1.I < s0.I
    assert s1.Pc < s0.Pc


def test_tfp_fall_raises_inflation_and_unemployment(cal) -> None:
    exo = cal.exo0.replace(A=cal.exo0.A * 0.97)
    res, _ = solve_period(cal, cal.exo0, cal.x0, exo)
    s0, s1 = unpack(cal.x0, cal, cal.exo0), unpack(res.x, cal, exo)
    assert s1.pi > s0.pi
    assert s1.U > s0.U
    assert s1.gdp_real < s0.gdp_real


def test_risk_premium_rise_lowers_investment_and_the_central_bank_cuts(cal) -> None:
    exo = cal.exo0.replace(rp=cal.exo0.rp + 0.01)
    res = solve_direct(cal, exo, cal.x0)
    s0, s1 = unpack(cal.x0, cal, cal.exo0), unpack(res.x, cal, exo)
    assert s1.I < s0.I and s1.i < s0.i and s1.Pc < s0.Pc


def test_convergence_is_judged_by_the_residual_not_the_success_flag(cal, monkeypatch) -> None:
    exact = cal.x0.copy()
    monkeypatch.setattr(solver, "root", lambda *a, **k: SimpleNamespace(x=exact, success=False, nfev=1))
    assert solve_direct(cal, cal.exo0, cal.x0).converged  # scipy "failed" at residual ~1e-15: accepted
    wrong = cal.x0 + 0.01
    monkeypatch.setattr(solver, "root", lambda *a, **k: SimpleNamespace(x=wrong, success=True, nfev=1))
    res = solve_direct(cal, cal.exo0, cal.x0)
    assert not res.converged and res.max_residual > TOL  # scipy "succeeded" off the equilibrium: refused


def test_homotopy_fallback_when_the_direct_solve_fails(cal, monkeypatch) -> None:
    target = cal.exo0.replace(A=cal.exo0.A * 0.9, rp=0.09)
    direct = solve_direct(cal, target, cal.x0)
    real_solve = solver.solve_direct
    calls = []

    def flaky(c, exo, guess, tol=TOL):  # the first (direct) attempt fails, the small steps succeed
        calls.append(exo)
        res = real_solve(c, exo, guess, tol)
        return res if len(calls) > 1 else SimpleNamespace(**{**res.__dict__, "converged": False})

    monkeypatch.setattr(solver, "solve_direct", flaky)
    res, n = solve_period(cal, cal.exo0, cal.x0, target, steps=10)
    assert res.method == "homotopy" and res.converged and n == 11
    np.testing.assert_allclose(res.x, direct.x, atol=1e-9)
    assert calls[1].rp == pytest.approx(
        cal.exo0.rp + 0.1 * (0.09 - cal.exo0.rp)
    )  # first step: 10% of the shock


def test_a_period_without_equilibrium_is_reported_failed(cal) -> None:
    exo = cal.exo0.replace(A=cal.exo0.A * 0.2)  # output cannot meet real demand: no equilibrium nearby
    res, calls = solve_period(cal, cal.exo0, cal.x0, exo, steps=4)
    assert not res.converged and res.method == "failed" and calls > 1


def test_policy_rate_respects_the_smooth_zero_lower_bound(cal) -> None:
    from cappuccino_core.cge.dynamics import simulate_macro
    from cappuccino_core.cge.regimes import regime

    mp = simulate_macro(cal, regime("crisis"), np.zeros((6, 5)))
    i = mp.col("policy_rate")
    assert i.min() > 0.0  # never negative
    assert i.min() < 0.002  # but the bound binds in a crisis: the rule alone would ask for less than zero
    assert mp.col("inflation").min() < 0.0
