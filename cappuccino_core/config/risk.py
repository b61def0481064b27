"""Risk settings: thresholds of the risk manager's rules, the conviction scorer and the bar loop's guards.

Fractions are of account equity unless a field says otherwise. A rule whose threshold is ``None`` is off.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from cappuccino_core.config.base import Section


class ConvictionConfig(Section):
    """Conviction = weighted mean of component scores in [0, 1]; below ``threshold`` the trader holds."""

    enabled: bool = Field(True, description="apply the conviction filter to buy orders")
    threshold: float = Field(0.5, ge=0, le=1, description="minimum conviction score to open or add")
    w_confidence: float = Field(
        0.35,
        ge=0,
        description="weight of policy confidence (1 - normalised entropy of the action distribution)",
    )
    w_volatility: float = Field(0.15, ge=0, description="weight of the low-volatility score")
    w_volume: float = Field(0.15, ge=0, description="weight of the volume score (bar volume vs its mean)")
    w_win_rate: float = Field(0.15, ge=0, description="weight of the recent win rate of closed trades")
    w_trend: float = Field(
        0.2, ge=0, description="weight of multi-timeframe trend agreement with the order's direction"
    )
    vol_reference: float = Field(
        0.02, gt=0, description="per-bar return volatility at which the volatility score is 0.5"
    )
    entropy_max_std: float = Field(
        1.0, gt=0, description="Gaussian policy std at which confidence is 0 (std -> 0 gives confidence 1)"
    )
    win_rate_prior: float = Field(0.5, ge=0, le=1, description="win rate assumed before any closed trade")
    trend_windows: tuple[int, ...] = Field(
        (24, 96, 384),
        description="bar windows of the moving averages whose slopes must agree (multi-timeframe)",
    )

    @model_validator(mode="after")
    def _some_weight(self) -> ConvictionConfig:
        if self.w_confidence + self.w_volatility + self.w_volume + self.w_win_rate + self.w_trend <= 0:
            raise ValueError("conviction weights are all 0")
        if not self.trend_windows or min(self.trend_windows) < 2:
            raise ValueError("trend_windows must be non-empty windows of >= 2 bars")
        return self


class RiskConfig(Section):
    """``[risk]``: the risk manager's limits and stops, applied to every order of the trading loop."""

    max_position_fraction: float = Field(0.30, gt=0, le=1, description="max value of one asset / equity")
    stop_loss: float | None = Field(
        0.10, gt=0, lt=1, description="sell the whole position this far below entry"
    )
    trailing_stop: float | None = Field(
        None, gt=0, lt=1, description="sell the whole position this far below its highest price since entry"
    )
    portfolio_trailing_stop: float | None = Field(
        0.015, gt=0, lt=1,
        description="equity this far below its peak: flatten everything and no buys until the next UTC day",
    )  # fmt: skip
    take_profit: float | None = Field(0.03, gt=0, description="gain over entry price that takes profit")
    take_profit_fraction: float = Field(
        0.5, gt=0, le=1, description="fraction of the position sold at take profit"
    )
    daily_loss_limit: float | None = Field(
        0.02, gt=0, lt=1, description="equity this far below the UTC day's opening equity: no buys that day"
    )
    max_trades_per_day: int | None = Field(
        20,
        ge=1,
        description="buys are placed only while the UTC day's trade count stays within this (exits always)",
    )
    loss_streak: int | None = Field(3, ge=1, description="consecutive losing exits that start a cooldown")
    cooldown_hours: float = Field(4.0, gt=0, description="no buys for this long after a losing streak")
    max_trade_fraction: float | None = Field(0.10, gt=0, le=1, description="max notional of one buy / equity")
    min_trade_value: float = Field(10.0, ge=0, description="orders below this notional (quote) are dropped")
    prop_max_daily_loss: float | None = Field(
        0.05,
        gt=0,
        lt=1,
        description="prop-firm guard: day loss from opening equity that flattens and halts the day",
    )
    prop_max_total_loss: float | None = Field(
        0.10,
        gt=0,
        lt=1,
        description="prop-firm guard: loss from initial equity that flattens and halts for good",
    )
    max_signals_per_hour: int | None = Field(
        30, ge=1, description="buy orders placed per UTC clock hour at most (exits always allowed)"
    )
    max_bar_age_s: float = Field(
        7200.0, gt=0, description="bar loop: a bar closed longer ago than this is stale and not traded"
    )
    conviction: ConvictionConfig = Field(default_factory=ConvictionConfig, description="conviction scorer")
    rules: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="risk rules with their own settings, by rule name (e.g. time_of_day: {factor: 0.5}); "
        "a rule named here is on unless its settings say enabled: false",
    )
