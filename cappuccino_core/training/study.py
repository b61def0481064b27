"""The two study phases: stable names, resumable, each with a trial limit.

- ``<experiment>-phase1``: searches timeframe x lookback (PPO at fixed defaults). Its grid is enqueued
  once, cycling through every available (timeframe, lookback) pair up to the trial limit.
- ``<experiment>-phase2``: the full search space with the phase 1 choice fixed: the (timeframe, lookback)
  pair with the highest mean objective over phase 1's completed trials. Its first trial is phase 1's own
  PPO and env configuration (``training.phase2_first_phase1``, :func:`space.phase1_point`), after the
  warm start's trial if there is one.

Everything a worker needs is stored in the study's user attributes (holdout start, fixed values,
prepared dataset files), so any worker process, on any machine sharing the storage, rebuilds the same
:class:`PhaseContext` with :func:`load_context`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.trial import TrialState

from cappuccino_core.config import Settings
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.training.data import available_timeframes, holdout_time, prepare_dataset
from cappuccino_core.training.objective import DEFAULT_TARGET, PhaseContext
from cappuccino_core.training.storage import budget_used, describe, settings_storage

if TYPE_CHECKING:
    from cappuccino_core.registry.study_summary import StudySummary

log = logging.getLogger(__name__)


def study_name(cfg: TrainingConfig, phase: int) -> str:
    """The phase's study name, ``<experiment>-phase<N>``."""
    if phase not in (1, 2):
        raise ValueError(f"phase must be 1 or 2, got {phase}")
    return f"{cfg.experiment}-phase{phase}"


def trial_limit(cfg: TrainingConfig, phase: int, trials: int | None = None) -> int:
    """The phase's trial limit (``trials`` or the configured one); at least 1."""
    limit = trials if trials is not None else (cfg.phase1_trials if phase == 1 else cfg.phase2_trials)
    if limit < 1:
        raise ValueError(f"the trial limit must be >= 1, got {limit}")
    return limit


def make_pruner(cfg: TrainingConfig) -> optuna.pruners.BasePruner:
    """The configured pruner (median, hyperband over the CPCV splits, or none)."""
    n_splits = _n_splits(cfg)
    if cfg.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=cfg.pruner_startup_trials, n_warmup_steps=cfg.pruner_warmup_splits
        )
    if cfg.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=n_splits, reduction_factor=3)
    return optuna.pruners.NopPruner()


def _n_splits(cfg: TrainingConfig) -> int:
    from math import comb

    return comb(cfg.cv_groups, cfg.cv_test_groups)


def make_sampler(cfg: TrainingConfig, worker_index: int) -> optuna.samplers.BaseSampler:
    """The configured sampler, seeded per worker (TPE: multivariate, constant liar)."""
    seed = cfg.seed + 7 * worker_index  # workers must not propose the same points
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


def open_study(settings: Settings, phase: int, worker_index: int = 0) -> optuna.Study:
    """Create or load the phase's study on the configured storage (maximize; sampler and pruner as
    configured)."""
    cfg = settings.training
    storage = settings_storage(settings)
    return optuna.create_study(
        study_name=study_name(cfg, phase),
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=make_sampler(cfg, worker_index),
        pruner=make_pruner(cfg),
    )


def work_dir(settings: Settings, phase: int) -> Path:
    """The phase's working folder (datasets, checkpoints, per-trial artefacts)."""
    return Path(settings.paths.data_root) / "training" / study_name(settings.training, phase)


def best_phase1_choice(settings: Settings) -> tuple[str, int, dict[str, float]]:
    """(timeframe, lookback) with the highest mean objective over phase 1's completed trials."""
    study = open_study(settings, 1)
    by_choice: dict[tuple[str, int], list[float]] = defaultdict(list)
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        by_choice[(str(t.params["timeframe"]), int(t.params["lookback"]))].append(float(t.value or 0.0))
    if not by_choice:
        raise RuntimeError(
            f"phase 2 needs phase 1's choice, but study {study.study_name} has no completed trial: "
            "run `cappuccino train --phase 1` first"
        )
    means = {f"{tf}/{lb}": float(np.mean(v)) for (tf, lb), v in by_choice.items()}
    (tf, lb), _ = max(by_choice.items(), key=lambda kv: (np.mean(kv[1]), len(kv[1])))
    return tf, lb, means


