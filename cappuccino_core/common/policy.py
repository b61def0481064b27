"""The one policy protocol: what the backtester, the arena, the stress gate and the bar loop call.

A policy maps a batch of observations to a batch of actions, deterministically: ``predict((N, obs_size)
float32) -> (N, n_assets)`` target weights in [-1, 1] (an SB3-style ``(actions, state)`` tuple is accepted
by the backtester and reduced to its actions). A registered model loaded from MLflow
(:class:`~cappuccino_core.registry.models.LoadedPolicy`), an SB3 model wrapped by
:class:`~cappuccino_core.backtest.runner.SB3Policy`, and the rule strategies in
:mod:`cappuccino_core.strategies` all implement it.

Two optional capabilities, checked with ``isinstance``, let a policy read prices by bar:
:class:`EpisodeAware` (told once where a batch of episodes starts) and :class:`BarClocked` (told the decision
bars before every ``predict``).

A policy also says which env it trades under (:func:`policy_env`): a ``run_env`` attribute replaces the
configured env (the buy-and-hold references), a :class:`TrainedEnv` (a registered model, and the wrappers
that trade one: ensembles, the bar loop's deciders) applies the env it was trained with to it; anything
else runs under the configured env.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from cappuccino_core.config.env import EnvConfig
    from cappuccino_core.features.dataset import MarketDataset


class Policy(Protocol):
    """A batched deterministic policy."""

    def predict(self, observations: np.ndarray) -> Any:
        """(N, obs_size) float32 -> (N, n_assets) actions in [-1, 1] (or an (actions, state) tuple)."""
        ...


@runtime_checkable
class BarClocked(Protocol):
    """A policy that reads prices by bar: told the episodes' decision bars before every ``predict``."""

    def at_bars(self, t: np.ndarray) -> None:
        """``t``: (N,) int64 row of each episode's decision bar in the dataset."""
        ...


@runtime_checkable
class EpisodeAware(Protocol):
    """A policy told once, before the first step of a batch, which dataset rows its episodes start at."""

    def begin_episodes(self, data: MarketDataset, starts: np.ndarray) -> None:
        """``starts``: (N,) int64 first row of each episode in ``data``."""
        ...


@runtime_checkable
class OwnEnv(Protocol):
    """A policy that runs under an env of its own (a strategy exempt from the cap and reserve trims, an
    ensemble trading under its RL member's env); None: the caller's."""

    run_env: EnvConfig | None


@runtime_checkable
class TrainedEnv(Protocol):
    """A policy that carries the env it was trained with (registry/model_env.py)."""

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """``base`` (the configured env: capital, venue minimums) with the policy's trained fields applied."""
        ...


def policy_env(policy: object, base: EnvConfig) -> EnvConfig:
    """The env ``policy`` runs under: its own ``run_env`` if it has one; else, for a :class:`TrainedEnv`,
    ``base`` with its trained fields; else ``base``."""
    from cappuccino_core.config.env import EnvConfig

    if isinstance(policy, OwnEnv) and isinstance(policy.run_env, EnvConfig):
        return policy.run_env
    if isinstance(policy, TrainedEnv):
        env = policy.env_config(base)
        if not isinstance(env, EnvConfig):
            raise TypeError(
                f"{type(policy).__name__}.env_config returned {type(env).__name__}, not an EnvConfig"
            )
        return env
    return base
