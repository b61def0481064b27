"""The arena: king of the hill (:mod:`.hill`), sandbox vs production (:mod:`.sandbox`), the live green light
and capital ramp (:mod:`.live`); strategies as contenders (:mod:`.contenders`: the first champion is
the best of them, so a model must beat a real strategy to advance). Every change goes through the
:class:`~.referee.Referee` (state store standings, MLflow aliases and tags, audit log; ``dry_run`` changes
nothing)."""

from cappuccino_core.arena.contenders import (
    crown_best_strategy,
    is_strategy_id,
    strategy_contest,
    strategy_id,
)
from cappuccino_core.arena.hill import HillReport, run_hill
from cappuccino_core.arena.live import GreenLightRefused, LiveStatus, green_light, live_status, review_live
from cappuccino_core.arena.match import BoutResult, Performance, bout, decide, performance, replay, windows
from cappuccino_core.arena.records import TradingRecord, trading_record
from cappuccino_core.arena.referee import MlflowRoleBook, Referee, RoleBook, Transition, holders, standings
from cappuccino_core.arena.sandbox import SandboxReport, review_sandbox
from cappuccino_core.config.arena import ArenaConfig, arena_config

__all__ = [
    "ArenaConfig",
    "BoutResult",
    "GreenLightRefused",
    "HillReport",
    "LiveStatus",
    "MlflowRoleBook",
    "Performance",
    "Referee",
    "RoleBook",
    "SandboxReport",
    "TradingRecord",
    "Transition",
    "arena_config",
    "bout",
    "crown_best_strategy",
    "decide",
    "green_light",
    "holders",
    "is_strategy_id",
    "live_status",
    "performance",
    "replay",
    "review_live",
    "review_sandbox",
    "run_hill",
    "standings",
    "strategy_contest",
    "strategy_id",
    "trading_record",
    "windows",
]
