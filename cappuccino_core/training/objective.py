"""The Optuna objective, run in a worker process: one trial = one MLflow run = one supervised child.

Outcomes (every trial ends in one of them, with user attributes ``reason_kind`` and ``reason``):

- COMPLETE: the mean over CPCV splits of (agent Sharpe - equal-weight Sharpe); ``reason_kind=ok``.
- PRUNED: the pruner stopped it after a split (``pruned``), or training produced NaN/inf (``non_finite``).
- FAIL: wall-time limit (``timeout``), memory cap (``memory``), an exception in training (``error``),
  the child dying (``crash``), or a worker-side error (``worker_error``). A worker lost mid-trial is
  failed by the heartbeat machinery (``worker_lost``, storage.py) and its trial re-queued.

Other user attributes: ``trial_uid`` (the MLflow run id; checkpoints are keyed by it), ``seed``,
``peak_rss_mb`` and ``child_s`` (the child's memory peak and wall time), ``worker_rss_mb`` (this process
after the trial), ``worker_pid``, ``wall_s``, ``resumed_splits`` (splits a retry took over).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import psutil

from cappuccino_core.config import Settings
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.training import space
from cappuccino_core.training.hyperparams import Hyperparams
from cappuccino_core.training.trainer import TrialJob
from cappuccino_core.training.trial_runner import ChildStats, Limits, TrialEnded, run_in_child

DEFAULT_TARGET = "cappuccino_core.training.trainer:train_trial"
SPLIT_METRICS = (
    "value",
    "agent_sharpe",
    "ew_sharpe",
    "zero_cost_sharpe",
    "turnover",
    "cost_share",
    "n_test_bars",
    "wall_s",
)
# Means over the splits, kept as the trial's user attributes too (the selection gate reads them).
COST_ATTRS = ("turnover", "cost_share", "zero_cost_sharpe")


class TrialFailed(Exception):
    """Ends a trial as FAIL; the reason is already in the trial's user attributes."""


@dataclass
class PhaseContext:
    """What every trial of one study phase shares (built by study.py, rebuilt in each worker)."""

    settings: Settings
    phase: int
    study_name: str
    fixed: dict[str, Any]  # phase 2: timeframe + lookback chosen by phase 1
    holdout_ns: int | None
    datasets: dict[str, str]  # "<timeframe>/<lookback>" -> prepared .npz path
    work_dir: Path  # checkpoints and per-trial artefacts live under it
    timeframes: list[str] = field(default_factory=list)  # phase 1: the candidates the data provides
    target: str = DEFAULT_TARGET  # the child's entry point (tests substitute fault-injecting ones)
    max_splits: int | None = None

    def dataset_path(self, params: Mapping[str, Any]) -> str:
        """The prepared dataset of the trial's ``timeframe`` and ``lookback``."""
        if params.get("timeframe") is None or params.get("lookback") is None:
            raise KeyError(
                f"no dataset chosen: timeframe {params.get('timeframe')}, lookback {params.get('lookback')}"
            )
        key = f"{params['timeframe']}/{int(params['lookback'])}"
        if key not in self.datasets:
            raise KeyError(f"no prepared dataset for {key}; prepared: {sorted(self.datasets)}")
        return self.datasets[key]


def set_reason(trial: optuna.Trial, kind: str, reason: str) -> None:
    """Record why the trial ended (user attributes ``reason_kind`` and ``reason``, the latter capped)."""
    trial.set_user_attr("reason_kind", kind)
    trial.set_user_attr("reason", reason[:2000])


