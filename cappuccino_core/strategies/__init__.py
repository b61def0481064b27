"""Strategies worth beating: simple rules run through the same kernel, order rules and costs as any model.

A name-keyed registry, one class per file behind one interface (:class:`~.base.Strategy`):

- ``buy_and_hold_btc``: all equity into BTC at the start, never trades again (exempt).
- ``buy_and_hold_basket``: 1/A of equity into every asset at the start, held, drifting (exempt).
- ``rebalanced_equal_weight``: equal weights restored at every period's first bar (fitted: the period,
  weekly by default).
- ``trend``: moving-average crossover on log prices with a hysteresis band, per asset (fitted: fast, slow,
  band).
- ``mean_reversion``: z-score (Bollinger) entry below -entry, exit above exit, per asset (fitted: n, entry,
  exit).
- ``cash``: never trades.

*exempt*: run with ``position_cap = 1`` and ``cash_reserve = 0`` (labelled so in every report).
Parameters are chosen on training data only (:meth:`~.base.Strategy.fit`);
:func:`~.scoring.strategy_cv_scores` scores every strategy on the CPCV splits exactly as a trial is scored.
"""

from __future__ import annotations

from cappuccino_core.strategies.base import (
    EXEMPT_NOTE,
    BatchPolicy,
    FitResult,
    HoldStrategy,
    Params,
    Plan,
    Strategy,
    StrategyPolicy,
    format_params,
)
from cappuccino_core.strategies.buy_and_hold_basket import BuyAndHoldBasket
from cappuccino_core.strategies.buy_and_hold_btc import BuyAndHoldBTC
from cappuccino_core.strategies.cash import Cash
from cappuccino_core.strategies.mean_reversion import MeanReversion
from cappuccino_core.strategies.rebalanced_equal_weight import RebalancedEqualWeight
from cappuccino_core.strategies.trend import Trend

REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (BuyAndHoldBTC, BuyAndHoldBasket, RebalancedEqualWeight, Trend, MeanReversion, Cash)
}
STRATEGIES: tuple[str, ...] = tuple(REGISTRY)


def make_strategy(name: str) -> Strategy:
    """The registered strategy ``name`` with its default parameter grid."""
    try:
        return REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}") from None


def all_strategies() -> list[Strategy]:
    """One instance of every registered strategy, with its default grid."""
    return [cls() for cls in REGISTRY.values()]


__all__ = [
    "EXEMPT_NOTE",
    "REGISTRY",
    "STRATEGIES",
    "BatchPolicy",
    "BuyAndHoldBTC",
    "BuyAndHoldBasket",
    "Cash",
    "FitResult",
    "HoldStrategy",
    "MeanReversion",
    "Params",
    "Plan",
    "RebalancedEqualWeight",
    "Strategy",
    "StrategyPolicy",
    "Trend",
    "all_strategies",
    "format_params",
    "make_strategy",
]
