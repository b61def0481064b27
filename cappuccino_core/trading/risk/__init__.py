"""The risk manager: one rule per file behind the kernel's OrderRule interface (see manager.py)."""

from cappuccino_core.trading.risk.base import AccountState, FillEvent, StatefulRule
from cappuccino_core.trading.risk.manager import RiskManager, rules_from_config

__all__ = ["AccountState", "FillEvent", "RiskManager", "StatefulRule", "rules_from_config"]
