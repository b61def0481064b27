"""Per-study evidence against overfitting (PBO, DSR) and the selection gate's verdict, logged to MLflow.

:func:`summarize` (run once a study has finished):

1. collects the study's trial runs from MLflow (one experiment per study);
2. builds the (T x N) matrix of the completed trials' per-bar test returns (``test_returns.npy`` of each
   trial, or a matrix the caller passes);
3. computes PBO by CSCV and the deflated Sharpe ratio of the best trial given the number of trials, with
   ``cappuccino_core.metrics`` (the one place those are defined);
4. logs them in a dedicated ``study-summary`` run of the study's experiment (metrics ``pbo``, ``dsr``,
   ``n_trials``, ...);
5. with a selection gate (``selection``, registry/selection.py; the study always passes one): keeps as
   eligible for registration only the trials that pass it (they beat the strategies worth beating on
   CPCV, the study's PBO is below the limit, their DSR above it); when none passes, the summary's
   ``selection`` verdict says why, in numbers. Without one (``selection=None``: manual re-registration,
   tests of the registration itself) every completed trial with a policy is eligible, best first.

Registering them is the study's next, explicit step: :func:`~.registration.register_candidates` (the best
``top_k`` eligible trials, the best of them as ``challenger``). :func:`summarize_study` runs both.
The report that shows it all (``cappuccino train --report``) is :mod:`.report`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cappuccino_core.registry.redact import safe_str_mapping
from cappuccino_core.registry.roles import CHALLENGER, ModelVersionInfo
from cappuccino_core.registry.selection import Selection, SelectionRules, select
from cappuccino_core.registry.tracking import (
    RUN_TYPE_SUMMARY,
    TAG_RUN_TYPE,
    TAG_STUDY,
    Tracking,
    as_tracking,
)
from cappuccino_core.registry.trial_run import STATE_COMPLETE, STATE_FAIL, STATE_PRUNED
from cappuccino_core.registry.trials import (
    TrialRecord,
    collect_trials,
    finite_or_none,
    load_returns_matrix,
)

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 16
SUMMARY_ARTIFACT = "study_summary.json"


@dataclass
class StudySummary:
    """A finished study's evidence (counts, PBO, DSR, best trial), the gate's verdict, what was registered."""

    study: str
    n_trials: int  # trials that count for the deflation (COMPLETE + PRUNED)
    n_complete: int
    n_pruned: int
    n_failed: int
    n_with_returns: int  # columns of the PBO matrix
    pbo: float | None
    dsr: float | None
    best_run_id: str | None
    best_trial: int | None
    best_objective: float | None
    n_partitions: int | None
    summary_run_id: str | None = None
    registered: list[ModelVersionInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pbo_details: dict[str, Any] = field(default_factory=dict)
    selection: Selection | None = None
    # Completed trials with a policy that passed the gate (all of them without one), best first: what
    # register_candidates may register. Not part of the summary's JSON (the selection lists them).
    eligible: list[TrialRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-able values (the selection with its verdict, versions by number)."""
        sel, eligible = self.selection, self.eligible
        self.selection, self.eligible = None, []  # asdict would flatten them; the selection adds its own
        d = asdict(self)
        self.selection, self.eligible = sel, eligible
        d.pop("eligible")
        d["selection"] = sel.to_dict() if sel is not None else None
        d["registered"] = [
            {"version": v.version, "run_id": v.run_id, "aliases": list(v.aliases)} for v in self.registered
        ]
        return d


