"""Training page: progress of the running (or last) study, its best trials, PBO/DSR and the selection gate.

Progress, optimisation history and parameter importance come from the Optuna storage; the best trials'
per-split Sharpe, turnover, cost share, the study's PBO and DSR and the selection gate's verdict from MLflow
(the study report of ``cappuccino train --report``).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cappuccino_core.dashboard.sources import Sources

log = logging.getLogger(__name__)

STATES = ("COMPLETE", "RUNNING", "WAITING", "PRUNED", "FAIL")
FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Progress:
    """Trials by state, finished trials per hour and the time left at that rate."""

    study: str
    by_state: dict[str, int]
    limit: int | None  # the study's trial limit (user attribute ``trial_limit``), None when unknown
    finished: int
    trials_per_hour: float | None
    eta_hours: float | None  # None: rate unknown or no limit; 0: nothing left
    started: datetime | None
    last_finished: datetime | None

    @property
    def total(self) -> int:
        """Number of trials in all states together."""
        return sum(self.by_state.values())


def progress(study: str, trials: Sequence[Any], limit: int | None, now: datetime) -> Progress:
    """Counts by state; rate = finished trials / hours from the first start to the last finish (to ``now``
    while a trial runs); ETA = (limit - finished) / rate."""
    by_state = Counter(t.state.name for t in trials)
    counts = {s: int(by_state.get(s, 0)) for s in STATES} | {
        k: int(v) for k, v in by_state.items() if k not in STATES
    }
    finished = [t for t in trials if t.state.name in FINISHED and t.datetime_complete is not None]
    starts = [_utc(t.datetime_start) for t in trials if t.datetime_start is not None]
    started = min(starts) if starts else None
    last = max((_utc(t.datetime_complete) for t in finished), default=None)
    end = _utc(now) if counts["RUNNING"] else last
    rate: float | None = None
    if started is not None and end is not None and finished:
        hours = (end - started).total_seconds() / 3600.0
        rate = len(finished) / hours if hours > 0 else None
    eta: float | None = None
    if limit is not None:
        left = max(limit - len(finished), 0)
        eta = 0.0 if left == 0 else (left / rate if rate else None)
    return Progress(study, counts, limit, len(finished), rate, eta, started, last)


@dataclass(frozen=True)
class History:
    """Completed trials in order: number, objective, best so far (the study maximises)."""

    numbers: list[int]
    values: list[float]
    best_so_far: list[float]


def history(trials: Sequence[Any]) -> History:
    """The :class:`History` of ``trials``: the COMPLETE ones with a finite objective, by trial number."""
    done = sorted(
        (t for t in trials if t.state.name == "COMPLETE" and t.value is not None and math.isfinite(t.value)),
        key=lambda t: t.number,
    )
    best: list[float] = []
    for t in done:
        best.append(max(best[-1], float(t.value)) if best else float(t.value))
    return History([t.number for t in done], [float(t.value) for t in done], best)


def importance(study: Any) -> tuple[dict[str, float], str | None]:
    """fANOVA parameter importance (seeded) of the completed trials; ({}, why) when it cannot be computed."""
    import optuna

    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    varied = {k for t in done for k in t.params if len({str(u.params.get(k)) for u in done}) > 1}
    if len(done) < 2 or not varied:
        return {}, f"needs >= 2 completed trials whose parameters differ (have {len(done)} completed)"
    try:
        ev = optuna.importance.FanovaImportanceEvaluator(seed=0)
        imp = optuna.importance.get_param_importances(study, evaluator=ev)
    except (ValueError, RuntimeError) as exc:
        return {}, f"not computed: {exc}"
    return {k: float(v) for k, v in imp.items() if k in varied}, None


@dataclass
class BestTrials:
    """The study's top trials from MLflow, with the study's PBO, DSR and selection verdict."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    pbo: float | None = None
    dsr: float | None = None
    n_trials: int | None = None
    selection: str | None = None
    strategies: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


SPLIT_SHARPE_KEYS = ("agent_sharpe", "sharpe")  # what the objective logs per split; the documented form


def split_sharpes(metrics: dict[str, float]) -> list[float | None]:
    """The agent's test Sharpe per CPCV split (``test_<k>/agent_sharpe``, else ``test_<k>/sharpe``) in split
    order; None for a non-finite figure."""
    for name in SPLIT_SHARPE_KEYS:
        keys = [k for k in metrics if k.startswith("test_") and k.endswith(f"/{name}")]
        if keys:
            keys.sort(key=lambda k: int(k.split("/")[0].removeprefix("test_") or 0))
            return [metrics[k] if math.isfinite(metrics[k]) else None for k in keys]
    return []


def best_trials(src: Sources, study: str, top: int = 5) -> BestTrials:
    """The study's ``top`` trials from MLflow, each with its test Sharpe per CPCV split (only a note when
    there is no tracking store)."""
    trk = src.tracking()
    if trk is None:
        return BestTrials(notes=["no MLflow tracking store yet"])
    from cappuccino_core.registry.report import study_report

    rep = study_report(study, trk, top=top)
    by_id = {t.run_id: t for t in rep.trials}
    rows = rep.rows()
    for r in rows:
        r["split_sharpes"] = split_sharpes(by_id[r["run_id"]].metrics)
    return BestTrials(rows, rep.pbo, rep.dsr, rep.n_trials, rep.selection, rep.strategies, rep.notes)


def study_names(storage: Any) -> list[str]:
    """The studies in the storage, the most recently started first."""
    import optuna

    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    summaries.sort(key=lambda s: _utc(s.datetime_start) if s.datetime_start else epoch, reverse=True)
    return [s.study_name for s in summaries]


@dataclass
class TrainingView:
    """Everything the training page shows (``studies`` empty: nothing yet)."""

    studies: list[str]
    study: str | None = None
    progress: Progress | None = None
    history: History | None = None
    importance: dict[str, float] = field(default_factory=dict)
    importance_note: str | None = None
    best: BestTrials | None = None
    phase_fixed: dict[str, Any] = field(default_factory=dict)


_IMPORTANCE_CACHE: dict[tuple[str, int], tuple[dict[str, float], str | None]] = {}


def training_view(src: Sources, study: str | None = None, now: datetime | None = None) -> TrainingView:
    """Build the training page's view for ``study`` (default: the first study in the Optuna storage):
    progress, history, parameter importance (refit once per new completed trial) and the best trials."""
    storage = src.optuna_storage()
    if storage is None:
        return TrainingView([])
    import optuna

    names = study_names(storage)
    if not names:
        return TrainingView([])
    name = study if study in names else names[0]
    st = optuna.load_study(study_name=name, storage=storage)
    trials = st.get_trials(deepcopy=False)
    limit = st.user_attrs.get("trial_limit")
    view = TrainingView(names, name, phase_fixed=dict(st.user_attrs.get("fixed") or {}))
    view.progress = progress(name, trials, int(limit) if limit else None, now or datetime.now(UTC))
    view.history = history(trials)
    key = (name, len(view.history.numbers))
    if key not in _IMPORTANCE_CACHE:  # fANOVA refits a forest: once per new completed trial
        if len(_IMPORTANCE_CACHE) > 64:
            _IMPORTANCE_CACHE.clear()
        _IMPORTANCE_CACHE[key] = importance(st)
    view.importance, view.importance_note = _IMPORTANCE_CACHE[key]
    view.best = best_trials(src, name)
    return view
