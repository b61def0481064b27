"""The bar loop shared by paper and live trading (bar checks, client order ids, the loop itself)."""

from cappuccino_core.trading.loop.bars import bad_bar_reason
from cappuccino_core.trading.loop.trader import BarLoop, TickResult

__all__ = ["BarLoop", "TickResult", "bad_bar_reason"]