def _partitions(n_rows: int, wanted: int) -> int | None:
    s = min(wanted, n_rows // 2)
    s -= s % 2
    return s if s >= 2 else None


def compute_pbo_dsr(
    matrix: np.ndarray,
    best_column: int,
    n_trials: int,
    n_partitions: int = DEFAULT_PARTITIONS,
) -> tuple[float | None, float | None, int | None, dict[str, Any], list[str]]:
    """PBO (CSCV) of the matrix and DSR of column ``best_column`` given ``n_trials`` trials."""
    from cappuccino_core.metrics.deflated import deflated_sharpe_ratio
    from cappuccino_core.metrics.pbo import probability_of_backtest_overfitting
    from cappuccino_core.metrics.ratios import sharpe_per_bar

    notes: list[str] = []
    pbo: float | None = None
    dsr: float | None = None
    details: dict[str, Any] = {}
    T, N = matrix.shape if matrix.ndim == 2 else (0, 0)
    S = _partitions(T, n_partitions)
    if N < 2:
        notes.append(f"PBO needs at least 2 completed trials with test returns; have {N}")
    elif S is None:
        notes.append(f"PBO needs at least 4 test bars; have {T}")
    else:
        if n_partitions != S:
            notes.append(f"PBO: {T} test bars allow {S} partitions, not {n_partitions}")
        res = probability_of_backtest_overfitting(matrix, n_partitions=S)
        pbo = finite_or_none(res.pbo)
        details = res.to_dict()
    if N >= 1 and T >= 2:
        sharpes = np.asarray(sharpe_per_bar(matrix.T), dtype=np.float64).reshape(-1)
        finite = sharpes[np.isfinite(sharpes)]
        n_eff = max(int(n_trials), 1)
        if n_eff == 1:
            best = matrix[:, best_column]
            dsr = finite_or_none(deflated_sharpe_ratio(best, n_trials=1, sharpe_variance=0.0))
        elif finite.size >= 2:
            dsr = finite_or_none(deflated_sharpe_ratio(matrix[:, best_column], finite, n_trials=n_eff))
        else:
            notes.append("DSR needs the Sharpes of at least 2 trials to estimate their variance")
    return pbo, dsr, S, details, notes


def summarize_study(
    study_name: str,
    tracking: Tracking | Any | None = None,
    *,
    returns: np.ndarray | None = None,
    return_run_ids: Sequence[str] | None = None,
    n_trials: int | None = None,
    n_partitions: int = DEFAULT_PARTITIONS,
    register_top_k: int = 0,
    alias: str | None = CHALLENGER,
    registered_model_name: str | None = None,
    selection: SelectionRules | None = None,
    strategies: Mapping[str, float] | None = None,
    strategies_table: str | None = None,
) -> StudySummary:
    """:func:`summarize` the study, then, with ``register_top_k > 0``, :func:`register_candidates` (the
    study itself runs the two steps one by one). Arguments as theirs."""
    from cappuccino_core.registry.registration import register_candidates

    summary = summarize(
        study_name,
        tracking,
        returns=returns,
        return_run_ids=return_run_ids,
        n_trials=n_trials,
        n_partitions=n_partitions,
        selection=selection,
        strategies=strategies,
        strategies_table=strategies_table,
    )
    if register_top_k > 0:
        register_candidates(summary, tracking, top_k=register_top_k, alias=alias, name=registered_model_name)
    return summary


def summarize(
    study_name: str,
    tracking: Tracking | Any | None = None,
    *,
    returns: np.ndarray | None = None,
    return_run_ids: Sequence[str] | None = None,
    n_trials: int | None = None,
    n_partitions: int = DEFAULT_PARTITIONS,
    selection: SelectionRules | None = None,
    strategies: Mapping[str, float] | None = None,
    strategies_table: str | None = None,
) -> StudySummary:
    """Compute PBO / DSR of a study, judge its trials, log it all in a ``study-summary`` run; registers
    nothing (module docstring; registration is :func:`register_candidates`).

    ``returns``/``return_run_ids``: a (T x N) matrix and the run id of each column, instead of reading each
    trial's ``test_returns.npy``. ``n_trials``: the N of the deflation (default: COMPLETE + PRUNED trials).
    ``selection``: the selection gate's rules; ``strategies``: name -> CPCV objective of each strategy worth
    beating on the study's splits (see registry/selection.py); ``strategies_table``: their full scores as
    markdown, logged as ``strategies.md`` beside the summary.
    """
    import mlflow

    trk = as_tracking(tracking)
    trk.activate()
    records = collect_trials(study_name, trk)
    matrix, columns, notes = _returns_matrix(study_name, records, trk, returns, return_run_ids)
    summary = _evidence(study_name, records, matrix, columns, notes, n_trials, n_partitions)
    for n in summary.notes:
        log.warning("study %s: %s", study_name, n)
    with mlflow.start_run(
        experiment_id=trk.ensure_experiment(study_name),
        run_name="study-summary",
        tags=safe_str_mapping({TAG_RUN_TYPE: RUN_TYPE_SUMMARY, TAG_STUDY: study_name}),
        nested=mlflow.active_run() is not None,
    ) as run:
        summary.summary_run_id = run.info.run_id
        _log_evidence(summary)
        with_model = [
            r for r in records if r.state == STATE_COMPLETE and r.has_model and r.objective is not None
        ]
        if selection is not None:
            col_ids = [c.run_id for c in columns]
            summary.selection = select(
                with_model, matrix, col_ids, summary.pbo, summary.n_trials, selection, strategies
            )
            passed = {c.run_id for c in summary.selection.selected}
            with_model = [r for r in with_model if r.run_id in passed]
            _log_selection(study_name, summary.selection)
        if strategies_table:
            mlflow.log_text(strategies_table, "strategies.md")
        summary.eligible = with_model
        mlflow.log_text(json.dumps(summary.to_dict(), indent=2, default=str), SUMMARY_ARTIFACT)
    return summary


def _returns_matrix(
    study_name: str,
    records: list[TrialRecord],
    trk: Tracking,
    returns: np.ndarray | None,
    return_run_ids: Sequence[str] | None,
) -> tuple[np.ndarray, list[TrialRecord], list[str]]:
    """The (T x N) test returns and the trial of each column: the caller's matrix (checked) or MLflow's."""
    if returns is None:
        return load_returns_matrix(records, trk)
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"returns must be (T x N_trials); got shape {matrix.shape}")
    if return_run_ids is None or len(return_run_ids) != matrix.shape[1]:
        raise ValueError("return_run_ids must name the run of every column of returns")
    by_id = {r.run_id: r for r in records}
    missing = [rid for rid in return_run_ids if rid not in by_id]
    if missing:
        raise ValueError(f"runs {missing} are not trials of study {study_name}")
    return matrix, [by_id[rid] for rid in return_run_ids], []


