"""Trading costs. Defaults are Coinbase Advanced's entry tier (0.60% maker / 1.20% taker)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cappuccino_core.config.base import Section


class CostsConfig(Section):
    """``[costs]``: fees and slippage the simulator charges (one model for training, gates, backtests)."""

    maker_fee: float = Field(0.006, ge=0, lt=0.1, description="maker fee rate (fraction of notional)")
    taker_fee: float = Field(0.012, ge=0, lt=0.1, description="taker fee rate (fraction of notional)")
    execution: Literal["taker", "maker"] = Field(
        "taker", description="which fee the simulator charges: taker (conservative) or maker"
    )
    slippage_bps: float = Field(5.0, ge=0, description="fixed slippage in basis points, paid by every fill")
    slippage_vol_mult: float = Field(
        0.1, ge=0, description="extra slippage = mult x the bar's return volatility (fraction)"
    )
