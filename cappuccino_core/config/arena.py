"""Arena settings: the king-of-the-hill rule, the sandbox duel, and the live green light with its ramp.

The section sits in :class:`cappuccino_core.config.Settings` as ``arena``; :func:`arena_config` gives the
defaults for callers that hold no settings.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from cappuccino_core.config.base import Section

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings


class ArenaConfig(Section):
    """``[arena]``: how bouts and sandbox duels are scored, and when a champion goes to the sandbox."""

    score: Literal["sortino", "sharpe"] = Field(
        "sortino", description="risk-adjusted score that decides a bout (annualised from the bar interval)"
    )
    min_trades: int = Field(
        5, ge=0, description="a model with fewer fills than this in the window cannot win a bout or duel"
    )
    wins_to_sandbox: int = Field(
        20, ge=1, description="consecutive bouts a champion must win to be promoted to the sandbox"
    )
    window_bars: int = Field(
        720, ge=2, description="length of a replayed held-out window (bars) for one bout"
    )
    sandbox_days: float = Field(
        2.0, gt=0, description="days a sandbox model paper-trades head-to-head with production before a duel"
    )
    sandbox_margin: float = Field(
        0.0, ge=0, description="the sandbox model must beat production's score by more than this"
    )
    ensemble: str = Field(
        "",
        description="a supervised ensemble entered as a contender, e.g. 'lstm,transformer,rl=champion' "
        "(members as for `trade paper --ensemble`); it enters once its ensemble_stress verdict passed; "
        "empty: none",
    )
    live_enabled: bool = Field(
        False, description="configuration half of the live green light (the CLI confirmation is the other)"
    )
    ramp: list[float] = Field(
        default_factory=lambda: [0.25, 0.5, 1.0],
        description="fractions of capital at each live step; the first must be within 0.10-0.25",
    )
    ramp_step_days: float = Field(7.0, gt=0, description="minimum days at a ramp step before the next one")
    ramp_min_sharpe: float = Field(
        0.0, description="live Sharpe (annualised) needed at a step to move to the next step"
    )
    demote_max_drawdown: float = Field(
        -0.10, lt=0, ge=-1, description="live max drawdown below this (e.g. -0.10) demotes from live"
    )
    demote_min_sharpe: float = Field(
        -1.0, description="live Sharpe below this (after ramp_step_days) demotes from live"
    )

    @model_validator(mode="after")
    def _ramp_ok(self) -> ArenaConfig:
        r = self.ramp
        if not r or not 0.10 <= r[0] <= 0.25:
            raise ValueError(f"ramp must start within 0.10-0.25 of capital (got {r})")
        if any(b <= a for a, b in itertools.pairwise(r)) or r[-1] != 1.0:
            raise ValueError(f"ramp must increase strictly and end at 1.0 (got {r})")
        return self


def arena_config(settings: Settings | None) -> ArenaConfig:
    """The ``arena`` section of ``settings`` (the defaults without settings)."""
    return settings.arena if settings is not None else ArenaConfig()