def prepare_phase(settings: Settings, phase: int, trials: int | None = None) -> optuna.Study:
    """Create (or resume) the phase's study, fix its choices, build its datasets; idempotent."""
    cfg = settings.training
    limit = trial_limit(cfg, phase, trials)
    study = open_study(settings, phase)
    attrs = study.user_attrs
    holdout = (
        attrs.get("holdout_ns") if "holdout_ns" in attrs else holdout_time(settings, settings.data.timeframe)
    )
    if phase == 1:
        tfs = attrs.get("timeframes") or available_timeframes(settings, cfg.phase1_timeframes)
        if not tfs:
            raise RuntimeError(
                f"none of the timeframes {cfg.phase1_timeframes} is available for every ticker"
            )
        choices = [(tf, int(lb)) for tf in tfs for lb in cfg.phase1_lookbacks]
        fixed: dict[str, Any] = {}
        if not study.get_trials(deepcopy=False):
            for tf, lb in itertools.islice(itertools.cycle(choices), limit):
                study.enqueue_trial({"timeframe": tf, "lookback": lb})
    else:
        if "fixed" in attrs:
            fixed = attrs["fixed"]
        else:
            tf, lb, means = best_phase1_choice(settings)
            fixed = {"timeframe": tf, "lookback": lb}
            study.set_user_attr("phase1_means", means)
        tfs = [fixed["timeframe"]]
        choices = [(fixed["timeframe"], int(fixed["lookback"]))]
        if not study.get_trials(deepcopy=False):
            if cfg.warm_start_from:
                warm_start(study, settings, cfg.warm_start_from)
            if cfg.phase2_first_phase1:
                from cappuccino_core.training.space import phase1_point

                study.enqueue_trial(phase1_point(cfg, settings.env), user_attrs={"phase1_point": True})
    cache = work_dir(settings, phase) / "datasets"
    datasets = {
        f"{tf}/{lb}": str(prepare_dataset(settings, tf, lb, holdout, cache).path.resolve())
        for tf, lb in choices
    }
    study.set_user_attr("holdout_ns", holdout)
    study.set_user_attr("timeframes", list(tfs))
    study.set_user_attr("fixed", fixed)
    study.set_user_attr("datasets", datasets)
    study.set_user_attr("trial_limit", limit)
    return study


def warm_start(study: optuna.Study, settings: Settings, prefix: str) -> dict[str, Any] | None:
    """Enqueue the best COMPLETE trial of ``<prefix>-phase2`` as this (empty) phase-2 study's first trial:
    its phase-2 hyperparameters only (timeframe and lookback stay this study's phase-1 choice). Returns the
    enqueued values, or None when the previous study has no completed trial (logged)."""
    from cappuccino_core.training.space import phase2_dims

    names = {d.name for d in phase2_dims(settings.training)}
    try:
        prev = optuna.load_study(study_name=f"{prefix}-phase2", storage=settings_storage(settings))
    except KeyError:
        log.warning("warm start: no study %s-phase2 in the storage; starting cold", prefix)
        return None
    done = [
        t for t in prev.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE and t.value is not None
    ]
    if not done:
        log.warning("warm start: %s-phase2 has no completed trial; starting cold", prefix)
        return None
    best = max(done, key=lambda t: float(t.value))  # type: ignore[arg-type]
    params = {k: v for k, v in best.params.items() if k in names}
    study.enqueue_trial(params, user_attrs={"warm_start": f"{prefix}-phase2 trial {best.number}"})
    study.set_user_attr("warm_start", f"{prefix}-phase2 trial {best.number}")
    log.info(
        "warm start: %s-phase2 trial %d (objective %.4f) enqueued first", prefix, best.number, best.value
    )
    return params


