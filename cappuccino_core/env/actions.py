"""From the policy's actions (one number in [-1, 1] per asset) to desired orders (base quantities).

Three mappings, chosen by ``EnvConfig.action_mode``; all size orders from the equity E before the step,
marked at the decision bar's reference price p, and all hand their orders to the order rules (rules.py)
that round them, drop the small ones and enforce cash reserve and position cap. The compiled arithmetic
(order_math.desired_row) takes the mode as a code, :func:`mode_code`.

Turnover controls, common to all three (``hold_band`` h, ``rebalance_band`` b, ``min_order_fraction`` m):

- hold region (h > 0): |a_i| <= h means "keep asset i as it is": no order. Outside it the action is rescaled,
  a' = sign(a) (|a| - h) / (1 - h), so +-1 still means the full target. A policy whose output sits near
  0 (an untrained Gaussian policy's mean) therefore does not trade.
- minimum order share: an order worth less than m x E is not sent, unless it closes the position.

``target_weight`` (default)
    a'_i -> target weight w_i = max(a'_i, 0) x (position_cap - b)   (a'_i x (cap - b) when allow_short)
    order q_i = w_i x E / p_i - holding_i: the trade that takes the asset to its target weight, sent only
    when it moves the weight by more than b (the no-trade band) or closes the position (w_i = 0).
    Targets stop b under the cap so that price drift alone never forces the cap rule to trim every bar.
    When the targets add up to more than the cash left over the reserve, the cash-reserve rule scales all
    buys down by one factor.

``trade_fraction``
    a'_i -> order q_i = a'_i x max_trade_fraction x E / p_i: buy (a > 0) or sell (a < 0) that fraction of
    equity's worth. Sells beyond the holding are cut by the no-short rule.

``signal`` (enter / hold / exit, the action space of a trend rule with hysteresis)
    a_i > h -> target weight w_i = position_cap - b (the full target, target_weight's ceiling);
    a_i < -h -> exit, w_i = 0; |a_i| <= h -> hold (no order; with h = 0 only a_i = 0 holds). The order
    is target_weight's: q_i = w_i x E / p_i - holding_i, sent only when it moves the weight by more than b
    or closes the position. The size of a_i beyond the hold region means nothing, so a policy whose output
    wanders inside "in" or inside "out" does not trade; it pays fees only when it switches. Long or flat
    only: EnvConfig refuses ``allow_short`` with this mode.

Decision interval (``decision_every`` k): orders are placed only on decision bars, the bars whose
absolute index (bar open time // bar length) is a multiple of k; in between the portfolio is held as it
is (the kernel still rewards every bar); only the limit rules (cash reserve, position cap, the live risk
rules) may trade there, when price drift has pushed a position past a limit. :func:`decision_bars` and
:func:`is_decision_bar` are the one definition the kernel (training, backtests, stress gate, arena) and
the live bar loop share.

Actions outside [-1, 1] are clipped first (a policy's Gaussian samples often are).
:func:`weights_to_actions` is the inverse used by rule-based strategies: target weights -> actions. A
partial weight cannot be expressed in signal mode, so rule-based policies state their weights under
:func:`weights_env` (signal -> target_weight, whose full target is the same; action smoothing off).

Action smoothing (``action_smoothing`` alpha > 0, all modes): the kernel replaces each decision bar's
actions by an exponential moving average per asset, a_eff = alpha x a_eff_prev + (1 - alpha) x clip(a),
starting at 0 (hold) with each episode (kernel.TradingKernel.smooth); the mapping above sees a_eff. A
policy must keep asking for a switch for ~1 / (1 - alpha) decisions before it happens. The live bar loop
refuses it (trading/loop/trader.py): its state would not survive a restart.
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.order_batch import desired_batch
from cappuccino_core.env.order_math import MODE_SIGNAL, MODE_TARGET_WEIGHT, MODE_TRADE_FRACTION

MODE_CODES = {
    "trade_fraction": MODE_TRADE_FRACTION,
    "target_weight": MODE_TARGET_WEIGHT,
    "signal": MODE_SIGNAL,
}


def mode_code(action_mode: str) -> int:
    """The compiled arithmetic's code (order_math.MODE_*) of ``EnvConfig.action_mode``."""
    try:
        return MODE_CODES[action_mode]
    except KeyError:
        raise ValueError(f"unknown action_mode {action_mode!r}; known: {sorted(MODE_CODES)}") from None


