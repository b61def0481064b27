"""Load (or compile) the simulator's compiled code before the first bar that matters.

numba compiles a function on its first call, or loads it from the cache (jit.py): about 0.5 s for the
whole set from the cache, about 8 s when it must compile. A live trader should not spend that on its first
tick, so it calls :func:`warm_up` when it starts; later calls return at once.
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import desired_orders
from cappuccino_core.env.observation import ObservationBuilder
from cappuccino_core.env.rules import OrderContext, apply_rules, default_rules

_warm = False


def warm_up() -> None:
    """Run the rule classes, desired orders, settlement and the observation once on a tiny account."""
    global _warm
    if _warm:
        return
    for allow_short in (False, True):
        env = EnvConfig(allow_short=allow_short)
        ctx = OrderContext(
            prices=np.array([[100.0, 10.0]]), cash=np.array([1_000.0]), holdings=np.array([[1.0, 0.0]]),
            slippage=np.full((1, 2), 1e-3), fee_rate=0.006, lot=np.full(2, 1e-8), min_order_value=1.0,
            time=np.zeros(1, dtype=np.int64),
        )  # fmt: skip
        wanted = desired_orders(np.array([[1.0, -1.0]]), env, ctx.equity, ctx.holdings, ctx.prices)
        ctx.settle(apply_rules(default_rules(env), wanted, ctx))
        ctx.legal_buy(wanted), ctx.legal_sell(wanted)
    ObservationBuilder(np.zeros((2, 2, 1), dtype=np.float32), 1)(
        np.array([1]), np.array([1.0]), np.zeros((1, 2)), np.ones((1, 2))
    )
    _warm = True
