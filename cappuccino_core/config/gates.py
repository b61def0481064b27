"""Gates: the thresholds of the backtest, CGE stress and paper-trading gates (all fractions, 0.2 = 20%)."""

from __future__ import annotations

import typing
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from cappuccino_core.config.base import Section


class BacktestTier(Section):
    """One maturity tier of the backtest gate: applies from ``min_trials`` COMPLETE trials in the study."""

    min_trials: int = Field(
        ge=0, description="the tier applies to studies with at least this many COMPLETE trials"
    )
    max_loss: float = Field(
        gt=0, le=1, description="the held-out total return must be above -max_loss (0.2: lose less than 20%)"
    )
    min_sharpe: float | None = Field(
        None, description="annualised Sharpe must be above this (None: no Sharpe check in this tier)"
    )
    require_profit: bool = Field(False, description="the held-out total return must be above 0")
    max_drawdown: float | None = Field(
        None, gt=0, le=1, description="max drawdown must be smaller than this fraction (None: no check)"
    )


def _default_tiers() -> list[BacktestTier]:
    def tier(n: int, loss: float, sharpe: float | None, profit: bool, dd: float | None) -> BacktestTier:
        return BacktestTier(
            min_trials=n, max_loss=loss, min_sharpe=sharpe, require_profit=profit, max_drawdown=dd
        )

    return [
        tier(0, 0.5, None, False, None),
        tier(50, 0.2, -0.5, False, None),
        tier(200, 0.1, 0.0, False, None),
        tier(500, 0.1, 0.3, True, 0.15),
    ]


GateName = Literal["backtest", "stress", "paper"]  # the built-in gates; more register in gates/base.GATES


def _all_gates() -> list[str]:
    return ["backtest", "stress", "paper"]


def _default_grades() -> dict[str, float]:
    return {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.4}


