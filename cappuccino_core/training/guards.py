"""Non-finite guards: NaN/inf in observations, rewards, actions, losses or parameters stops training.

A :class:`NonFiniteError` is turned into a PRUNED trial with the reason recorded (objective.py): a
diverged configuration is a bad region of the search space, not a crash.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecCheckNan, VecEnv

LOSS_KEYS = (
    "train/loss",
    "train/value_loss",
    "train/policy_gradient_loss",
    "train/entropy_loss",
    "train/approx_kl",
)


class NonFiniteError(RuntimeError):
    """Training produced NaN/inf; ``where`` says in what (observation, reward, loss, parameter...)."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"non-finite {where}: {detail}")
        self.where = where


class GuardedVecCheckNan(VecCheckNan):
    """SB3's VecCheckNan (raising) whose error is a :class:`NonFiniteError`."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv, raise_exception=True, warn_once=False, check_inf=True)

    def _check_val(self, event: str, **kwargs: Any) -> None:
        try:
            super()._check_val(event, **kwargs)
        except ValueError as exc:
            raise NonFiniteError(
                "env data (observations/rewards/actions)", str(exc).splitlines()[0]
            ) from None


def first_non_finite_parameter(policy: Any) -> str | None:
    """The name of the first policy parameter holding a NaN or inf, or None."""
    for name, p in policy.named_parameters():
        if not bool(p.detach().isfinite().all()):
            return name
    return None


def check_losses(name_to_value: dict[str, Any]) -> str | None:
    """``key=value`` of the first logged loss that is not finite, or None."""
    for key in LOSS_KEYS:
        if key in name_to_value and not np.isfinite(float(name_to_value[key])):
            return f"{key}={name_to_value[key]}"
    return None


class NanGuardCallback(BaseCallback):
    """After every PPO update (seen at the next rollout start and at the end of training): losses and
    parameters must be finite."""

    def _check(self) -> None:
        bad_loss = check_losses(dict(self.model.logger.name_to_value))
        if bad_loss:
            raise NonFiniteError("loss", bad_loss)
        bad = first_non_finite_parameter(self.model.policy)
        if bad:
            raise NonFiniteError("parameter", bad)

    def _on_rollout_start(self) -> None:
        self._check()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        self._check()


def is_non_finite_error(exc: BaseException) -> bool:
    """Errors that mean 'training diverged': ours, and torch's distribution check on NaN logits/means."""
    if isinstance(exc, NonFiniteError):
        return True
    msg = str(exc)
    return isinstance(exc, ValueError) and "constraint" in msg and ("nan" in msg.lower() or "Real()" in msg)


def learn_guarded(model: Any, total_timesteps: int, callbacks: list[BaseCallback], **kwargs: Any) -> Any:
    """``model.learn`` with :class:`NanGuardCallback`; torch's own NaN checks become NonFiniteError."""
    try:
        return model.learn(total_timesteps, callback=CallbackList([NanGuardCallback(), *callbacks]), **kwargs)
    except ValueError as exc:
        if is_non_finite_error(exc) and not isinstance(exc, NonFiniteError):
            raise NonFiniteError("policy output", str(exc).splitlines()[0][:300]) from exc
        raise
