"""Gate 1: tiers by study maturity; a losing policy fails with its figure and threshold, a good one passes."""

from __future__ import annotations

import pytest

from cappuccino_core.backtest.baselines import make_baseline
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.gates import GatesConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.features.dataset import SOURCE_REAL
from cappuccino_core.gates import run_backtest_gate, tier_for
from tests.env_presets import NO_BAND
from tests.unit.gates.policies import Alternate, Constant

CFG = GatesConfig()
FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)


def _real(data):
    data.source[:] = SOURCE_REAL  # toy data stands in for a real held-out window
    return data


@pytest.mark.parametrize(
    ("n", "loss", "sharpe", "profit", "dd"),
    [(0, 0.5, None, False, None), (49, 0.5, None, False, None), (50, 0.2, -0.5, False, None),
     (199, 0.2, -0.5, False, None), (200, 0.1, 0.0, False, None), (500, 0.1, 0.3, True, 0.15),
     (10_000, 0.1, 0.3, True, 0.15)],
)  # fmt: skip
def test_tiers_follow_the_issue(n, loss, sharpe, profit, dd) -> None:
    t = tier_for(n, CFG)
    assert (t.max_loss, t.min_sharpe, t.require_profit, t.max_drawdown) == (loss, sharpe, profit, dd)


def test_losing_policy_fails_and_says_why() -> None:
    data = _real(toy_dataset(300, 3, 2, 4, seed=1))
    v, res = run_backtest_gate(Alternate(3), data, EnvConfig(**NO_BAND), CostsConfig(), CFG, 0, run_id="r1")
    assert not v.passed and res.summary.total_return < -0.5
    [failed] = v.failed_checks
    assert failed.name == "total_return" and failed.threshold == -0.5
    assert "total_return" in v.explain() and "needs > -0.5" in v.explain()
    assert {"sharpe", "equal_weight_sharpe", "btc_hold_sharpe"} <= set(v.figures)


def test_flat_policy_passes_a_young_study_but_not_a_mature_one() -> None:
    data = _real(toy_dataset(300, 3, 2, 4, seed=2))
    flat = Constant(3, -1.0)
    young, res = run_backtest_gate(flat, data, EnvConfig(**NO_BAND), CostsConfig(), CFG, 10)
    assert young.passed and res.summary.total_return == 0.0 and res.ledger.height == 0
    mature, _ = run_backtest_gate(flat, data, EnvConfig(**NO_BAND), CostsConfig(), CFG, 600)
    assert not mature.passed
    assert {c.name for c in mature.failed_checks} == {"sharpe", "profit"}  # Sharpe of a flat curve: n/a


def test_a_good_policy_passes_the_strictest_tier_and_is_compared_to_benchmarks() -> None:
    data = _real(toy_dataset(400, 3, 2, 4, drift=0.002, vol=0.004, seed=3))
    env = EnvConfig(**NO_BAND, position_cap=1.0, cash_reserve=0.0)
    v, res = run_backtest_gate(make_baseline("equal_weight", data.tickers, env), data, env, FREE, CFG, 600)
    assert v.passed, v.explain()
    assert v.figures["equal_weight_sharpe"] == pytest.approx(res.summary.benchmarks["equal_weight"].sharpe)
    assert v.figures["sharpe"] == pytest.approx(
        v.figures["equal_weight_sharpe"], rel=1e-6
    )  # it IS equal weight
    assert v.inputs["tier"]["min_trials"] == 500


def test_synthetic_bars_are_refused() -> None:
    data = toy_dataset(100, 2, 1, 3, seed=4)  # tagged synthetic
    with pytest.raises(ValueError, match="synthetic"):
        run_backtest_gate(Constant(2, 0.0), data, EnvConfig(**NO_BAND), CostsConfig(), CFG, 0)
