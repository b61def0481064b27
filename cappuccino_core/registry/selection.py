"""The study's selection gate: which trials may become challengers.

A trial of a finished study becomes a challenger only if

1. it beats every strategy worth beating on the same CPCV splits (its objective, Sharpe - equal-weight
   Sharpe averaged over the splits, is above the best strategy's; equal weight held is 0 by construction);
2. the study's probability of backtest overfitting (PBO, CSCV) is below ``max_pbo``: the in-sample best
   tends to stay above the median out of sample;
3. its deflated Sharpe ratio (the probability that its Sharpe is above what the best of the study's N
   trials would show by luck) is above ``min_dsr``.

Otherwise nothing is registered as challenger, and :class:`Selection` says why, in numbers (with the
trial's turnover, cost share and zero-cost Sharpe, so that "it learned something and paid it away in
fees" reads differently from "it learned nothing").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cappuccino_core.registry.trial_run import (
    METRIC_TEST_COST_SHARE,
    METRIC_TEST_TURNOVER,
    METRIC_TEST_ZERO_COST_SHARPE,
)
from cappuccino_core.registry.trials import TrialRecord, finite_or_none


@dataclass(frozen=True)
class SelectionRules:
    """Thresholds (``[gates] selection_*``)."""

    max_pbo: float = 0.5
    min_dsr: float = 0.9
    beat_strategies: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> SelectionRules:
        """The rules configured in ``[gates] selection_*``."""
        g = settings.gates
        return cls(g.selection_max_pbo, g.selection_min_dsr, g.selection_beat_strategies)


@dataclass
class Check:
    """One check of a candidate: its value, the threshold, whether it passed, and a line saying so."""

    name: str
    value: float | None
    threshold: float
    passed: bool
    text: str


@dataclass
class Candidate:
    """A trial judged by the gate: its figures and its checks."""

    trial: int
    run_id: str
    objective: float
    dsr: float | None
    turnover: float | None
    cost_share: float | None
    zero_cost_sharpe: float | None
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    def why_not(self) -> str:
        """The failed checks, one clause each."""
        return "; ".join(c.text for c in self.checks if not c.passed)


@dataclass
class Selection:
    """The gate's judgement of a study: the bar to beat, every candidate with its checks."""

    rules: SelectionRules
    pbo: float | None
    best_strategy: str
    best_strategy_objective: float
    strategies: dict[str, float]
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def selected(self) -> list[Candidate]:
        """The candidates that passed every check, best objective first."""
        return [c for c in self.candidates if c.passed]

    def verdict(self) -> str:
        """One line: the challenger and its numbers, or why there is none."""
        if self.selected:
            c = self.selected[0]
            return (
                f"challenger: trial {c.trial} (objective {c.objective:.3f} > {self.best_strategy} "
                f"{self.best_strategy_objective:.3f}, PBO {_f(self.pbo)} < {self.rules.max_pbo}, "
                f"DSR {_f(c.dsr)} > {self.rules.min_dsr})"
            )
        if not self.candidates:
            return "no challenger: no completed trial with a model"
        c = self.candidates[0]
        costs = (
            f"turnover {_f(c.turnover, 1)}x/yr, costs {_pct(c.cost_share)} of equity per split, "
            f"zero-cost Sharpe {_f(c.zero_cost_sharpe, 2)}"
        )
        return f"no challenger: best trial {c.trial} fails: {c.why_not()} ({costs})"

    def to_dict(self) -> dict[str, Any]:
        """Plain values, with the selected trials and the verdict line."""
        d = asdict(self)
        d["selected"] = [c.trial for c in self.selected]
        d["verdict"] = self.verdict()
        return d


def _f(x: float | None, nd: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def candidate_dsr(matrix: np.ndarray, column: int, n_trials: int) -> float | None:
    """DSR of one trial's test returns (column of the T x N matrix) given the study's trial count."""
    from cappuccino_core.metrics.deflated import deflated_sharpe_ratio
    from cappuccino_core.metrics.ratios import sharpe_per_bar

    if matrix.ndim != 2 or matrix.shape[0] < 2:
        return None
    if max(n_trials, 1) == 1:
        return finite_or_none(deflated_sharpe_ratio(matrix[:, column], n_trials=1, sharpe_variance=0.0))
    sharpes = np.asarray(sharpe_per_bar(matrix.T), dtype=np.float64).reshape(-1)
    finite = sharpes[np.isfinite(sharpes)]
    if finite.size < 2:
        return None
    return finite_or_none(deflated_sharpe_ratio(matrix[:, column], finite, n_trials=n_trials))


def select(
    trials: list[TrialRecord],
    matrix: np.ndarray,
    columns: list[str],
    pbo: float | None,
    n_trials: int,
    rules: SelectionRules,
    strategies: Mapping[str, float] | None = None,
) -> Selection:
    """Judge ``trials`` (completed, with a model, best objective first) against the rules.

    ``matrix``/``columns``: the study's (T x N) test returns and the run id of each column (the DSR of a
    trial without a column is unknown, which fails the DSR check). ``strategies``: name -> CPCV objective
    of each strategy worth beating on the same splits; equal weight held (objective 0) is always one.
    """
    bar = {"equal_weight_hold": 0.0, **{k: float(v) for k, v in (strategies or {}).items()}}
    best_name = max(bar, key=lambda k: bar[k]) if rules.beat_strategies else "equal_weight_hold"
    best_value = bar[best_name]
    sel = Selection(rules, pbo, best_name, best_value, bar)
    pbo_ok = pbo is not None and pbo < rules.max_pbo
    pbo_text = (
        "PBO not computed (too few trials or test bars)"
        if pbo is None
        else f"PBO {pbo:.3f} {'<' if pbo_ok else '>='} {rules.max_pbo}"
    )
    for t in trials:
        if t.objective is None:
            continue
        dsr = candidate_dsr(matrix, columns.index(t.run_id), n_trials) if t.run_id in columns else None
        dsr_ok = dsr is not None and dsr > rules.min_dsr
        beats = t.objective > best_value
        checks = [
            Check(
                "beats_strategies",
                t.objective,
                best_value,
                beats,
                f"objective {t.objective:.3f} {'>' if beats else '<='} {best_name} {best_value:.3f}",
            ),
            Check("pbo", pbo, rules.max_pbo, pbo_ok, pbo_text),
            Check(
                "dsr",
                dsr,
                rules.min_dsr,
                dsr_ok,
                f"DSR {_f(dsr)} {'>' if dsr_ok else '<='} {rules.min_dsr} (N={n_trials})",
            ),
        ]
        sel.candidates.append(
            Candidate(
                trial=t.trial,
                run_id=t.run_id,
                objective=t.objective,
                dsr=dsr,
                turnover=finite_or_none(t.metrics.get(METRIC_TEST_TURNOVER)),
                cost_share=finite_or_none(t.metrics.get(METRIC_TEST_COST_SHARE)),
                zero_cost_sharpe=finite_or_none(t.metrics.get(METRIC_TEST_ZERO_COST_SHARPE)),
                checks=checks,
            )
        )
    return sel
