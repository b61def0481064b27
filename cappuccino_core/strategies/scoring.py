"""Every strategy scored on the CPCV splits exactly as a trial is scored, and the table a person reads.

For each split (``training.cv.SplitSegments``): the strategy is fitted on the split's training segments
(:meth:`~.base.Strategy.fit_many`, training Sharpe after costs), then run over each of its test segments
(segments of at least lookback + 1 bars, one episode each from the first bar with a full lookback, as
``training.envs.evaluate_segments`` runs a model). As ``training.trainer.score_split`` does: per-bar
returns are taken per segment and concatenated, the equal-weight benchmark is
``metrics.equal_weight_buy_and_hold`` of the same bars, and the split's value is
``trainer.split_value(strategy Sharpe, equal-weight Sharpe)``. The objective is the mean of the split
values: the number a trial's objective is compared with.

Also per split, summed over its test episodes:

* ``turnover_per_year``: traded notional (both legs) / mean equity, per year: sum over episodes of
  (notional / mean equity, as ``metrics.turnover``) x bars_per_year / (test bars);
* ``fees_share``: fees paid / starting equity, summed over the episodes (each starts from
  ``initial_cash``): the fraction of capital the split's trading paid in fees;
* ``zero_cost_sharpe``: the Sharpe of the same strategy with the same fitted parameters re-run with fees
  and slippage at 0 (its decisions do not depend on costs: the same trades, without paying for them).

All splits of all strategies of one env run in a handful of batched kernel runs (fit, test, zero-cost
test), so scoring every strategy costs seconds, not training.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.strategies.base import BatchPolicy, Params, Strategy, format_params

ZERO_COSTS = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)


@dataclass(frozen=True)
class SplitScore:
    """One walk-forward split's score of a strategy: fitted parameters, value against equal weight,
    figures."""

    index: int
    params: Params  # fitted on this split's training segments
    value: float  # strategy Sharpe - equal-weight Sharpe (annualised, test bars): trainer.split_value
    sharpe: float
    ew_sharpe: float
    zero_cost_sharpe: float
    turnover_per_year: float
    fees_share: float
    n_test_bars: int


@dataclass(frozen=True)
class StrategyScore:
    """A strategy's scores over the walk-forward splits, with their means."""

    name: str
    label: str  # the name, with the exemption spelled out for the hold references
    exempt: bool
    splits: list[SplitScore] = field(default_factory=list)

    @property
    def split_values(self) -> list[float]:
        """The per-split values (strategy minus equal-weight Sharpe)."""
        return [s.value for s in self.splits]

    @property
    def objective(self) -> float:
        """Mean split value: comparable to a trial's objective."""
        return _mean([s.value for s in self.splits])

    @property
    def sharpe(self) -> float:
        """Mean test Sharpe over the splits."""
        return _mean([s.sharpe for s in self.splits])

    @property
    def zero_cost_sharpe(self) -> float:
        """Mean test Sharpe before costs over the splits."""
        return _mean([s.zero_cost_sharpe for s in self.splits])

    @property
    def turnover_per_year(self) -> float:
        """Mean annual turnover over the splits."""
        return _mean([s.turnover_per_year for s in self.splits])

    @property
    def fees_share(self) -> float:
        """Mean fees / starting equity over the splits."""
        return _mean([s.fees_share for s in self.splits])

    def to_dict(self) -> dict[str, Any]:
        """The score as JSON-ready values (splits included)."""
        return {
            "name": self.name,
            "label": self.label,
            "exempt": self.exempt,
            "objective": self.objective,
            "sharpe": self.sharpe,
            "zero_cost_sharpe": self.zero_cost_sharpe,
            "turnover_per_year": self.turnover_per_year,
            "fees_share": self.fees_share,
            "splits": [asdict(s) for s in self.splits],
        }


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else math.nan


def best_strategy(scores: dict[str, StrategyScore]) -> StrategyScore:
    """The strategy with the highest objective (the bar a model's objective must clear)."""
    finite = [s for s in scores.values() if math.isfinite(s.objective)]
    if not finite:
        raise ValueError("best_strategy: no strategy has a finite objective")
    return max(finite, key=lambda s: s.objective)


def _episodes(segments: Sequence[tuple[int, int]], lookback: int) -> list[tuple[int, int, int, int]]:
    """(segment start, end, first decision bar, last bar) of the usable segments (>= lookback + 1 bars)."""
    return [(s, e, s + lookback - 1, e - 1) for s, e in segments if e - s >= lookback + 1]