def _evidence(
    study_name: str,
    records: list[TrialRecord],
    matrix: np.ndarray,
    columns: list[TrialRecord],
    notes: list[str],
    n_trials: int | None,
    n_partitions: int,
) -> StudySummary:
    """Trial counts, the best trial, and PBO / DSR of the study (nothing logged)."""
    complete = [r for r in records if r.state == STATE_COMPLETE]
    n_pruned = sum(r.state == STATE_PRUNED for r in records)
    n_eff = n_trials if n_trials is not None else len(complete) + n_pruned
    best = complete[0] if complete and complete[0].objective is not None else None
    pbo = dsr = None
    S: int | None = None
    details: dict[str, Any] = {}
    notes = list(notes)
    col_ids = [c.run_id for c in columns]
    if best is None:
        notes.append("no completed trial with an objective")
    elif best.run_id in col_ids:
        pbo, dsr, S, details, more = compute_pbo_dsr(matrix, col_ids.index(best.run_id), n_eff, n_partitions)
        notes += more
    elif columns:
        notes.append(f"best trial {best.trial} has no test returns; PBO/DSR not computed")
    return StudySummary(
        study=study_name,
        n_trials=n_eff,
        n_complete=len(complete),
        n_pruned=n_pruned,
        n_failed=sum(r.state == STATE_FAIL for r in records),
        n_with_returns=len(columns),
        pbo=pbo,
        dsr=dsr,
        best_run_id=best.run_id if best else None,
        best_trial=best.trial if best else None,
        best_objective=best.objective if best else None,
        n_partitions=S,
        notes=notes,
        pbo_details=details,
    )


def _log_evidence(summary: StudySummary) -> None:
    """The summary's figures as metrics, params and tags of the active (study-summary) run."""
    import mlflow

    metrics = {
        "pbo": summary.pbo,
        "dsr": summary.dsr,
        "n_trials": float(summary.n_trials),
        "n_complete": float(summary.n_complete),
        "n_pruned": float(summary.n_pruned),
        "n_failed": float(summary.n_failed),
        "n_with_returns": float(summary.n_with_returns),
        "best_objective": summary.best_objective,
    }
    for k in ("degradation_slope", "prob_oos_loss", "logit_median"):
        if summary.pbo_details.get(k) is not None:
            metrics[f"pbo_{k}"] = summary.pbo_details[k]
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
    mlflow.log_params(
        safe_str_mapping(
            {"n_partitions": summary.n_partitions, "pbo_method": "CSCV", "dsr_n_trials": summary.n_trials}
        )
    )
    if summary.best_run_id is not None:
        mlflow.set_tags({"best_run_id": summary.best_run_id, "best_trial": str(summary.best_trial)})
    if summary.notes:
        mlflow.set_tag("notes", "; ".join(summary.notes)[:5000])


def _log_selection(study_name: str, selection: Selection) -> None:
    """The selection gate's verdict as tags and metrics of the active (study-summary) run."""
    import mlflow

    verdict = selection.verdict()
    log.info("study %s: %s", study_name, verdict)
    mlflow.set_tag("selection", verdict[:5000])
    mlflow.log_metric("best_strategy_objective", selection.best_strategy_objective)
    mlflow.log_metric("n_selected", float(len(selection.selected)))
    mlflow.set_tag("strategies", json.dumps({k: round(v, 4) for k, v in selection.strategies.items()})[:5000])
