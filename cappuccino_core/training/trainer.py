"""One trial's training and evaluation, run inside the trial child process (see trial_runner.py).

For each CPCV split: train PPO on the split's training segments, run it over each test segment, and
score it: agent Sharpe - equal-weight Sharpe on the split's test bars (both from cappuccino_core.metrics).
The split's features are z-scored on its own real training bars (fold_features.py).
Each split's result is emitted as soon as it is known (the worker reports it to the pruner) and saved
under the trial's checkpoint folder, keyed by the trial's globally unique id (its MLflow run id): a
retried trial skips finished splits and resumes the unfinished one from its last checkpoint.

With ``final_fit`` the artefact model is then trained on every training bar (all CPCV groups plus the
synthetic windows); otherwise the last split's model is the artefact.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from cappuccino_core.common.atomic import atomic_write_text, atomic_write_with
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.metrics import equal_weight_buy_and_hold, sharpe_ratio, simple_returns
from cappuccino_core.training import envs, space
from cappuccino_core.training.cv import (
    RealBarIndex,
    Segment,
    mix_segments,
    split_dataset,
    synthetic_row_share,
    synthetic_segments,
)
from cappuccino_core.training.fold_features import real_rows, refit_normalisation
from cappuccino_core.training.guards import GuardedVecCheckNan, learn_guarded
from cappuccino_core.training.hyperparams import Hyperparams

MODEL_FILE = "model.zip"
SPEC_FILE = "feature_spec.json"
RESULT_FILE = "result.json"
RETURNS_FILE = "returns.npz"


@dataclass(frozen=True)
class TrialJob:
    """Everything a trial child needs (pickled across the process boundary as it is)."""

    trial_uid: str
    dataset_path: str
    hyperparams: Hyperparams
    env: EnvConfig  # the trial's env configuration (the configured one with its env hyperparameters)
    costs: CostsConfig
    cv_groups: int
    cv_test_groups: int
    purge_bars: int
    embargo_bars: int
    holdout_ns: int | None
    timesteps_per_split: int
    checkpoint_every: int
    checkpoint_dir: str
    artifact_dir: str
    n_envs: int
    seed: int
    final_fit: bool = True
    max_splits: int | None = None  # tests: stop after this many splits
    synthetic_share: float | None = None  # exact synthetic share of each split's training rows (cv.py)

    def to_kwargs(self) -> dict[str, Any]:
        """The child entry point's keyword arguments (``train_trial(job=..., emit=...)``)."""
        return {"job": self}


@dataclass
class SplitResult:
    """One CPCV split's outcome: its objective, Sharpes, cost figures, size and time."""

    index: int
    test_groups: list[int]
    value: float  # agent Sharpe - equal-weight Sharpe (annualised, test bars)
    agent_sharpe: float
    ew_sharpe: float
    n_test_bars: int
    train_steps: int
    wall_s: float
    resumed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # What trading cost (metrics.costs): traded notional / mean equity per year, fees + slippage as a share
    # of the starting equity over the test bars, and the Sharpe of the same trades without costs.
    turnover: float = 0.0
    cost_share: float = 0.0
    zero_cost_sharpe: float = 0.0


class Checkpoint(BaseCallback):
    """Save the agent every ``every`` env steps (atomically) so a retried trial resumes."""

    def __init__(self, folder: Path, every: int) -> None:
        super().__init__()
        self.folder, self.every = folder, every
        self._last = 0

    def _on_step(self) -> bool:
        if self.num_timesteps - self._last >= self.every:
            self._last = self.num_timesteps
            save_checkpoint(self.model, self.folder)
        return True


def save_checkpoint(model: Any, folder: Path) -> None:
    """The agent (with its step count) as ``model.zip``, written atomically."""
    atomic_write_with(folder / MODEL_FILE, model.save, suffix=".zip")


