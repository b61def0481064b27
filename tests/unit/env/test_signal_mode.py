"""action_mode = "signal": enter (the full target) / hold / exit, hand-computed.

Equity 10,000 and prices 100 in the mapping cases (1 unit = 1% of equity); position_cap 0.3, rebalance_band
0.02 (full target 28% = 28 units), hold_band 0.1, min_order_fraction 0.002.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cappuccino_core.backtest.baselines import make_baseline
from cappuccino_core.common.policy import policy_env
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import desired_orders, mode_code, weights_env, weights_to_actions
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices
from cappuccino_core.strategies import make_strategy

SIG = EnvConfig(
    action_mode="signal",
    position_cap=0.3,
    cash_reserve=0.05,
    hold_band=0.1,
    rebalance_band=0.02,
    min_order_fraction=0.002,
)
FEES = CostsConfig(maker_fee=0.001, taker_fee=0.001, slippage_bps=5.0, slippage_vol_mult=0.0)


def orders(actions: list[float], holdings: list[float], env: EnvConfig = SIG) -> list[float]:
    h = np.atleast_2d(np.asarray(holdings, dtype=float))
    a = np.atleast_2d(np.asarray(actions, dtype=float))
    return desired_orders(a, env, np.array([10_000.0]), h, np.full(h.shape, 100.0))[0].tolist()


def test_any_action_above_the_hold_region_enters_at_the_full_target() -> None:
    # From flat: a = 0.11, 0.55 and 1 all mean "in": 28% = 28 units (target_weight: 0.55 -> a' 0.5 -> 14).
    assert orders([0.11, 0.55, 1.0, 1.7], [0.0, 0.0, 0.0, 0.0]) == pytest.approx([28.0] * 4, rel=1e-12)
    tw = SIG.model_copy(update={"action_mode": "target_weight"})
    assert orders([0.55], [0.0], env=tw)[0] == pytest.approx(14.0, rel=1e-12)


def test_inside_the_hold_region_nothing_is_sent_whatever_is_held() -> None:
    assert orders([0.1, -0.1, 0.0, 0.05], [13.0, 13.0, 0.0, 40.0]) == [0.0, 0.0, 0.0, 0.0]


def test_below_the_hold_region_the_whole_position_is_sold() -> None:
    # 13 units: all sold; 0.1 unit (0.1% of equity, inside the band and under the minimum share): still
    # sold, an exit always passes; nothing held: nothing to sell.
    assert orders([-0.2, -1.0, -0.5], [13.0, 0.1, 0.0]) == [-13.0, -0.1, 0.0]


def test_enter_while_in_tops_up_or_trims_to_the_full_target_outside_the_band() -> None:
    # Held 13% -> buy 15; 27% is within 2 points of 28%: nothing; 31% (drifted over the cap) -> sell 3.
    assert orders([0.5, 0.5, 0.5], [13.0, 27.0, 31.0]) == pytest.approx([15.0, 0.0, -3.0], rel=1e-12)


def test_without_a_hold_region_only_a_zero_action_holds() -> None:
    env = SIG.model_copy(update={"hold_band": 0.0})
    assert orders([0.0, -0.001, 0.001], [13.0, 13.0, 0.0], env=env) == pytest.approx([0.0, -13.0, 28.0])


def test_signal_mode_refuses_short_positions() -> None:
    with pytest.raises(ValidationError, match=r"'signal' is long or flat.*allow_short = true"):
        EnvConfig(action_mode="signal", allow_short=True)
    with pytest.raises(ValueError, match="unknown action_mode 'weights'"):
        mode_code("weights")


def test_weights_to_actions_enter_hold_exit_and_partial_weights_refused() -> None:
    current = np.array([[0.0, 0.13, 0.2, 0.28]])
    target = np.array([[0.28, 0.13, 0.0, 0.28]])
    a = weights_to_actions(target, current, SIG)
    assert a.tolist() == [[1.0, 0.0, -1.0, 0.0]]
    assert orders(a[0].tolist(), (current[0] * 100).tolist()) == pytest.approx([28.0, 0.0, -20.0, 0.0])
    with pytest.raises(ValueError, match=r"target weight 0\.14 at \(0, 1\)"):
        weights_to_actions(np.array([[0.28, 0.14]]), np.array([[0.0, 0.0]]), SIG)


def test_weight_stating_policies_run_under_target_weight() -> None:
    assert weights_env(SIG).action_mode == "target_weight" and weights_env(SIG).hold_band == SIG.hold_band
    tw = SIG.model_copy(update={"action_mode": "target_weight"})
    assert weights_env(tw) is tw
    ew = make_baseline("equal_weight", ("A/USD", "B/USD"), SIG)
    assert policy_env(ew, SIG).action_mode == "target_weight"
    assert make_strategy("trend").policy(env=SIG).run_env.action_mode == "target_weight"


def ledger(env: EnvConfig, actions: np.ndarray, fused: bool) -> tuple[np.ndarray, object]:
    rng = np.random.default_rng(5)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (actions.shape[0] + 1, 3)), axis=0))
    k = TradingKernel(
        dataset_from_prices(prices), env, FEES, 1, rules=None if fused else default_rules(env), record=True
    )
    k.reset(starts=np.array([0]), ends=np.array([actions.shape[0]]))
    for a in actions:
        k.step(a[None, :])
    assert k.recorder is not None
    ep = k.recorder.episode(0)
    return ep.equity, ep.ledger


def test_signal_equals_target_weight_at_plus_minus_one_and_the_fused_step_equals_the_rules() -> None:
    # Actions wandering inside "in", "out" and "hold" in signal mode trade exactly like target_weight mode
    # given +1 / -1 / 0: the size of an action beyond the hold region means nothing.
    rng = np.random.default_rng(11)
    n = 200
    regime = np.repeat(rng.choice([-1.0, 0.0, 1.0], size=(n // 20, 3)), 20, axis=0)
    actions = regime * rng.uniform(0.15, 1.0, (n, 3)) + (regime == 0.0) * rng.uniform(-0.1, 0.1, (n, 3))
    eq_sig, led_sig = ledger(SIG, actions, fused=True)
    eq_cls, led_cls = ledger(SIG, actions, fused=False)
    tw = SIG.model_copy(update={"action_mode": "target_weight"})
    eq_tw, led_tw = ledger(tw, regime, fused=True)
    np.testing.assert_array_equal(eq_sig, eq_cls)
    np.testing.assert_array_equal(eq_sig, eq_tw)
    assert led_sig.equals(led_cls) and led_sig.equals(led_tw)  # type: ignore[attr-defined]
    # The same wandering actions in target_weight mode re-target whenever the size moves 2 points.
    _, led_wander = ledger(tw, actions, fused=True)
    switches = int((np.diff(regime, axis=0) != 0).sum())  # 24 here (9 of them change the position)
    assert led_sig.height <= switches and led_wander.height > 5 * led_sig.height  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=3, max_size=3),
    w=st.lists(st.floats(0.0, 0.5, allow_nan=False), min_size=3, max_size=3),
    hold=st.sampled_from([0.0, 0.1, 0.3]),
    band=st.sampled_from([0.0, 0.02, 0.05]),
)
def test_signal_orders_hold_in_the_region_and_go_to_full_or_zero_outside(
    a: list[float], w: list[float], hold: float, band: float
) -> None:
    env = SIG.model_copy(update={"hold_band": hold, "rebalance_band": band, "min_order_fraction": 0.0})
    held = np.asarray(w) * 100.0  # units at price 100 of equity 10,000
    q = np.asarray(orders(a, held.tolist(), env=env))
    x = np.clip(a, -1.0, 1.0)
    full = (0.3 - band) * 100.0
    inside = np.abs(x) <= hold
    assert np.all(q[inside] == 0.0)  # never a trade inside the hold region
    out = ~inside & (x < 0.0)
    assert np.all(q[out] == -held[out])  # an exit sells exactly the holding
    enter = ~inside & (x > 0.0)
    after = held + q
    # "in": the full target, untouched when already within the band of it; never beyond the cap.
    ok = np.isclose(after, full, rtol=1e-12) | ((q == 0.0) & (np.abs(held - full) <= band * 100.0 + 1e-9))
    assert np.all(ok[enter])
    assert np.all(after[enter] <= np.maximum(held[enter], 30.0))
