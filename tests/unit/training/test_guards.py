"""NaN/inf guards: in env data (VecCheckNan), in losses and parameters (callback)."""

from __future__ import annotations

import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.training import envs, space
from cappuccino_core.training.guards import (
    GuardedVecCheckNan,
    NanGuardCallback,
    NonFiniteError,
    check_losses,
    first_non_finite_parameter,
    is_non_finite_error,
    learn_guarded,
)
from tests.env_presets import NO_BAND
from tests.unit.training.faults import nan_rewards_after

torch.set_num_threads(1)
CFG = TrainingConfig(n_steps_choices=[16, 32], batch_size_choices=[8, 16], net_width_choices=[8, 16])
ENV = EnvConfig(**NO_BAND, n_envs=2, episode_length=16)
DATA = toy_dataset(n_bars=100, n_assets=2, lookback=2, seed=0)


def _model(venv):  # type: ignore[no-untyped-def]
    return space.build_agent(space.phase1_defaults(CFG, ENV), venv, seed=0)


def test_nan_reward_raises_non_finite() -> None:
    raw = envs.make_train_env(DATA, DATA.segments, ENV, CostsConfig(), 2, 0)
    venv = GuardedVecCheckNan(nan_rewards_after(raw, steps=5))
    with pytest.raises(NonFiniteError) as ei:
        learn_guarded(_model(venv), 64, [])
    assert "env data" in str(ei.value) and "nan" in str(ei.value)


class _PoisonAfterFirstRollout(BaseCallback):
    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        with torch.no_grad():
            next(self.model.policy.parameters()).fill_(float("nan"))


def test_nan_parameters_or_losses_raise_non_finite() -> None:
    venv = GuardedVecCheckNan(envs.make_train_env(DATA, DATA.segments, ENV, CostsConfig(), 2, 0))
    with pytest.raises(NonFiniteError) as ei:
        learn_guarded(_model(venv), 128, [_PoisonAfterFirstRollout()])
    assert ei.value.where in ("loss", "parameter", "policy output")


def test_callback_checks_parameters() -> None:
    venv = envs.make_train_env(DATA, DATA.segments, ENV, CostsConfig(), 2, 0)
    model = _model(venv)
    model.learn(32)  # sets up the logger the callback reads
    guard = NanGuardCallback()
    guard.init_callback(model)
    guard.on_rollout_start()  # finite: no error
    with torch.no_grad():
        next(model.policy.parameters()).fill_(float("inf"))
    with pytest.raises(NonFiniteError) as ei:
        guard.on_rollout_start()
    assert ei.value.where == "parameter"


def test_helpers() -> None:
    assert check_losses({"train/loss": 1.0, "train/explained_variance": float("nan")}) is None
    assert check_losses({"train/value_loss": float("inf")}) == "train/value_loss=inf"
    lin = torch.nn.Linear(2, 2)
    assert first_non_finite_parameter(lin) is None
    with torch.no_grad():
        lin.bias[0] = float("nan")
    assert first_non_finite_parameter(lin) == "bias"
    assert is_non_finite_error(NonFiniteError("loss", "x"))
    torch_msg = (
        "Expected parameter loc (Tensor) ... to satisfy the constraint Real(), but found invalid values"
    )
    assert is_non_finite_error(ValueError(torch_msg))
    assert not is_non_finite_error(ValueError("something else"))