def train_agent(
    job: TrialJob,
    dataset: MarketDataset,
    segments: list[Segment],
    env_cfg: EnvConfig,
    costs_cfg: CostsConfig,
    folder: Path,
    seed: int,
) -> tuple[Any, bool]:
    """PPO trained for ``timesteps_per_split`` steps on ``segments``; resumes from ``folder`` if saved."""
    from stable_baselines3 import PPO

    venv = GuardedVecCheckNan(envs.make_train_env(dataset, segments, env_cfg, costs_cfg, job.n_envs, seed))
    ckpt = folder / MODEL_FILE
    resumed = ckpt.is_file()
    model = (
        PPO.load(ckpt, env=venv, device="cpu") if resumed else space.build_agent(job.hyperparams, venv, seed)
    )
    remaining = job.timesteps_per_split - int(model.num_timesteps)
    if remaining > 0:
        learn_guarded(
            model, remaining, [Checkpoint(folder, job.checkpoint_every)], reset_num_timesteps=not resumed
        )
    return model, resumed


@dataclass
class SplitScore:
    """A policy over one split's test bars: Sharpe after and before costs, turnover, cost share; returns."""

    agent_sharpe: float
    ew_sharpe: float
    zero_cost_sharpe: float
    turnover: float  # per year: traded notional / mean equity x bars per year / bars
    cost_share: float  # fees + slippage / starting equity, summed over the test segments
    agent: np.ndarray  # per-bar returns, segments concatenated
    bench: np.ndarray


def score_runs(runs: list[envs.SegmentRun], dataset: MarketDataset) -> SplitScore:
    """Score backtest runs over test segments (any policy: an agent, a strategy).

    Returns are taken per contiguous segment and concatenated: no return spans a gap between segments.
    """
    from cappuccino_core.metrics import (
        cost_share,
        periods_per_year,
        traded_notional,
        zero_cost_equity,
    )

    tf = dataset.spec.timeframe
    agent = [simple_returns(r.equity) for r in runs]
    bench = [simple_returns(equal_weight_buy_and_hold(dataset.prices[r.start : r.end + 1])) for r in runs]
    free = [simple_returns(zero_cost_equity(r.equity, r.record.fees, r.record.slippage)) for r in runs]
    ra = np.concatenate(agent) if agent else np.empty(0)
    rb = np.concatenate(bench) if bench else np.empty(0)
    rz = np.concatenate(free) if free else np.empty(0)
    notional = sum(traded_notional(r.record.ledger) for r in runs)
    mean_equity = float(np.mean(np.concatenate([r.equity for r in runs]))) if runs else 1.0
    turnover = notional / mean_equity * periods_per_year(tf) / max(ra.size, 1)
    costs = sum(cost_share(r.record.fees, r.record.slippage, float(r.equity[0])) for r in runs)
    return SplitScore(
        agent_sharpe=float(sharpe_ratio(ra, tf)),
        ew_sharpe=float(sharpe_ratio(rb, tf)),
        zero_cost_sharpe=float(sharpe_ratio(rz, tf)),
        turnover=float(turnover),
        cost_share=float(costs),
        agent=ra,
        bench=rb,
    )


def score_split(
    model: Any,
    dataset: MarketDataset,
    test: list[list[Segment]],
    env_cfg: EnvConfig,
    costs_cfg: CostsConfig,
) -> SplitScore:
    """The agent (deterministic) over the split's test segments, scored by :func:`score_runs`."""
    segs = [s for group in test for s in group]
    return score_runs(envs.evaluate_segments(model, dataset, segs, env_cfg, costs_cfg), dataset)


def split_value(agent_sharpe: float, ew_sharpe: float) -> float:
    """The objective of one split: agent Sharpe - equal-weight Sharpe (annualised, same test bars).

    An agent that stays in cash has Sharpe 0 (metrics' convention), so a finite value always exists
    for real prices; a non-finite one (fewer than 2 test bars, a constant non-zero return) is an error.
    """
    value = agent_sharpe - ew_sharpe
    if not np.isfinite(value):
        raise ValueError(
            f"split objective is not finite: agent Sharpe {agent_sharpe}, equal-weight {ew_sharpe}"
        )
    return float(value)


