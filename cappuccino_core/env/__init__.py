"""The one step kernel (numpy state, compiled loops), its gymnasium and SB3 VecEnv views, order rules."""

from cappuccino_core.env.kernel import StepResult, TradingKernel
from cappuccino_core.env.rules import OrderContext, OrderRule, default_rules

__all__ = ["OrderContext", "OrderRule", "StepResult", "TradingKernel", "default_rules"]
