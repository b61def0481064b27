"""Strategies as arena contenders: a model must beat a real strategy to advance.

A strategy contender's id is ``strategy:<name>`` followed by its fitted parameters, e.g.
``strategy:trend(fast=24,slow=96,band=0.01)``: the id alone rebuilds the policy (:func:`strategy_policy`),
so it can sit in the champion seat like a model's run id. Strategies live in the arena's standings and
audit log only: they have no MLflow model, so the referee gives them no registry alias or tag, and they
never go to the sandbox (they are the floor, not candidates for production).

:func:`crown_best_strategy`: when the champion seat is empty (a fresh install, or the champion just went to
the sandbox) every strategy is fitted on the history (the bars before the held-out data), replayed on the
arena's window with the same kernel, costs and rule as a bout, and the best of them by the bout rule is
crowned, with every strategy's figures as evidence. Models then challenge it through
:func:`~.hill.run_hill`. :func:`strategy_contest` does all of this from the settings (what ``make run``
calls before the hill).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cappuccino_core.arena.match import Performance, eligible, performance, replay, windows
from cappuccino_core.arena.referee import CHAMPION, Referee, Transition, holders
from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings
    from cappuccino_core.strategies.base import StrategyPolicy

PREFIX = "strategy:"
_ID = re.compile(r"^strategy:(?P<name>[a-z_]+)(?:\((?P<params>[^()]*)\))?$")
MAX_ID = 64  # the standings' run_id column


def is_strategy_id(contender: str | None) -> bool:
    """Whether a contender id names a strategy (``strategy:...``) rather than a model run."""
    return bool(contender) and str(contender).startswith(PREFIX)


def strategy_id(name: str, params: dict[str, Any]) -> str:
    """``strategy:<name>(<k=v,...>)`` (no parentheses without parameters)."""
    from cappuccino_core.strategies import format_params

    p = format_params(params)
    out = f"{PREFIX}{name}({p})" if p else f"{PREFIX}{name}"
    if len(out) > MAX_ID:
        raise ValueError(f"strategy id {out!r} is longer than {MAX_ID} characters")
    return out


def parse_strategy_id(contender: str) -> tuple[str, dict[str, Any]]:
    """(name, params) of a strategy id; parameter values typed as the strategy's grid types them."""
    from cappuccino_core.strategies import make_strategy

    m = _ID.match(contender)
    if m is None:
        raise ValueError(f"{contender!r} is not a strategy id (strategy:<name>(<k=v,...>))")
    strat = make_strategy(m.group("name"))
    text = m.group("params") or ""
    params: dict[str, Any] = {}
    grid0 = strat.grid()[0]
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        kind = type(grid0.get(key, value))
        params[key] = kind(value) if kind in (int, float, str) else value
    unknown = set(params) - set(grid0)
    if unknown or (grid0 and set(params) != set(grid0)):
        raise ValueError(
            f"{contender!r}: parameters {sorted(params)} do not match {strat.name}'s {sorted(grid0)}"
        )
    return strat.name, params


def strategy_policy(contender: str, env: EnvConfig, tickers: Sequence[str] | None = None) -> StrategyPolicy:
    """The batched policy a strategy id names (its own run env for the exempt references)."""
    from cappuccino_core.strategies import make_strategy

    name, params = parse_strategy_id(contender)
    return make_strategy(name).policy(params, env, tickers)


def crown_best_strategy(
    held: MarketDataset,
    history: MarketDataset | None,
    window: tuple[int, int],
    env: EnvConfig,
    costs: CostsConfig,
    cfg: ArenaConfig,
    referee: Referee,
) -> list[str]:
    """Crown the best strategy on ``window`` of ``held`` when the champion seat is empty (see the module
    docstring). Returns the lines a person reads; changes nothing when a champion is seated."""
    from cappuccino_core.strategies import all_strategies

    seated = holders(referee.store, CHAMPION)
    if seated:
        return [f"champion {seated[-1]} is seated: strategies wait for an empty seat"]
    contenders: list[tuple[str, Any]] = []
    for strat in all_strategies():
        params = strat.grid()[0]
        if history is not None and len(strat.grid()) > 1:
            usable = [(s, e) for s, e in history.segments if e - s >= history.spec.lookback + 1]
            if usable:
                params = strat.fit(history, usable, env, costs).params
        cid = strategy_id(strat.name, params)
        contenders.append((cid, strategy_policy(cid, env, held.tickers)))
    runs = replay([p for _, p in contenders], held, window, env, costs)
    tf = held.spec.timeframe
    perfs = [
        performance(cid, eq, n, fees, tf, cfg)
        for (cid, _), (eq, n, fees) in zip(contenders, runs, strict=True)
    ]
    ranked = sorted(perfs, key=lambda p: (eligible(p, cfg), p.score if math.isfinite(p.score) else -math.inf))
    best = ranked[-1]
    evidence = {"window": list(window), "strategies": [p.to_dict() for p in perfs], "score": cfg.score}
    reason = f"best strategy on the arena window: {cfg.score} {best.score:.3f}"
    referee.apply(Transition(best.model, "crown", CHAMPION, reason, evidence, alias=CHAMPION, wins=0))
    lines = [f"crowned {best.model}: {reason} (models must beat it to advance)"]
    lines += [f"  {_line(p, cfg)}" for p in sorted(perfs, key=lambda p: -_finite(p.score))]
    return lines


def _finite(x: float) -> float:
    return x if math.isfinite(x) else -math.inf


def _line(p: Performance, cfg: ArenaConfig) -> str:
    return (
        f"{p.model}: {cfg.score} {p.score:.3f}, Sharpe {p.sharpe:.3f}, return {p.total_return:+.2%}, "
        f"max drawdown {p.max_drawdown:.2%}, {p.trades} fills, fees {p.fees:,.2f}"
    )


def strategy_contest(settings: Settings, dry_run: bool = False) -> list[str]:
    """:func:`crown_best_strategy` on the configured data (the held-out ``training.holdout_fraction`` of the
    bars; history = the bars before it) with the configured env, costs and arena rules."""
    from cappuccino_core.arena.referee import MlflowRoleBook
    from cappuccino_core.config.arena import arena_config
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.builder import build_dataset
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state import StateStore

    store = StateStore(settings.paths.state_url)
    if store.emergency_stopped():
        return ["strategies: emergency stop set; nothing done"]
    cfg = arena_config(settings)
    tf = settings.data.timeframe
    aligned = load_aligned(settings, tf)
    data = build_dataset(aligned.frames, settings.features, tf, segments=aligned.segments)
    cut = int(data.n_bars * (1 - settings.training.holdout_fraction))
    held, history = data.slice(cut, data.n_bars), data.slice(0, cut)
    referee = Referee(
        store, MlflowRoleBook(Tracking.from_settings(settings)), actor="flow:arena", dry_run=dry_run
    )
    return crown_best_strategy(
        held, history, windows(held, cfg.window_bars)[0], settings.env, settings.costs, cfg, referee
    )
