"""The decision interval (``env.decision_every`` k), hand-computed: orders only on bars whose absolute
index (bar open time // bar length) is a multiple of k, the portfolio held in between; rewards every bar.

The toy datasets start at 1,700,000,000 s floored to the hour: absolute hour index 472,222, which is 2 mod 4,
so with k = 4 the decision bars are the dataset's bars 2, 6, 10, ...
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import decision_bars, is_decision_bar
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices
from tests.env_presets import NO_BAND

H = 3_600 * 10**9
FEES = CostsConfig(maker_fee=0.0, taker_fee=0.01, slippage_bps=0.0, slippage_vol_mult=0.0)


def test_decision_bars_by_absolute_index() -> None:
    times = (472_222 + np.arange(12)) * H  # absolute hours 472,222 ... 472,233
    assert np.flatnonzero(decision_bars(times, H, 4)).tolist() == [2, 6, 10]
    assert decision_bars(times, H, 1).all()
    assert np.flatnonzero(decision_bars(times, H, 12)).tolist() == [2]  # 472,224 = 12 x 39,352
    assert is_decision_bar(480_000 * H, H, 24) and not is_decision_bar(480_001 * H, H, 24)
    with pytest.raises(ValueError, match="interval"):
        decision_bars(times, H, 0)


def traded_bars(k: int, fused: bool) -> tuple[list[int], np.ndarray]:
    """Bars with orders and the rewards, for a constant action on 20 bars of a random walk (2 assets)."""
    rng = np.random.default_rng(5)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (21, 2)), axis=0))
    env = EnvConfig(**NO_BAND, position_cap=0.4, cash_reserve=0.0, decision_every=k)
    data = dataset_from_prices(prices)
    kern = TradingKernel(data, env, FEES, 1, rules=None if fused else default_rules(env), record=True)
    kern.reset(starts=np.array([0]), ends=np.array([20]))
    bars, rewards = [], []
    for t in range(20):
        before = kern.holdings.copy()
        res = kern.step(np.full((1, 2), 0.5))  # target 20% in each asset: re-targets every bar
        rewards.append(res.reward[0])
        if not np.array_equal(kern.holdings, before):
            bars.append(t)
    return bars, np.array(rewards)


@pytest.mark.parametrize("fused", [True, False])
def test_a_constant_action_trades_only_on_decision_bars(fused: bool) -> None:
    every, _ = traded_bars(1, fused)
    assert every == list(range(20))  # without bands, drift is re-traded on every bar
    bars, rewards = traded_bars(4, fused)
    assert bars == [2, 6, 10, 14, 18]
    assert np.all(rewards != 0.0)  # rewards still every bar (held positions move with the prices)


def test_fused_and_rule_class_paths_agree_with_an_interval() -> None:
    a_bars, a_rew = traded_bars(4, True)
    b_bars, b_rew = traded_bars(4, False)
    assert a_bars == b_bars and np.array_equal(a_rew, b_rew)


def test_a_strategy_signal_between_decisions_is_carried_to_the_next_decision_bar() -> None:
    """Equal weight buys at its first bar; bar 0 is not a decision bar under k = 4 (bar 2 is): it buys there
    (before the carry, it never bought and sat in cash), and buys never again."""
    from cappuccino_core.backtest.baselines import make_baseline
    from cappuccino_core.backtest.runner import backtest

    rng = np.random.default_rng(5)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (21, 2)), axis=0))
    data = dataset_from_prices(prices)
    env = EnvConfig(**NO_BAND, position_cap=0.4, cash_reserve=0.0, decision_every=4)
    res = backtest(make_baseline("equal_weight", data.tickers, env), data, env, FEES)
    buys = res.ledger.filter(pl.col("side") == "buy")["time"].cast(pl.Int64).unique().to_numpy()
    assert np.searchsorted(data.times, buys).tolist() == [2]  # (the cap rule trims drift on other bars)


def test_a_strategy_re_target_stays_pending_until_done_under_an_interval() -> None:
    from cappuccino_core.strategies.base import plan_actions

    env = EnvConfig(position_cap=0.3, rebalance_band=0.02, decision_every=4)
    targets, no = np.array([[0.2]]), np.zeros((1, 1), dtype=bool)
    _, pending = plan_actions(targets, np.ones((1, 1), bool), np.zeros((1, 1)), np.zeros(1, bool), no, env)
    assert pending.tolist() == [[True]]  # not filled yet (a bar between decisions): carried
    a, pending = plan_actions(targets, no, np.zeros((1, 1)), np.zeros(1, bool), pending, env)
    assert a[0, 0] > 0.0 and pending.tolist() == [[True]]  # still asks for the target
    _, pending = plan_actions(targets, no, np.array([[0.19]]), np.zeros(1, bool), pending, env)
    assert pending.tolist() == [[False]]  # within the no-trade band of the target: done
    one = env.model_copy(update={"decision_every": 1})
    _, pending = plan_actions(targets, np.ones((1, 1), bool), np.zeros((1, 1)), np.zeros(1, bool), no, one)
    assert pending.tolist() == [[False]]  # every bar decides: nothing to carry (unchanged behaviour)