class _NullRun:
    """Stands in for the registry's TrialRun when MLflow tracking is off (``training.mlflow = false``)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *a, **k: None


RunOpener = Callable[[optuna.Trial, str | None], AbstractContextManager[Any]]


@contextlib.contextmanager
def tracked_run(ctx: PhaseContext, trial: optuna.Trial, run_id: str | None) -> Iterator[Any]:
    """The trial's MLflow run (the registry's TrialRun; ``run_id`` resumes a retried trial's run), or a
    stand-in that logs nothing when tracking is off."""
    if not ctx.settings.training.mlflow:
        yield _NullRun(run_id or uuid.uuid4().hex)
        return
    from cappuccino_core.registry import Tracking, trial_run

    tags = {"phase": ctx.phase, "optuna_trial": trial.number}
    with trial_run(
        Tracking.from_settings(ctx.settings), ctx.study_name, trial.number, run_id=run_id, tags=tags
    ) as run:
        yield run


def _seed(ctx: PhaseContext, trial: optuna.Trial) -> int:
    seed = trial.user_attrs.get("seed")
    if seed is None:
        seed = (ctx.settings.training.seed * 1_000_003 + 7919 * trial.number) % (2**31 - 1)
        trial.set_user_attr("seed", int(seed))
    return int(seed)


class SplitReporter:
    """Takes each split message of a trial's child: reports the running mean to the pruner, logs the
    split's metrics, and prunes the trial when the pruner says so (the child is then killed)."""

    def __init__(self, trial: optuna.Trial, run: Any, pruner_name: str) -> None:
        self.trial, self.run, self.pruner_name = trial, run, pruner_name
        self.values: list[float] = []

    def __call__(self, msg: dict[str, Any]) -> None:
        trial = self.trial
        self.values.append(float(msg["value"]))
        step = len(self.values) - 1
        running = float(np.mean(self.values))
        trial.report(running, step)
        if msg.get("resumed"):  # finished (or checkpointed) by an earlier attempt of this trial
            trial.set_user_attr("resumed_splits", int(trial.user_attrs.get("resumed_splits", 0)) + 1)
        self.run.log_split_metrics(
            f"test_{msg['index']}",
            {k: msg[k] for k in SPLIT_METRICS if k in msg}
            | {k: v for k, v in msg.get("extra", {}).items() if k == "synthetic_share"},
        )
        if trial.should_prune():
            reason = f"{self.pruner_name} pruner after split {step + 1}: running objective {running:.4f}"
            set_reason(trial, "pruned", reason)
            raise optuna.TrialPruned(reason)


