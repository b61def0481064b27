"""Registered models with a known action and a chosen trained env: a PPO whose deterministic action is a
constant (action net weights zero, bias the action), logged like a trial logs its model."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.spec import FeatureSpec
from cappuccino_core.registry import trial_run


class _Shaped(gym.Env):
    """Only the spaces of the kernel's env: observation (obs_size,), action (n_assets,) in [-1, 1]."""

    def __init__(self, obs_size: int, n_assets: int) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_size,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n_assets,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, action: Any) -> Any:
        return np.zeros(self.observation_space.shape, np.float32), 0.0, True, False, {}


def const_ppo(obs_size: int, n_assets: int, action: float) -> Any:
    """A PPO whose deterministic action is ``action`` on every asset, whatever it observes."""
    import torch
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", _Shaped(obs_size, n_assets), n_steps=8, batch_size=8, device="cpu", seed=0,
                policy_kwargs={"net_arch": [4]})  # fmt: skip
    with torch.no_grad():
        model.policy.action_net.weight.zero_()
        model.policy.action_net.bias.fill_(action)
    return model


def log_model(
    tracking: Any,
    spec: FeatureSpec,
    obs_size: int,
    action: float,
    *,
    env: EnvConfig | None = None,
    run_env: EnvConfig | None = None,
    trial: int = 0,
) -> str:
    """Log a constant-action model; ``env``: the trained env stored with the model (today's trials);
    ``run_env``: only the run's ``env.*`` params (a model logged before the artifact). Returns the run id."""
    with trial_run(tracking, "study-env", trial) as run:
        if run_env is not None:
            run.log_config(env=run_env)
        run.log_spec(spec)
        model = const_ppo(obs_size, len(spec.tickers), action)
        run.log_policy(model, spec, **({} if env is None else {"env": env}))
        run.log_objective(0.5)
    return run.run_id