class GatesConfig(Section):
    # --- which gates, in which order ---------------------------------------------------------------
    """``[gates]``: which gates run, in which order, and each gate's thresholds."""

    enabled: list[str] = Field(
        default_factory=_all_gates,
        description="gates run_all_gates runs, in this order (backtest, stress, paper or a registered gate)",
    )
    stop_on_failure: bool = Field(
        True, description="run_all_gates skips the later gates once one fails (stress is expensive)"
    )
    mirror_to_mlflow: bool = Field(
        True,
        description="copy each verdict to the model's MLflow run (and registered version) as tags/artifacts",
    )
    reports_subdir: str = Field(
        "gates", description="verdict files go to <paths.reports_dir>/<reports_subdir>/<run id>/<gate>/"
    )
    # --- the study's selection gate (registry/selection.py): which trials become challengers ------------
    selection_max_pbo: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a study's PBO (CSCV) must be below this for any trial to become challenger",
    )
    selection_min_dsr: float = Field(
        0.9,
        ge=0,
        lt=1,
        description="a candidate's deflated Sharpe ratio (N = the study's trials) must exceed this",
    )
    selection_beat_strategies: bool = Field(
        True,
        description="a candidate's CPCV objective must beat every strategy worth beating on the same splits "
        "(off: only equal weight held, objective 0)",
    )
    # --- gate 1: backtest on held-out real data ----------------------------------------------------
    backtest_tiers: list[BacktestTier] = Field(
        default_factory=_default_tiers,
        description="maturity tiers; the one with the largest min_trials <= the study's COMPLETE trials "
        "applies",
    )
    backtest_data: Literal["store", "sample"] = Field(
        "store", description="held-out bars come from the bar store or from the committed real sample"
    )
    # --- gate 2: CGE stress ------------------------------------------------------------------------
    stress_min_profitable_share: float = Field(
        0.4, ge=0, le=1, description="share of scenarios with total return > 0 must be at least this"
    )
    stress_min_median_sharpe: float = Field(
        0.0, description="median annualised Sharpe over the scenarios must be above this"
    )
    stress_max_drawdown: float = Field(
        0.25, gt=0, le=1, description="the worst scenario's max drawdown must be smaller than this fraction"
    )
    stress_max_scenario_loss: float = Field(
        0.9, gt=0, le=1, description="no scenario may lose this fraction of its equity or more"
    )
    stress_scenario_set: Path | None = Field(
        None, description="scenario set directory; None: the newest complete set under cge.output_dir"
    )
    stress_max_scenarios: int | None = Field(
        None, ge=1, description="use only the first N scenarios (None: all; smoke runs only)"
    )
    stress_max_hours: int | None = Field(
        None, ge=24, description="use only the first N hours of each path (None: the whole path)"
    )
    stress_bars_seed: int = Field(
        0, description="seed of the synthetic high/low/volume drawn around each scenario's hourly path"
    )
    # --- gate 3: paper trading grade ---------------------------------------------------------------
    paper_min_days: float = Field(
        7.0, gt=0, description="paper trading must have run at least this many days"
    )
    paper_min_trades: int = Field(20, ge=1, description="and filled at least this many orders")
    paper_min_win_rate: float = Field(
        0.5, ge=0, le=1, description="check: share of closed round trips with net P&L > 0 at least this"
    )
    paper_min_sharpe: float = Field(
        0.5, description="check: annualised Sharpe of the paper equity above this"
    )
    paper_max_drawdown: float = Field(
        0.10, gt=0, le=1, description="check: max drawdown of the paper equity smaller than this fraction"
    )
    paper_min_alpha: float = Field(
        0.0, description="check: annualised return minus the equal-weight market's above this"
    )
    paper_min_return: float = Field(0.0, description="check: total return of the paper equity above this")
    paper_max_emergency_stops: int = Field(
        0, ge=0, description="check: emergency stops during the paper period at most this many"
    )
    paper_grades: dict[str, float] = Field(
        default_factory=_default_grades,
        description="grade -> minimum share of paper checks passed; below every bound the grade is F",
    )
    paper_eligible_grades: list[str] = Field(
        default_factory=lambda: ["A", "B"], description="grades that pass the paper gate (eligible for live)"
    )

    # --- supervised signal models (LSTM, Transformer): the seeds' thresholds ---------------------------
    supervised_min_accuracy: float = Field(
        0.68, gt=0.5, le=1, description="directional accuracy on the held-out window, per coin, at least this"
    )
    supervised_max_calibration_error: float = Field(
        0.05, gt=0, le=1, description="mean |confidence - hit rate| over the confidence tiers at most this"
    )
    supervised_confidence_threshold: float = Field(
        0.75, ge=0.5, lt=1, description="signals below this confidence are not acted on"
    )
    supervised_high_tier: float = Field(
        0.85, gt=0.5, le=1, description="confidence from which a signal is of the high tier"
    )
    supervised_max_signals_per_hour: int = Field(10, ge=1, description="acted-on signals per UTC hour")
    supervised_max_high_tier_per_hour: int = Field(5, ge=1, description="high-tier signals per UTC hour")
    supervised_ci_z: float = Field(
        1.96,
        gt=0,
        description="z of the Wilson intervals (1.96: 95%); the lower bound must beat the base rate",
    )
    supervised_shuffle_check: bool = Field(
        True, description="retrain on labels shuffled in time: accuracy must fall to chance (leakage check)"
    )

    @field_validator("enabled")
    @classmethod
    def _known_gates(cls, v: list[str]) -> list[str]:
        builtin = set(typing.get_args(GateName))
        if set(v) - builtin:  # a gate from a plugin file: ask the registry (imported only then)
            from cappuccino_core.gates.base import GATES

            unknown = [g for g in v if g not in builtin and g not in GATES]
            if unknown:
                raise ValueError(f"unknown gate(s) {unknown}; known: {GATES.names()}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> GatesConfig:
        mins = [t.min_trials for t in self.backtest_tiers]
        if not mins or mins[0] != 0 or any(b <= a for a, b in pairwise(mins)):
            raise ValueError(f"backtest_tiers must start at min_trials=0 and increase strictly; got {mins}")
        if any(not 0 <= v <= 1 for v in self.paper_grades.values()):
            raise ValueError(f"paper_grades bounds must be shares in [0, 1]; got {self.paper_grades}")
        unknown = set(self.paper_eligible_grades) - set(self.paper_grades)
        if unknown:
            raise ValueError(f"paper_eligible_grades {sorted(unknown)} are not in paper_grades")
        return self