def load_context(
    settings: Settings,
    phase: int,
    study: optuna.Study,
    target: str = DEFAULT_TARGET,
    max_splits: int | None = None,
) -> PhaseContext:
    """What the phase's trials share, rebuilt from the prepared study's user attributes."""
    attrs = study.user_attrs
    if "datasets" not in attrs:
        raise RuntimeError(f"study {study.study_name} is not prepared (prepare_phase first)")
    return PhaseContext(
        settings=settings,
        phase=phase,
        study_name=study.study_name,
        fixed=dict(attrs["fixed"]),
        holdout_ns=attrs["holdout_ns"],
        datasets=dict(attrs["datasets"]),
        work_dir=work_dir(settings, phase),
        timeframes=list(attrs["timeframes"]),
        target=target,
        max_splits=max_splits,
    )


@dataclass
class PhaseReport:
    """The outcome of a phase: trials by state, the best trial, every trial, worker exit codes, the
    summary."""

    study: str
    limit: int
    states: dict[str, int]
    best: dict[str, Any] | None
    trials: list[dict[str, Any]]
    worker_exitcodes: list[int | None] = field(default_factory=list)
    summary: StudySummary | None = None  # the registry's summary (PBO, DSR) when MLflow tracking is on

    @property
    def all_terminal_with_reason(self) -> bool:
        """Whether every trial ended COMPLETE, or PRUNED / FAIL with a reason."""
        return all(
            t["state"] == "COMPLETE" or (t["state"] in ("PRUNED", "FAIL") and t["reason"])
            for t in self.trials
        )


def phase_report(study: optuna.Study, limit: int) -> PhaseReport:
    """The report of the study's trials (a warning when fewer than ``limit`` ran)."""
    trials = study.get_trials(deepcopy=False)
    states: dict[str, int] = defaultdict(int)
    for t in trials:
        states[t.state.name] += 1
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = describe(max(complete, key=lambda t: float(t.value or 0.0))) if complete else None
    report = PhaseReport(study.study_name, limit, dict(states), best, [describe(t) for t in trials])
    if budget_used(trials) < limit:
        log.warning("study %s: %d of %d trials used", study.study_name, budget_used(trials), limit)
    return report


def strategy_scores(settings: Settings, study: optuna.Study, max_splits: int | None = None) -> dict[str, Any]:
    """Every strategy worth beating (cappuccino_core/strategies) fitted and scored on the phase-2 dataset's
    CPCV splits, exactly as the trials are: the bar a trial must clear to become a challenger."""
    from cappuccino_core.features.dataset import MarketDataset
    from cappuccino_core.strategies.scoring import strategy_cv_scores
    from cappuccino_core.training.cv import split_dataset

    ctx = load_context(settings, 2, study, max_splits=max_splits)
    dataset = MarketDataset.load(ctx.dataset_path(ctx.fixed))
    cfg = settings.training
    splits = split_dataset(
        dataset, cfg.cv_groups, cfg.cv_test_groups, cfg.purge_bars, cfg.embargo_bars, before=ctx.holdout_ns,
        min_segment_len=dataset.spec.lookback + 1,
    )  # fmt: skip
    if max_splits is not None:
        splits = splits[:max_splits]
    return dict(strategy_cv_scores(dataset, splits, settings.env, settings.costs))


