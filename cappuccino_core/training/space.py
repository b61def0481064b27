"""The search space and the one place sampled values become an agent and an env configuration.

Every dimension listed here is consumed by :func:`ppo_kwargs`, :func:`env_config` or the dataset choice
(``timeframe``, ``lookback``); tests/unit/training/test_space.py builds each with two values and checks
the built PPO / env / dataset differ (no dead dimensions). Optuna stores the sampled VALUES
(``trial.params``), never categorical indices.

Phase 1 samples only ``timeframe`` and ``lookback`` (PPO and env at :data:`PHASE1_DEFAULTS`); phase 2
samples everything else with timeframe and lookback fixed to phase 1's choice.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

import optuna

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig

REWARDS: tuple[str, ...] = typing.get_args(EnvConfig.model_fields["reward"].annotation)
DATA_KEYS = ("timeframe", "lookback")
ENV_KEYS = ("reward", "reward_scale", "cash_reserve", "hold_band", "rebalance_band")
PPO_KEYS = (
    "learning_rate",
    "n_steps",
    "batch_size",
    "n_epochs",
    "gamma",
    "gae_lambda",
    "clip_range",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
    "net_width",
    "net_depth",
    "log_std_init",
)


@dataclass(frozen=True)
class Dim:
    name: str
    kind: str  # "float" | "int" | "cat"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.kind == "cat":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


def phase1_dims(cfg: TrainingConfig, timeframes: list[str] | None = None) -> list[Dim]:
    """``timeframes``: the configured candidates the data can provide (default: all configured)."""
    return [
        Dim("timeframe", "cat", choices=tuple(timeframes or cfg.phase1_timeframes)),
        Dim("lookback", "cat", choices=tuple(cfg.phase1_lookbacks)),
    ]


def phase2_dims(cfg: TrainingConfig) -> list[Dim]:
    return [
        Dim("learning_rate", "float", 1e-5, 1e-3, log=True),
        Dim("n_steps", "cat", choices=tuple(cfg.n_steps_choices)),
        Dim("batch_size", "cat", choices=tuple(cfg.batch_size_choices)),
        Dim("n_epochs", "int", 3, 15),
        Dim("gamma", "float", 0.9, 0.9999),
        Dim("gae_lambda", "float", 0.8, 1.0),
        Dim("clip_range", "float", 0.1, 0.4),
        Dim("ent_coef", "float", 1e-8, 0.05, log=True),
        Dim("vf_coef", "float", 0.2, 1.0),
        Dim("max_grad_norm", "float", 0.3, 5.0, log=True),
        Dim("net_width", "cat", choices=tuple(cfg.net_width_choices)),
        Dim("net_depth", "int", 1, cfg.net_depth_max),
        Dim("reward", "cat", choices=REWARDS),
        Dim("reward_scale", "float", 1.0, 1000.0, log=True),
        Dim("cash_reserve", "float", 0.0, 0.2),
        # Turnover: the hold region and the no-trade band (env/actions.py), and the initial exploration
        # noise (a std of 1, SB3's default, trades at random and pays ~100% of equity per episode in fees).
        Dim("hold_band", "float", 0.0, 0.3),
        Dim("rebalance_band", "float", 0.0, 0.1),
        Dim("log_std_init", "float", cfg.log_std_low, cfg.log_std_high),
    ]


def phase1_defaults(cfg: TrainingConfig, env: EnvConfig) -> dict[str, Any]:
    """PPO/env values phase 1 holds fixed (SB3's defaults where they fit a small budget)."""
    mid = sorted(cfg.n_steps_choices)[len(cfg.n_steps_choices) // 2]
    return {
        "learning_rate": 3e-4,
        "n_steps": mid,
        "batch_size": sorted(cfg.batch_size_choices)[len(cfg.batch_size_choices) // 2],
        "n_epochs": 10,
        "gamma": 0.99,
        "gae_lambda": 0.95,
        "clip_range": 0.2,
        "ent_coef": 0.0,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
        "net_width": sorted(cfg.net_width_choices)[len(cfg.net_width_choices) // 2],
        "net_depth": min(2, cfg.net_depth_max),
        "reward": env.reward,
        "reward_scale": env.reward_scale,
        "cash_reserve": env.cash_reserve,
        "hold_band": env.hold_band,
        "rebalance_band": env.rebalance_band,
        "log_std_init": cfg.log_std_init,
    }


def suggest(
    trial: optuna.Trial,
    phase: int,
    cfg: TrainingConfig,
    env: EnvConfig,
    fixed: dict[str, Any] | None = None,
    timeframes: list[str] | None = None,
) -> dict[str, Any]:
    """Sample this phase's dimensions; return the full parameter set (sampled + fixed values)."""
    if phase == 1:
        params = phase1_defaults(cfg, env)
        params.update({d.name: d.suggest(trial) for d in phase1_dims(cfg, timeframes)})
    elif phase == 2:
        if not fixed or any(k not in fixed for k in DATA_KEYS):
            raise ValueError(f"phase 2 needs {DATA_KEYS} fixed by phase 1; got {fixed}")
        params = {d.name: d.suggest(trial) for d in phase2_dims(cfg)}
    else:
        raise ValueError(f"phase must be 1 or 2, got {phase}")
    for k, v in (fixed or {}).items():
        params.setdefault(k, v)
    return params


def ppo_kwargs(params: dict[str, Any], n_envs: int) -> dict[str, Any]:
    """PPO constructor arguments from sampled values (batch size at most one rollout)."""
    import torch

    width, depth = int(params["net_width"]), int(params["net_depth"])
    n_steps = int(params["n_steps"])
    return {
        "learning_rate": float(params["learning_rate"]),
        "n_steps": n_steps,
        "batch_size": min(int(params["batch_size"]), n_steps * n_envs),
        "n_epochs": int(params["n_epochs"]),
        "gamma": float(params["gamma"]),
        "gae_lambda": float(params["gae_lambda"]),
        "clip_range": float(params["clip_range"]),
        "ent_coef": float(params["ent_coef"]),
        "vf_coef": float(params["vf_coef"]),
        "max_grad_norm": float(params["max_grad_norm"]),
        "policy_kwargs": {
            "net_arch": {"pi": [width] * depth, "vf": [width] * depth},
            "activation_fn": torch.nn.Tanh,
            "log_std_init": float(params.get("log_std_init", 0.0)),
        },
    }


def env_config(params: dict[str, Any], base: EnvConfig) -> EnvConfig:
    """The env configuration of a trial: the configured one with the sampled env values (a sampled
    no-trade band is held under half the position cap, which the configuration requires it to be below)."""
    update = {k: params[k] for k in ENV_KEYS if k in params}
    if "rebalance_band" in update:
        update["rebalance_band"] = min(float(update["rebalance_band"]), 0.5 * base.position_cap)
    return EnvConfig.model_validate({**base.model_dump(), **update})  # validated, unlike model_copy


def build_agent(params: dict[str, Any], env: Any, seed: int, verbose: int = 0) -> Any:
    """A fresh PPO on ``env`` (an SB3 VecEnv) from sampled values; CPU, one process."""
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=verbose, **ppo_kwargs(params, env.num_envs))
