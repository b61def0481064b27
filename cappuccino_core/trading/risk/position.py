"""Max position per asset: |holding| x price <= ``fraction`` x equity after the fills (the kernel's own
:class:`~cappuccino_core.env.rules.PositionCap`, which holds this exactly after fees and slippage)."""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext, PositionCap


class MaxPosition:
    name = "max_position"

    def __init__(self, fraction: float) -> None:
        self.cap = PositionCap(fraction)

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return self.cap.apply(qty, ctx)
