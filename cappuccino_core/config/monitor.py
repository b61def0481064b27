"""Degradation monitor and retrain-trigger settings (section ``monitor`` of the settings).

A live or paper model is compared with its own backtest (the backtest gate's verdict): rolling Sharpe more
than ``sharpe_margin`` below the backtest's, drawdown beyond the backtest's worst (times
``drawdown_tolerance``), bar win rate outside +-``win_rate_band`` of the backtest's, and, for a model on a
paper and a live venue, total returns apart by more than ``drift_max``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cappuccino_core.config.base import Section

Finding = Literal["sharpe", "drawdown", "win_rate", "drift"]


def _demote_default() -> list[Finding]:
    return ["drawdown", "sharpe"]


class MonitorConfig(Section):
    """``[monitor]``: how live and paper models are compared with their own backtests, and what demotes."""

    window_bars: int = Field(168, ge=3, description="rolling window of the live/paper record (bars)")
    min_bars: int = Field(24, ge=3, description="fewer equity points than this: no verdict yet")
    sharpe_margin: float = Field(
        1.0, ge=0, description="alert when rolling Sharpe < backtest Sharpe - this margin (annualised)"
    )
    drawdown_tolerance: float = Field(
        1.0, ge=1.0, description="alert when drawdown is worse than the backtest's worst times this"
    )
    win_rate_band: float = Field(0.05, gt=0, lt=1, description="allowed +- of the bar win rate (fraction)")
    drift_max: float = Field(
        0.02, gt=0, description="paper vs live total return apart by more than this (fraction): drift"
    )
    live_brokers: list[str] = Field(
        default_factory=lambda: ["coinbase"], description="brokers whose equity is real money"
    )
    demote_on: list[Finding] = Field(
        default_factory=_demote_default,
        description="findings that demote through the referee (others only alert)",
    )


class RetrainTriggerConfig(Section):
    """Retrain triggers (section ``retrain``); each fires at most once per ``cooldown_hours``."""

    deployment: str = Field("retrain/monthly", description="the Prefect deployment a trigger starts")
    cooldown_hours: float = Field(
        168.0, ge=0, description="at most one triggered retrain per this many hours"
    )
    on_degradation: bool = Field(True, description="retrain when the production model degrades")
    on_account_growth: bool = Field(True, description="retrain when the account outgrew the training capital")
    account_growth: float = Field(0.10, gt=0, description="growth since the training capital (0.10 = 10%)")
    on_data_drift: bool = Field(True, description="retrain when the features drift from the training window")
    drift_metric: Literal["psi", "ks"] = Field("psi", description="per-feature drift statistic")
    drift_threshold: float = Field(0.25, gt=0, description="a feature drifts above this PSI / KS statistic")
    drift_min_features: int = Field(1, ge=1, description="features that must drift to trigger")
    drift_recent_bars: int = Field(720, ge=10, description="recent bars compared with the training window")
    parameters: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="parameters passed to the retrain deployment"
    )