def weights_env(env: EnvConfig) -> EnvConfig:
    """The env a policy that states target weights (strategies, baselines) runs under: ``env``, with
    signal mode replaced by target_weight (signal mode cannot express a partial weight; its full target,
    position_cap - rebalance_band, is target_weight's at a = 1) and action smoothing off (a smoothed
    action would no longer be the weight stated). ``env`` itself when neither applies."""
    update: dict[str, object] = {}
    if env.action_mode == "signal":
        update["action_mode"] = "target_weight"
    if env.action_smoothing > 0.0:
        update["action_smoothing"] = 0.0
    return env.model_copy(update=update) if update else env


def desired_orders(
    actions: np.ndarray, env: EnvConfig, equity: np.ndarray, holdings: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """(N, A) signed base quantities the actions ask for, before any order rule
    (order_math.desired_row, the same function the kernel's fused step calls)."""
    f64 = np.ascontiguousarray
    out = np.empty(np.shape(holdings), dtype=np.float64)
    desired_batch(
        f64(actions, dtype=np.float64), mode_code(env.action_mode), env.allow_short,
        float(env.position_cap), float(env.max_trade_fraction), f64(equity, dtype=np.float64),
        f64(holdings, dtype=np.float64), f64(prices, dtype=np.float64), out,
        float(env.hold_band), float(env.rebalance_band), float(env.min_order_fraction),
    )  # fmt: skip
    return out


def decision_bars(times_ns: np.ndarray, bar_ns: int, every: int) -> np.ndarray:
    """(T,) bool: which bars (open times in ns since the epoch) are decision bars for interval ``every``."""
    if bar_ns <= 0 or every < 1:
        raise ValueError(f"decision_bars: bar length {bar_ns} ns and interval {every} must be positive")
    times = np.asarray(times_ns, dtype=np.int64)
    if every == 1:
        return np.ones(times.shape, dtype=bool)
    return (times // np.int64(bar_ns)) % np.int64(every) == 0


def is_decision_bar(time_ns: int, bar_ns: int, every: int) -> bool:
    """Whether the bar opening at ``time_ns`` is a decision bar (:func:`decision_bars` for one bar)."""
    return bool(decision_bars(np.array([time_ns], dtype=np.int64), bar_ns, every)[0])


def weights_to_actions(target: np.ndarray, current: np.ndarray, env: EnvConfig) -> np.ndarray:
    """Actions that move current weights (N, A) to target weights (N, A) under ``env``'s mapping.

    A target equal to the current weight (within 1e-12) is "hold": action 0 when there is a hold region
    (hold_band > 0), in trade_fraction mode or in signal mode, else the target's own action.
    target_weight mode: a target of 0 is an exit (-1 with a hold region, 0 without); a positive target w
    becomes the action whose rescaled value is w / (position_cap - rebalance_band) (clipped to 1: such a
    target is capped). trade_fraction mode: the weight change as a fraction of max_trade_fraction, past the
    hold region. signal mode: a target of 0 is -1 (exit), the full target position_cap - rebalance_band
    (or more: capped) is +1 (enter); any other positive target cannot be expressed and is refused with a
    ValueError (state weights under :func:`weights_env`).
    """
    target = np.asarray(target, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    h = env.hold_band
    same = np.abs(target - current) <= 1e-12
    if env.action_mode == "signal":
        return _signal_actions(target, same, env.position_cap - env.rebalance_band)
    if env.action_mode == "target_weight":
        x = np.clip(target / (env.position_cap - env.rebalance_band), -1.0, 1.0)
    else:
        x = np.clip((target - current) / env.max_trade_fraction, -1.0, 1.0)
    a = np.sign(x) * (h + np.abs(x) * (1.0 - h))
    if env.action_mode == "target_weight" and h > 0.0 and not env.allow_short:
        a = np.where(target <= 0.0, -1.0, a)  # an exit; without a hold region 0 already means weight 0
    if h > 0.0 or env.action_mode != "target_weight":
        a = np.where(same, 0.0, a)
    return a


def _signal_actions(target: np.ndarray, same: np.ndarray, full: float) -> np.ndarray:
    """signal mode's :func:`weights_to_actions`: hold, exit (-1) or enter (+1); a partial weight refused."""
    enter = target >= full * (1.0 - 1e-9)
    partial = ~same & ~enter & (target > 0.0)
    if partial.any():
        i = tuple(int(k) for k in np.argwhere(partial)[0])
        raise ValueError(
            f"weights_to_actions: action_mode 'signal' holds, exits or goes to the full target "
            f"{full:g}; target weight {float(target[i]):g} at {i} is none of these (state partial weights "
            "under env.actions.weights_env, i.e. action_mode 'target_weight')"
        )
    return np.where(same, 0.0, np.where(enter, 1.0, -1.0))
