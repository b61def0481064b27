"""Max position per asset: |holding| x price <= ``fraction`` x equity after the fills (the kernel's own
:class:`~cappuccino_core.env.rules.PositionCap`, which holds this exactly after fees and slippage)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cappuccino_core.env.rules import OrderContext, PositionCap
from cappuccino_core.trading.risk.base import risk_rule

if TYPE_CHECKING:
    from cappuccino_core.config.risk import RiskConfig


@risk_rule
class MaxPosition:
    """Buys are cut so that ``|holding| x price`` stays within ``fraction`` of equity per asset."""

    name = "max_position"
    stage = 90

    @classmethod
    def from_config(cls, cfg: RiskConfig) -> MaxPosition | None:
        """The rule from the risk settings; ``None`` when it is off."""
        return cls(cfg.max_position_fraction)

    def __init__(self, fraction: float) -> None:
        self.cap = PositionCap(fraction)

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        return self.cap.apply(qty, ctx)