class TrialObjective:
    """The Optuna objective of one study phase: ``study.optimize(TrialObjective(ctx), ...)``.

    A call samples the trial's :class:`Hyperparams`, opens its run (``open_run``), trains and scores it in
    a supervised child (``run_child`` under ``limits``), hands the artefacts to the registry and returns
    the objective; every ending is recorded as described in the module docstring.

    :param ctx: what the phase's trials share (settings, datasets, the child's entry point)
    :param limits: the child's wall time, memory cap and torch threads (default: ``[training]``'s)
    :param open_run: ``(trial, run_id) -> context manager`` of the trial's run (default: :func:`tracked_run`)
    :param run_child: runs the child (default: :func:`~.trial_runner.run_in_child`; tests substitute it)
    """

    def __init__(
        self,
        ctx: PhaseContext,
        *,
        limits: Limits | None = None,
        open_run: RunOpener | None = None,
        run_child: Callable[..., Any] = run_in_child,
    ) -> None:
        cfg = ctx.settings.training
        self.ctx = ctx
        self.limits = limits or Limits(
            timeout_s=cfg.trial_timeout_s, memory_mb=cfg.trial_memory_mb, torch_threads=cfg.torch_threads
        )
        self.open_run: RunOpener = open_run or functools.partial(tracked_run, ctx)
        self.run_child = run_child
        self.n_envs = cfg.n_envs or ctx.settings.env.n_envs

    def __call__(self, trial: optuna.Trial) -> float:
        """Run one trial; its value, or ``TrialPruned`` / an exception with the reason recorded."""
        t0 = time.monotonic()
        trial.set_user_attr("worker_pid", os.getpid())
        stats = ChildStats()
        try:
            return self._run(trial, stats)
        except (optuna.TrialPruned, TrialFailed):
            raise
        except Exception as exc:  # worker-side problem (MLflow, storage, a bug): FAIL with the reason
            set_reason(trial, "worker_error", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            trial.set_user_attr("peak_rss_mb", round(stats.peak_rss_mb, 1))
            trial.set_user_attr("child_s", round(stats.wall_s, 2))
            trial.set_user_attr("wall_s", round(time.monotonic() - t0, 2))
            trial.set_user_attr("worker_rss_mb", round(psutil.Process().memory_info().rss / 2**20, 1))

    def job(self, hp: Hyperparams, env_cfg: EnvConfig, trial_uid: str, seed: int) -> TrialJob:
        """What the trial's child gets: its hyperparameters, env, data, CV layout, budget and folders."""
        ctx, cfg = self.ctx, self.ctx.settings.training
        return TrialJob(
            trial_uid=trial_uid,
            dataset_path=ctx.dataset_path(hp),
            hyperparams=hp,
            env=env_cfg,
            costs=ctx.settings.costs,
            cv_groups=cfg.cv_groups,
            cv_test_groups=cfg.cv_test_groups,
            purge_bars=cfg.purge_bars,
            embargo_bars=cfg.embargo_bars,
            holdout_ns=ctx.holdout_ns,
            timesteps_per_split=cfg.phase1_timesteps_per_split if ctx.phase == 1 else cfg.timesteps_per_split,
            checkpoint_every=cfg.checkpoint_every_steps,
            checkpoint_dir=str(ctx.work_dir / "checkpoints" / trial_uid),
            artifact_dir=str(ctx.work_dir / "artifacts" / trial_uid),
            n_envs=self.n_envs,
            seed=seed,
            final_fit=cfg.final_fit,
            max_splits=ctx.max_splits,
            synthetic_share=cfg.synthetic_share,
        )

    def _run(self, trial: optuna.Trial, stats: ChildStats) -> float:
        ctx, cfg = self.ctx, self.ctx.settings.training
        hp = space.suggest(trial, ctx.phase, cfg, ctx.settings.env, ctx.fixed, ctx.timeframes)
        env_cfg = hp.env_config(ctx.settings.env)
        seed = _seed(ctx, trial)
        with self.open_run(trial, trial.user_attrs.get("trial_uid")) as run:
            trial.set_user_attr("trial_uid", run.run_id)
            run.log_params(hp)
            run.log_config(env=env_cfg, costs=ctx.settings.costs, training=cfg)
            job = self.job(hp, env_cfg, run.run_id, seed)
            try:
                on_split = SplitReporter(trial, run, cfg.pruner)
                result = self.run_child(ctx.target, job.to_kwargs(), self.limits, on_split, stats)
                value = _record_result(trial, run, result, env_cfg)
            except TrialEnded as end:
                set_reason(trial, end.kind, end.reason)
                if end.kind == "non_finite":
                    raise optuna.TrialPruned(end.reason) from None
                raise TrialFailed(end.reason) from None
            finally:  # the trial has ended here (a lost worker never gets here: its retry resumes)
                shutil.rmtree(job.checkpoint_dir, ignore_errors=True)
                shutil.rmtree(job.artifact_dir, ignore_errors=True)
            set_reason(trial, "ok", f"{len(result['splits'])} CPCV splits")
            return value


def _record_result(trial: optuna.Trial, run: Any, result: dict[str, Any], env: EnvConfig) -> float:
    """The child's objective (FAIL if not finite), its artefacts logged (the model with ``env``, the trial's
    env it was trained under), its cost figures kept."""
    value = float(result["objective"])
    if not math.isfinite(value):
        set_reason(trial, "error", f"objective is not finite: {value}")
        raise TrialFailed(f"objective is not finite: {value}")
    _log_result(run, result, env)
    for key in COST_ATTRS:
        trial.set_user_attr(key, _split_mean(result["splits"], key))
    return value


def _split_mean(splits: list[dict[str, Any]], key: str) -> float:
    """Mean of one split figure over the trial's splits (0 for a result recorded before it existed)."""
    return float(np.mean([float(s.get(key, 0.0)) for s in splits])) if splits else float("nan")


def _log_result(run: Any, result: dict[str, Any], env: EnvConfig) -> None:
    """Hand the trial's artefacts to the registry (MLflow run): spec, policy (carrying the trial's ``env``,
    which every later backtest, gate, bout and trading session of the model applies), returns, metrics."""
    from cappuccino_core.features.spec import FeatureSpec
    from cappuccino_core.metrics import equity_from_returns

    splits = result["splits"]
    spec = FeatureSpec.load(result["spec_path"])
    with np.load(result["returns_path"]) as z:
        agent, bench, lengths = z["agent"], z["bench"], z["lengths"]
    run.log_spec(spec)
    run.log_metrics(
        {
            "test/sharpe": _split_mean(splits, "agent_sharpe"),
            "test/ew_sharpe": _split_mean(splits, "ew_sharpe"),
            **{f"test/{key}": _split_mean(splits, key) for key in COST_ATTRS},
        }
    )
    run.log_test_returns(agent)
    bounds = np.cumsum(np.concatenate([[0], lengths]))
    spans = [(f"test_{s['index']}", a, b) for s, a, b in zip(splits, bounds[:-1], bounds[1:], strict=True)]
    curves = {name: equity_from_returns(agent[a:b]) for name, a, b in spans}
    bench_curves = {name: equity_from_returns(bench[a:b]) for name, a, b in spans}
    if curves:
        run.log_equity_plot(curves, benchmarks=bench_curves)
    run.log_policy(result["model_path"], spec, env=env)
    run.log_objective(float(result["objective"]))