def run_split(
    job: TrialJob,
    dataset: MarketDataset,
    index: int,
    test_groups: tuple[int, ...],
    train: list[Segment],
    test: list[list[Segment]],
    env_cfg: EnvConfig,
    costs_cfg: CostsConfig,
    keep_model: Path | None = None,
) -> tuple[SplitResult, np.ndarray, np.ndarray]:
    """Train, score and record one split (or read its recorded result); ``keep_model``: save the agent."""
    folder = Path(job.checkpoint_dir) / f"split_{index}"
    done = folder / RESULT_FILE
    if done.is_file():
        res = SplitResult(**json.loads(done.read_text()))
        res.resumed = True
        with np.load(folder / RETURNS_FILE) as z:
            return res, z["agent"], z["bench"]
    t0 = time.monotonic()
    # The split never sees its test groups, not even through the features' normalisation statistics.
    dataset = refit_normalisation(dataset, real_rows(dataset, train))
    model, resumed = train_agent(job, dataset, train, env_cfg, costs_cfg, folder, job.seed + 1000 * index)
    sc = score_split(model, dataset, test, env_cfg, costs_cfg)
    ra, rb = sc.agent, sc.bench
    res = SplitResult(
        index=index,
        test_groups=list(test_groups),
        value=split_value(sc.agent_sharpe, sc.ew_sharpe),
        agent_sharpe=sc.agent_sharpe,
        ew_sharpe=sc.ew_sharpe,
        n_test_bars=int(ra.size),
        train_steps=int(model.num_timesteps),
        wall_s=time.monotonic() - t0,
        resumed=resumed,
        turnover=sc.turnover,
        cost_share=sc.cost_share,
        zero_cost_sharpe=sc.zero_cost_sharpe,
        extra={"synthetic_share": synthetic_row_share(dataset, train)},
    )
    if keep_model is not None:  # its spec first (the statistics it was trained with): a model never lacks one
        dataset.spec.save(keep_model.parent / SPEC_FILE)
        model.save(keep_model)
    model.get_env().close()
    del model
    gc.collect()  # PPO objects hold reference cycles: free this split's agent before the next one
    atomic_write_with(folder / RETURNS_FILE, lambda p: np.savez(p, agent=ra, bench=rb), suffix=".npz")
    atomic_write_text(folder / RESULT_FILE, json.dumps(asdict(res)))  # last: its presence means split done
    (folder / MODEL_FILE).unlink(missing_ok=True)  # the split is scored: its agent is not needed again
    return res, ra, rb


def train_trial(job: TrialJob, emit: Any) -> dict[str, Any]:
    """Child entry point: every split (emitting each result), then the artefact model. Returns paths."""
    j = job
    dataset = MarketDataset.load(j.dataset_path)
    env_cfg, costs_cfg = j.env, j.costs
    splits = split_dataset(
        dataset, j.cv_groups, j.cv_test_groups, j.purge_bars, j.embargo_bars, before=j.holdout_ns,
        min_segment_len=dataset.spec.lookback + 1, synthetic_share=j.synthetic_share,
    )  # fmt: skip
    if j.max_splits is not None:
        splits = splits[: j.max_splits]
    art = Path(j.artifact_dir)
    art.mkdir(parents=True, exist_ok=True)
    model_path = art / MODEL_FILE
    results, agent_returns, bench_returns = [], [], []
    for k, sp in enumerate(splits):
        keep = model_path if (not j.final_fit and k == len(splits) - 1) else None
        res, ra, rb = run_split(
            j, dataset, sp.index, sp.test_groups, sp.train, sp.test, env_cfg, costs_cfg, keep
        )
        results.append(res)
        agent_returns.append(ra)
        bench_returns.append(rb)
        emit({"type": "split", **asdict(res)})
    np.savez(
        art / "test_returns.npz",
        agent=np.concatenate(agent_returns),
        bench=np.concatenate(bench_returns),
        lengths=np.asarray([r.size for r in agent_returns]),
    )
    if not model_path.is_file():  # final fit (or a resumed last split whose agent was not kept)
        real, synth = RealBarIndex(dataset, j.holdout_ns).segments, synthetic_segments(dataset)
        train = real + synth
        if j.synthetic_share is not None:
            train = mix_segments(real, synth, j.synthetic_share, min_segment_len=dataset.spec.lookback + 1)
        model, _ = train_agent(
            j, dataset, train, env_cfg, costs_cfg, Path(j.checkpoint_dir) / "final", j.seed
        )
        dataset.spec.save(art / SPEC_FILE)
        model.save(model_path)
    return {
        "splits": [asdict(r) for r in results],
        "objective": float(np.mean([r.value for r in results])) if results else float("nan"),
        "model_path": str(model_path),
        "spec_path": str(art / SPEC_FILE),
        "returns_path": str(art / "test_returns.npz"),
    }
