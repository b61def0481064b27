"""The one step kernel (batched numpy) and its views: gymnasium env, SB3 VecEnv; order rules."""

from cappuccino_core.env.kernel import StepResult, TradingKernel
from cappuccino_core.env.rules import OrderContext, OrderRule, default_rules

__all__ = ["OrderContext", "OrderRule", "StepResult", "TradingKernel", "default_rules"]