def strategy_cv_scores(
    dataset: MarketDataset,
    splits: Sequence[Any],
    env_cfg: EnvConfig,
    costs_cfg: CostsConfig,
    strategies: Sequence[Strategy] | None = None,
) -> dict[str, StrategyScore]:
    """Every strategy (default: all registered) fitted and scored on every split (``SplitSegments``:
    ``index``, ``train``, ``test``); see the module docstring. Keyed by strategy name, in registry order."""
    from cappuccino_core.backtest.runner import run_costs
    from cappuccino_core.data.timeframes import bars_per_year
    from cappuccino_core.metrics import equal_weight_buy_and_hold, sharpe_ratio, simple_returns
    from cappuccino_core.strategies import all_strategies
    from cappuccino_core.training.trainer import split_value

    if not splits:
        raise ValueError("strategy_cv_scores: no CPCV splits given")
    chosen = list(strategies) if strategies is not None else all_strategies()
    lb, tf = dataset.spec.lookback, dataset.spec.timeframe
    per_year = bars_per_year(tf)
    tests = [_episodes([s for group in sp.test for s in group], lb) for sp in splits]
    empty = [sp.index for sp, t in zip(splits, tests, strict=True) if not t]
    if empty:
        raise ValueError(f"strategy_cv_scores: split(s) {empty} have no test segment of >= {lb + 1} bars")
    bench = [
        np.concatenate(
            [simple_returns(equal_weight_buy_and_hold(dataset.prices[a : b + 1])) for _, _, a, b in t]
        )
        for t in tests
    ]
    ew_sharpe = [float(sharpe_ratio(r, tf)) for r in bench]

    out: dict[str, StrategyScore] = {}
    for strat in chosen:
        fits = strat.fit_many(dataset, [sp.train for sp in splits], env_cfg, costs_cfg)
        members: list[tuple[Params, list[tuple[int, int]], np.ndarray]] = []
        starts: list[int] = []
        ends: list[int] = []
        owner: list[int] = []
        for k, (fit, t) in enumerate(zip(fits, tests, strict=True)):
            idx = np.arange(len(starts), len(starts) + len(t))
            members.append((fit.params, [(s, e) for s, e, _, _ in t], idx))
            starts += [a for _, _, a, _ in t]
            ends += [b for _, _, _, b in t]
            owner += [k] * len(t)
        runs = {}
        for label, costs in (("costs", costs_cfg), ("free", ZERO_COSTS)):
            batch = BatchPolicy([(strat.policy(p, env_cfg, segments=segs), idx) for p, segs, idx in members])
            runs[label] = run_costs(batch, dataset, env_cfg, costs, np.asarray(starts), np.asarray(ends))
        own = np.asarray(owner)
        scores = []
        for k, sp in enumerate(splits):
            mine = np.flatnonzero(own == k).tolist()
            recs, free = [runs["costs"][i] for i in mine], [runs["free"][i] for i in mine]
            ra = np.concatenate([simple_returns(r.equity) for r in recs])
            rz = np.concatenate([simple_returns(r.equity) for r in free])
            sharpe = float(sharpe_ratio(ra, tf))
            scores.append(
                SplitScore(
                    index=int(sp.index),
                    params=dict(fits[k].params),
                    value=split_value(sharpe, ew_sharpe[k]),
                    sharpe=sharpe,
                    ew_sharpe=ew_sharpe[k],
                    zero_cost_sharpe=float(sharpe_ratio(rz, tf)),
                    turnover_per_year=float(
                        sum(r.notional / float(np.mean(r.equity)) for r in recs) * per_year / max(ra.size, 1)
                    ),
                    fees_share=float(sum(r.fees / r.equity[0] for r in recs)),
                    n_test_bars=int(ra.size),
                )
            )
        out[strat.name] = StrategyScore(strat.name, strat.label, strat.exempt, scores)
    return out


# ------------------------------------------------------------------------------------------- tables

COLUMNS = (
    ("strategy", "label"),
    ("objective (Sharpe - EW Sharpe, mean of splits)", "objective"),
    ("Sharpe", "sharpe"),
    ("zero-cost Sharpe", "zero_cost_sharpe"),
    ("turnover / year", "turnover_per_year"),
    ("fees / starting equity", "fees_share"),
    ("parameters (per split)", "params"),
)


def _cells(s: StrategyScore) -> list[str]:
    params = sorted({format_params(x.params) for x in s.splits} - {""})
    out = [s.label]
    for v in (s.objective, s.sharpe, s.zero_cost_sharpe):
        out.append(f"{v:+.3f}" if math.isfinite(v) else "n/a")
    out.append(f"{s.turnover_per_year:.2f}" if math.isfinite(s.turnover_per_year) else "n/a")
    out.append(f"{100 * s.fees_share:.2f}%" if math.isfinite(s.fees_share) else "n/a")
    out.append("; ".join(params) if params else "-")
    return out


def _ordered(scores: dict[str, StrategyScore]) -> list[StrategyScore]:
    return sorted(scores.values(), key=lambda s: -s.objective if math.isfinite(s.objective) else math.inf)


def scores_markdown(scores: dict[str, StrategyScore]) -> str:
    """A markdown table, best objective first, with the conventions under it."""
    head = "| " + " | ".join(c for c, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    rows = ["| " + " | ".join(_cells(s)) + " |" for s in _ordered(scores)]
    return "\n".join([head, rule, *rows, "", NOTE])


def scores_html(scores: dict[str, StrategyScore]) -> str:
    """The same table as an HTML fragment."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c, _ in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(s)) + "</tr>" for s in _ordered(scores)
    )
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f'<p class="note">{html.escape(NOTE)}</p>'
    )


NOTE = (
    "Each strategy is fitted on each CPCV split's training folds and scored on its test folds as a trial "
    "is: objective = mean over splits of (strategy Sharpe - equal-weight Sharpe), annualised, after costs. "
    "Turnover: traded notional (both legs) / mean equity, per year. Fees: fees paid / starting equity, "
    "summed over a split's test segments, mean of splits. Zero-cost Sharpe: the same rule re-run without "
    "fees or slippage."
)