def run_phase(
    settings: Settings,
    phase: int,
    *,
    trials: int | None = None,
    workers: int | None = None,
    target: str = DEFAULT_TARGET,
    max_splits: int | None = None,
    summarize: bool = True,
    progress: Any = None,
    runner: Callable[[int], list[int | None]] | None = None,
) -> PhaseReport:
    """Prepare the phase's study, run ``workers`` processes on it up to the trial limit, report.

    ``runner(limit)``: runs the workers elsewhere instead (the orchestrator's shards on other machines
    sharing the storage) and returns their exit codes; the study is prepared before and summarized after
    here, once. With MLflow tracking on (and ``summarize``), two more steps: :func:`summarize_phase` (PBO,
    DSR and the selection gate's verdict, logged), then, in phase 2, :func:`register_phase` (the trials
    that passed the gate become model versions, the best of them the challenger).
    """
    from cappuccino_core.training.workers import run_workers

    cfg = settings.training
    limit = trial_limit(cfg, phase, trials)
    study = prepare_phase(settings, phase, limit)
    if cfg.mlflow:  # create the tracking store and experiment once, before workers race to do it
        from cappuccino_core.registry import Tracking

        Tracking.from_settings(settings).ensure_experiment(study.study_name)
    poll = None if progress is None else trial_progress(study, limit, f"phase {phase} trials", progress)
    if runner is not None:
        codes = runner(limit)
    else:
        codes = run_workers(
            settings, phase, workers or cfg.workers, limit, target=target, max_splits=max_splits, on_poll=poll
        )
    if poll is not None:
        poll(final=True)
    report = phase_report(study, limit)
    report.worker_exitcodes = codes
    if summarize and cfg.mlflow and report.states.get("COMPLETE"):
        report.summary = summarize_phase(settings, phase, study, max_splits)
        if phase == 2:
            register_phase(settings, report.summary)
    return report


def summarize_phase(
    settings: Settings, phase: int, study: optuna.Study, max_splits: int | None = None
) -> Any:
    """The registry's summary of a finished phase (``registry.summarize``): PBO and DSR; in phase 2 also
    the selection gate against the strategies worth beating, scored on the same CPCV splits (phase 1 only
    chooses the timeframe and lookback: candidates for the gates come from phase 2)."""
    from cappuccino_core.registry import Tracking, summarize
    from cappuccino_core.registry.selection import SelectionRules
    from cappuccino_core.strategies.scoring import scores_markdown

    scores = strategy_scores(settings, study, max_splits) if phase == 2 else {}
    return summarize(
        study.study_name,
        Tracking.from_settings(settings),
        selection=SelectionRules.from_settings(settings) if phase == 2 else None,
        strategies={name: sc.objective for name, sc in scores.items()} if phase == 2 else None,
        strategies_table=scores_markdown(scores) if scores else None,
    )


REGISTER_TOP_K = 3  # phase 2: at most this many trials that passed the selection gate are registered


def register_phase(settings: Settings, summary: StudySummary, top_k: int = REGISTER_TOP_K) -> list[Any]:
    """Register the best ``top_k`` trials of a summarized phase-2 study that passed the selection gate
    (``registry.register_candidates``; the best becomes the challenger). Returns the model versions."""
    from cappuccino_core.registry import Tracking, register_candidates

    return register_candidates(summary, Tracking.from_settings(settings), top_k=top_k)


def trial_progress(study: Any, limit: int, task: str, callback: Any, every_s: float = 5.0) -> Any:
    """A poll function for :func:`run_workers`: every ``every_s`` it reads the study's trials and reports
    the finished ones against ``limit`` with an ETA, the newest finished trial (number, state, value) and
    the best so far (:class:`cappuccino_core.progress.ProgressReport` to ``callback``)."""
    import time as _time

    from optuna.trial import TrialState

    from cappuccino_core.progress import ProgressMeter

    meter = ProgressMeter(task, limit, [callback], min_interval_s=0.0)
    last = [-float("inf")]

    def poll(final: bool = False) -> None:
        if not final and _time.monotonic() - last[0] < every_s:
            return
        last[0] = _time.monotonic()
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state.is_finished()]
        running = sum(t.state == TrialState.RUNNING for t in trials)
        detail = f"{running} running"
        if done:
            t = max(done, key=lambda x: x.datetime_complete or x.datetime_start)
            val = "" if t.value is None else f" {t.value:.4f}"
            detail += f"; trial {t.number} {t.state.name}{val}"
        if any(t.state == TrialState.COMPLETE for t in done):
            with contextlib.suppress(ValueError):  # no complete trial with a value
                detail += f"; best {study.best_value:.4f}"
        meter.update(len(done), detail, force=True)

    return poll
