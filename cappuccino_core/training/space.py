"""The search space, read off :class:`~cappuccino_core.training.hyperparams.Hyperparams`' fields.

Every field of ``Hyperparams`` is consumed by its PPO arguments, its env configuration or the dataset
choice (``timeframe``, ``lookback``); tests/unit/training/test_space.py builds each with two values and
checks the built PPO / env / dataset differ (no dead dimensions). Optuna stores the sampled VALUES
(``trial.params``), never categorical indices.

Phase 1 samples only ``timeframe`` and ``lookback`` (PPO and env at each field's phase-1 value); phase 2
samples everything else with timeframe and lookback fixed to phase 1's choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.training.hyperparams import (
    DATA_KEYS,
    ENV_KEYS,
    PPO_KEYS,
    REWARDS,
    SEARCH,
    Dim,
    Hyperparams,
    env_config,
    phase1_hyperparams,
)

__all__ = [
    "DATA_KEYS",
    "ENV_KEYS",
    "PPO_KEYS",
    "REWARDS",
    "Dim",
    "Hyperparams",
    "build_agent",
    "env_config",
    "phase1_defaults",
    "phase1_dims",
    "phase1_point",
    "phase2_dims",
    "suggest",
]


def phase1_dims(cfg: TrainingConfig, timeframes: list[str] | None = None) -> list[Dim]:
    """The dataset dimensions phase 1 searches; ``timeframes``: the configured candidates the data can
    provide (default: all configured)."""
    dims = [SEARCH[name].dim(name, cfg) for name in DATA_KEYS]
    if timeframes:
        dims[0] = Dim("timeframe", "cat", choices=tuple(timeframes))
    return dims


def phase2_dims(cfg: TrainingConfig) -> list[Dim]:
    """The agent and env dimensions phase 2 searches, in field order (a field with an empty choice list is
    none: phase 2 holds it at its phase-1 value)."""
    dims = [s.dim(name, cfg) for name, s in SEARCH.items() if s.group != "data"]
    return [d for d in dims if d.kind != "cat" or d.choices]


def phase1_defaults(cfg: TrainingConfig, env: EnvConfig) -> Hyperparams:
    """The agent and env phase 1 holds fixed (no dataset chosen yet)."""
    return phase1_hyperparams(cfg, env)


def suggest(
    trial: optuna.Trial,
    phase: int,
    cfg: TrainingConfig,
    env: EnvConfig,
    fixed: Mapping[str, Any] | None = None,
    timeframes: list[str] | None = None,
) -> Hyperparams:
    """Sample this phase's dimensions on ``trial``; the full hyperparameters (sampled + fixed values)."""
    fixed = dict(fixed or {})
    if phase == 1:
        sampled = {d.name: d.suggest(trial) for d in phase1_dims(cfg, timeframes)}
        return Hyperparams.from_mapping({**fixed, **phase1_defaults(cfg, env), **sampled})
    if phase == 2:
        if any(k not in fixed for k in DATA_KEYS):
            raise ValueError(f"phase 2 needs {DATA_KEYS} fixed by phase 1; got {fixed}")
        sampled = {d.name: d.suggest(trial) for d in phase2_dims(cfg)}
        held = {k: v for k, v in phase1_defaults(cfg, env).items() if k not in sampled and k not in DATA_KEYS}
        return Hyperparams.from_mapping({**held, **fixed, **sampled})
    raise ValueError(f"phase must be 1 or 2, got {phase}")


def phase1_point(cfg: TrainingConfig, env: EnvConfig) -> dict[str, Any]:
    """Phase 1's configuration as a phase-2 trial: each phase-2 dimension at its phase-1 value, moved into
    the dimension's range (e.g. ``ent_coef`` 0 -> the range's 1e-8: a log range has no 0); a categorical
    whose phase-1 value is not among its choices is left out (the trial samples it)."""
    base = phase1_defaults(cfg, env)
    point: dict[str, Any] = {}
    for d in phase2_dims(cfg):
        v = base[d.name]
        if d.kind == "cat":
            if v in d.choices:
                point[d.name] = v
        elif d.kind == "int":
            point[d.name] = int(min(max(int(v), int(d.low)), int(d.high)))
        else:
            point[d.name] = float(min(max(float(v), d.low), d.high))
    return point


def build_agent(params: Hyperparams | Mapping[str, Any], env: Any, seed: int, verbose: int = 0) -> Any:
    """A fresh PPO on ``env`` (an SB3 VecEnv) from a trial's hyperparameters (a mapping is validated into
    :class:`Hyperparams` first); CPU, one process."""
    from stable_baselines3 import PPO

    hp = params if isinstance(params, Hyperparams) else Hyperparams.from_mapping(params)
    kwargs = hp.ppo_kwargs(env.num_envs)
    policy: Any = "MlpPolicy"
    if hp.policy_arch == "asset_shared":
        from cappuccino_core.training.asset_shared_policy import AssetSharedPolicy

        policy = AssetSharedPolicy
        kwargs["policy_kwargs"]["lookback"] = hp.lookback or env_lookback(env)
    return PPO(policy, env, seed=seed, device="cpu", verbose=verbose, **kwargs)


def env_lookback(env: Any) -> int:
    """The observation lookback of a KernelVecEnv, wrapped or not (SB3's VecEnvWrapper forwards attribute
    lookups to the env it wraps); ValueError if ``env`` has no kernel."""
    kernel = getattr(env, "kernel", None)
    if kernel is None:
        raise ValueError(f"{type(env).__name__} has no kernel: pass the lookback (a study's hyperparameters)")
    return int(kernel.lookback)
