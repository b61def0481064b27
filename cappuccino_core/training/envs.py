"""The trainer's two uses of the step kernel: a training VecEnv over allowed segments (the env
package's KernelVecEnv) and a deterministic run of a model over test segments -> equity curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from cappuccino_core.backtest.runner import SB3Policy, run_episodes
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.episodes import EpisodeSampler
from cappuccino_core.env.records import EpisodeRecord
from cappuccino_core.env.vec_env import KernelVecEnv
from cappuccino_core.features.dataset import MarketDataset

Segment = tuple[int, int]


def make_train_env(
    dataset: MarketDataset,
    segments: list[Segment],
    env_cfg: EnvConfig,
    costs_cfg: CostsConfig,
    n_envs: int,
    seed: int,
) -> VecEnv:
    """An SB3 VecEnv of ``n_envs`` episodes drawn from ``segments`` (never across a gap)."""
    return KernelVecEnv.build(dataset, env_cfg, costs_cfg, n_envs, segments=segments, seed=seed)


@dataclass
class SegmentRun:
    """A policy run over one test segment: its bars, equity and episode record."""

    segment: Segment  # dataset rows [start, end) given
    start: int  # first decision bar (start + lookback - 1)
    end: int  # last bar marked
    equity: np.ndarray  # (end - start + 1,) total equity from the first decision bar to the last bar
    record: EpisodeRecord  # fees, slippage and the ledger of the run (turnover, zero-cost equity)


def evaluate_segments(
    model: Any, dataset: MarketDataset, segments: list[Segment], env_cfg: EnvConfig, costs_cfg: CostsConfig
) -> list[SegmentRun]:
    """Backtest ``model`` (deterministic) over each segment, one batched episode per segment, with the
    backtest runner (the kernel used in training) -> equity curves."""
    usable = [s for s in segments if s[1] - s[0] >= dataset.spec.lookback + 1]
    if not usable:
        return []
    starts, ends = EpisodeSampler(usable, dataset.spec.lookback, env_cfg.episode_length).whole()
    records = run_episodes(SB3Policy(model), dataset, env_cfg, costs_cfg, starts, ends)
    return [
        SegmentRun(seg, int(s), int(e), rec.equity, rec)
        for seg, s, e, rec in zip(usable, starts, ends, records, strict=True)
    ]
