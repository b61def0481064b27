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
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import psutil

from cappuccino_core.config import Settings
from cappuccino_core.training import space
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

    def dataset_path(self, params: dict[str, Any]) -> str:
        key = f"{params['timeframe']}/{int(params['lookback'])}"
        if key not in self.datasets:
            raise KeyError(f"no prepared dataset for {key}; prepared: {sorted(self.datasets)}")
        return self.datasets[key]


def set_reason(trial: optuna.Trial, kind: str, reason: str) -> None:
    trial.set_user_attr("reason_kind", kind)
    trial.set_user_attr("reason", reason[:2000])


class _NullRun:
    """Stands in for the registry's TrialRun when MLflow tracking is off (``training.mlflow = false``)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *a, **k: None


@contextlib.contextmanager
def _tracked(ctx: PhaseContext, trial: optuna.Trial, run_id: str | None) -> Iterator[Any]:
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


def make_objective(ctx: PhaseContext) -> Callable[[optuna.Trial], float]:
    cfg = ctx.settings.training
    limits = Limits(
        timeout_s=cfg.trial_timeout_s, memory_mb=cfg.trial_memory_mb, torch_threads=cfg.torch_threads
    )
    n_envs = cfg.n_envs or ctx.settings.env.n_envs
    pruner_name = cfg.pruner

    def objective(trial: optuna.Trial) -> float:
        t0 = time.monotonic()
        trial.set_user_attr("worker_pid", os.getpid())
        stats = ChildStats()
        try:
            return _run(trial, stats)
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

    def _run(trial: optuna.Trial, stats: ChildStats) -> float:
        params = space.suggest(trial, ctx.phase, cfg, ctx.settings.env, ctx.fixed, ctx.timeframes)
        env_cfg = space.env_config(params, ctx.settings.env)
        seed = _seed(ctx, trial)
        with _tracked(ctx, trial, trial.user_attrs.get("trial_uid")) as run:
            uid = run.run_id
            trial.set_user_attr("trial_uid", uid)
            run.log_params(params)
            run.log_config(env=env_cfg, costs=ctx.settings.costs, training=cfg)
            ckpt = ctx.work_dir / "checkpoints" / uid
            art = ctx.work_dir / "artifacts" / uid
            job = TrialJob(
                trial_uid=uid,
                dataset_path=ctx.dataset_path(params),
                params=params,
                env=env_cfg.model_dump(mode="json"),
                costs=ctx.settings.costs.model_dump(mode="json"),
                cv_groups=cfg.cv_groups,
                cv_test_groups=cfg.cv_test_groups,
                purge_bars=cfg.purge_bars,
                embargo_bars=cfg.embargo_bars,
                holdout_ns=ctx.holdout_ns,
                timesteps_per_split=cfg.phase1_timesteps_per_split
                if ctx.phase == 1
                else cfg.timesteps_per_split,
                checkpoint_every=cfg.checkpoint_every_steps,
                checkpoint_dir=str(ckpt),
                artifact_dir=str(art),
                n_envs=n_envs,
                seed=seed,
                final_fit=cfg.final_fit,
                max_splits=ctx.max_splits,
                synthetic_share=cfg.synthetic_share,
            )
            values: list[float] = []

            def on_split(msg: dict[str, Any]) -> None:
                values.append(float(msg["value"]))
                step = len(values) - 1
                running = float(np.mean(values))
                trial.report(running, step)
                if msg.get("resumed"):  # finished (or checkpointed) by an earlier attempt of this trial
                    trial.set_user_attr("resumed_splits", int(trial.user_attrs.get("resumed_splits", 0)) + 1)
                run.log_split_metrics(
                    f"test_{msg['index']}",
                    {k: msg[k] for k in SPLIT_METRICS if k in msg}
                    | {k: v for k, v in msg.get("extra", {}).items() if k == "synthetic_share"},
                )
                if trial.should_prune():
                    reason = f"{pruner_name} pruner after split {step + 1}: running objective {running:.4f}"
                    set_reason(trial, "pruned", reason)
                    raise optuna.TrialPruned(reason)

            try:
                result = run_in_child(ctx.target, job.to_kwargs(), limits, on_split, stats)
                value = float(result["objective"])
                if not math.isfinite(value):
                    set_reason(trial, "error", f"objective is not finite: {value}")
                    raise TrialFailed(f"objective is not finite: {value}")
                _log_result(run, result)
                for key in COST_ATTRS:
                    trial.set_user_attr(key, _split_mean(result["splits"], key))
            except TrialEnded as end:
                set_reason(trial, end.kind, end.reason)
                if end.kind == "non_finite":
                    raise optuna.TrialPruned(end.reason) from None
                raise TrialFailed(end.reason) from None
            finally:  # the trial has ended here (a lost worker never gets here: its retry resumes)
                shutil.rmtree(ckpt, ignore_errors=True)
                shutil.rmtree(art, ignore_errors=True)
            set_reason(trial, "ok", f"{len(result['splits'])} CPCV splits")
            return value

    return objective


def _split_mean(splits: list[dict[str, Any]], key: str) -> float:
    """Mean of one split figure over the trial's splits (0 for a result recorded before it existed)."""
    return float(np.mean([float(s.get(key, 0.0)) for s in splits])) if splits else float("nan")


def _log_result(run: Any, result: dict[str, Any]) -> None:
    """Hand the trial's artefacts to the registry (MLflow run): spec, policy, returns, metrics."""
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
    run.log_policy(result["model_path"], spec)
    run.log_objective(float(result["objective"]))
