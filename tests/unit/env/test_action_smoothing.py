"""env.action_smoothing: the kernel's exponential moving average of the actions, hand-computed.

a_eff = alpha x a_eff_prev + (1 - alpha) x clip(a, -1, 1) on decision bars, a_eff = 0 at each episode's
start; the order mapping sees a_eff. Signal mode with hold_band 0.25 and alpha 0.5 in the hand cases.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest
from pydantic import ValidationError

from cappuccino_core.backtest.baselines import make_baseline
from cappuccino_core.common.policy import policy_env
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import weights_env
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices
from cappuccino_core.strategies import make_strategy
from cappuccino_core.trading.loop.trader import BarLoop

SMOOTH = EnvConfig(
    action_mode="signal",
    position_cap=0.3,
    cash_reserve=0.05,
    hold_band=0.25,
    rebalance_band=0.02,
    min_order_fraction=0.002,
    action_smoothing=0.5,
)
FEES = CostsConfig(maker_fee=0.001, taker_fee=0.001, slippage_bps=5.0, slippage_vol_mult=0.0)


def kernel(env: EnvConfig, n_bars: int, n_assets: int = 2, fused: bool = True, n: int = 1) -> TradingKernel:
    rng = np.random.default_rng(3)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (n_bars + 1, n_assets)), axis=0))
    rules = None if fused else default_rules(env)
    k = TradingKernel(dataset_from_prices(prices), env, FEES, n, rules=rules, record=True)
    k.reset(starts=np.zeros(n, dtype=np.int64), ends=np.full(n, n_bars, dtype=np.int64))
    return k


def test_the_smoothed_action_decides_enter_hold_and_exit_by_hand() -> None:
    # Asset 0 asks in, in, out, out; asset 1 asks 3.0 (clipped to 1) once, then holds (0).
    # a_eff asset 0: 0.5, 0.75, -0.125 (inside the hold region: still in), -0.5625 (out).
    # a_eff asset 1: 0.5 (in), 0.25 (hold), 0.125, 0.0625: in all along.
    k = kernel(SMOOTH, 4)
    steps = [[1.0, 3.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]]
    want = [[0.5, 0.5], [0.75, 0.25], [-0.125, 0.125], [-0.5625, 0.0625]]
    held = []
    for a, w in zip(steps, want, strict=True):
        k.step(np.array([a]))
        assert k.smoothed[0].tolist() == w
        held.append((k.holdings[0] > 0.0).tolist())
    assert held == [[True, True], [True, True], [True, True], [False, True]]
    # Without smoothing the same actions exit asset 0 on the third step.
    raw = kernel(SMOOTH.model_copy(update={"action_smoothing": 0.0}), 4)
    raw.step(np.array([steps[0]]))
    raw.step(np.array([steps[1]]))
    raw.step(np.array([steps[2]]))
    assert raw.holdings[0, 0] == 0.0 and raw.smoothed[0].tolist() == [0.0, 0.0]


def test_smoothing_equals_the_unsmoothed_kernel_fed_the_moving_average() -> None:
    # target_weight mode, decision every bar: the smoothed kernel given raw actions trades exactly like an
    # unsmoothed one given the EMA of the clipped actions, computed here in plain Python.
    alpha, n = 0.7, 120
    env = SMOOTH.model_copy(update={"action_mode": "target_weight", "action_smoothing": alpha})
    raw = np.random.default_rng(9).normal(0.0, 1.2, (n, 2))
    ema, prev = np.empty_like(raw), np.zeros(2)
    for i, a in enumerate(raw):
        prev = alpha * prev + (1.0 - alpha) * np.clip(a, -1.0, 1.0)
        ema[i] = prev
    smoothed, plain = kernel(env, n), kernel(env.model_copy(update={"action_smoothing": 0.0}), n)
    for a, e in zip(raw, ema, strict=True):
        smoothed.step(a[None, :])
        plain.step(e[None, :])
    assert smoothed.recorder is not None and plain.recorder is not None
    np.testing.assert_array_equal(smoothed.recorder.episode(0).equity, plain.recorder.episode(0).equity)
    assert smoothed.recorder.episode(0).ledger.height > 0


def test_the_fused_step_equals_the_rule_classes_with_smoothing() -> None:
    rng = np.random.default_rng(4)
    n = 200
    regime = np.repeat(rng.choice([-1.0, 1.0], size=(n // 10, 3)), 10, axis=0)
    actions = regime * rng.uniform(0.0, 1.5, (n, 3)) + rng.normal(0.0, 0.5, (n, 3))
    out = []
    for fused in (True, False):
        k = kernel(SMOOTH, n, n_assets=3, fused=fused)
        for a in actions:
            k.step(a[None, :])
        assert k.recorder is not None
        out.append((k.recorder.episode(0).equity, k.recorder.episode(0).ledger, k.smoothed.copy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][2], out[1][2])
    assert out[0][1].equals(out[1][1]) and out[0][1].height > 0


def test_only_decision_bars_move_the_average_and_a_reset_clears_it() -> None:
    env = SMOOTH.model_copy(update={"decision_every": 3})
    k = kernel(env, 12, n=2)
    seen = []
    for _ in range(7):
        deciding = bool(k.decide[k.t[0]])
        before = k.smoothed.copy()
        k.step(np.ones((2, 2)))
        seen.append(deciding)
        if not deciding:
            np.testing.assert_array_equal(k.smoothed, before)  # held between decisions
    decisions = sum(seen)
    assert 0 < decisions < 7
    assert k.smoothed[0, 0] == pytest.approx(1.0 - 0.5**decisions, abs=0.0)
    k.reset(idx=np.array([1]), starts=np.array([0]), ends=np.array([12]))
    assert k.smoothed[1].tolist() == [0.0, 0.0] and k.smoothed[0, 0] > 0.0


def test_waiting_episodes_keep_their_average_and_bad_actions_change_nothing() -> None:
    k = kernel(SMOOTH, 5, n=2)
    k.step(np.ones((2, 2)), only=np.array([True, False]))
    assert k.smoothed.tolist() == [[0.5, 0.5], [0.0, 0.0]]
    with pytest.raises(ValueError, match="actions of episode 1 are not finite"):
        k.step(np.array([[1.0, 1.0], [np.nan, 1.0]]))
    assert k.smoothed.tolist() == [[0.5, 0.5], [0.0, 0.0]]


def test_weight_stating_policies_run_unsmoothed() -> None:
    tw = SMOOTH.model_copy(update={"action_mode": "target_weight"})
    assert weights_env(tw).action_smoothing == 0.0 and weights_env(tw).hold_band == tw.hold_band
    assert weights_env(SMOOTH).action_mode == "target_weight"
    assert weights_env(SMOOTH).action_smoothing == 0.0
    ew = make_baseline("equal_weight", ("A/USD", "B/USD"), tw)
    assert policy_env(ew, tw).action_smoothing == 0.0
    assert make_strategy("trend").policy(env=tw).run_env.action_smoothing == 0.0


def test_the_setting_is_checked_and_the_live_loop_refuses_it() -> None:
    with pytest.raises(ValidationError, match="action_smoothing"):
        EnvConfig(action_smoothing=1.0)
    with pytest.raises(ValidationError, match="action_smoothing"):
        EnvConfig(action_smoothing=-0.1)
    none = cast(Any, None)
    with pytest.raises(ValueError, match=r"model m1: env.action_smoothing = 0.5 .* live bar loop"):
        BarLoop(none, none, none, SMOOTH, ("A/USD",), none, run_id="r", bar_ns=3_600 * 10**9,
                max_age_s=60.0, model="m1")  # fmt: skip
