"""From the policy's actions (one number in [-1, 1] per asset) to desired orders (base quantities).

Two mappings, chosen by ``EnvConfig.action_mode``; both size orders from the equity E before the step,
marked at the decision bar's reference price p, and both hand their orders to the order rules (rules.py)
that round them, drop the small ones and enforce cash reserve and position cap:

``target_weight`` (default)
    a_i -> target weight w_i = max(a_i, 0) x position_cap   (a_i x position_cap when allow_short)
    order q_i = w_i x E / p_i - holding_i: the trade that takes the asset to its target weight.
    a_i <= 0 means "hold none of it", a_i = 1 "hold as much as the cap allows". When the targets add up
    to more than the cash left over the reserve, the cash-reserve rule scales all buys down by one factor.

``trade_fraction``
    a_i -> order q_i = a_i x max_trade_fraction x E / p_i: buy (a > 0) or sell (a < 0) that fraction of
    equity's worth; a_i = 0 means "do nothing". Sells beyond the holding are cut by the no-short rule.

Actions outside [-1, 1] are clipped first (a policy's Gaussian samples often are).
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.order_math import desired_batch


def desired_orders(
    actions: np.ndarray, env: EnvConfig, equity: np.ndarray, holdings: np.ndarray, prices: np.ndarray
) -> np.ndarray:
    """(N, A) signed base quantities the actions ask for, before any order rule
    (order_math.desired_row, the same function the kernel's fused step calls)."""
    f64 = np.ascontiguousarray
    out = np.empty(np.shape(holdings), dtype=np.float64)
    desired_batch(
        f64(actions, dtype=np.float64), env.action_mode == "target_weight", env.allow_short,
        float(env.position_cap), float(env.max_trade_fraction), f64(equity, dtype=np.float64),
        f64(holdings, dtype=np.float64), f64(prices, dtype=np.float64), out,
    )  # fmt: skip
    return out
