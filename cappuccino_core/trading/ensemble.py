"""Ensembles of policies.

* :class:`SharpeWeightedEnsemble`: the mean of several policies' actions weighted by validation Sharpe
  (negative Sharpes get weight 0; if none is positive, equal weights). A mean of actions means something only
  when every member maps actions to orders the same way: members trained with different order semantics
  (hold band, decision interval, cash reserve, ...: ``registry/model_env.ORDER_FIELDS``) are refused when
  the ensemble's env is asked for (before a backtest or a session trades); the reward may differ.
* :class:`MultiTimeframeEnsemble`: a short-timeframe tactical model and a 1h strategic model; the tactical
  action is traded only where both point in the same direction (long: action > 0; flat or short: <= 0),
  elsewhere the trader holds (the ``trade`` mask is False).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cappuccino_core.common.policy import policy_env

if TYPE_CHECKING:
    from cappuccino_core.config.env import EnvConfig


class Predictor(Protocol):
    """Anything with a batched ``predict``: observations -> actions."""

    def predict(self, observations: Any) -> np.ndarray:
        """Actions (N, A) for a batch of observations."""
        ...


def sharpe_weights(sharpes: Sequence[float]) -> np.ndarray:
    """Weights proportional to max(Sharpe, 0), summing to 1; equal when no Sharpe is positive."""
    s = np.asarray(sharpes, dtype=np.float64)
    if s.size == 0 or not np.isfinite(s).all():
        raise ValueError(f"validation Sharpes must be finite and non-empty, got {list(sharpes)}")
    pos = np.maximum(s, 0.0)
    return pos / pos.sum() if pos.sum() > 0 else np.full(s.size, 1.0 / s.size)


class SharpeWeightedEnsemble:
    """Mean of several policies' actions weighted by their validation Sharpes (see :func:`sharpe_weights`)."""

    def __init__(self, policies: Sequence[Predictor], sharpes: Sequence[float]) -> None:
        if len(policies) != len(sharpes):
            raise ValueError(f"{len(policies)} policies but {len(sharpes)} validation Sharpes")
        self.policies, self.weights = list(policies), sharpe_weights(sharpes)

    def predict(self, observations: Any) -> np.ndarray:
        """The Sharpe-weighted mean of the members' actions for ``observations``."""
        acts = [np.asarray(p.predict(observations), dtype=np.float64) for p in self.policies]
        return np.tensordot(self.weights, np.stack(acts), axes=1)

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The members' shared trained env on ``base``; ValueError naming the members and the fields when
        they were trained to map actions to orders differently."""
        from cappuccino_core.registry.model_env import order_differences

        names = [str(getattr(p, "run_id", None) or f"member {i}") for i, p in enumerate(self.policies)]
        envs = {n: policy_env(p, base) for n, p in zip(names, self.policies, strict=True)}
        diff = order_differences(envs)
        if diff:
            raise ValueError(
                "ensemble members were trained with different action semantics, so the mean of their actions "
                f"has no meaning: {diff}; ensemble models trained with the same env"
            )
        return envs[names[0]]


@dataclass
class MtfDecision:
    """Tactical actions (N, A) and the mask of where they may be traded (both models agree in direction)."""

    actions: np.ndarray  # (N, A) the tactical actions
    trade: np.ndarray  # (N, A) bool: both models agree in direction


def agree(tactical: np.ndarray, strategic: np.ndarray) -> MtfDecision:
    """The tactical actions, tradable where tactical and strategic agree in direction (long: action > 0)."""
    t, s = np.asarray(tactical, dtype=np.float64), np.asarray(strategic, dtype=np.float64)
    if t.shape != s.shape:
        raise ValueError(f"tactical actions {t.shape} and strategic actions {s.shape} differ in shape")
    return MtfDecision(t, (t > 0) == (s > 0))


class MultiTimeframeEnsemble:
    """A tactical (short-timeframe) and a strategic (1h) model; the tactical action is traded only where
    both agree."""

    def __init__(self, tactical: Predictor, strategic: Predictor) -> None:
        self.tactical, self.strategic = tactical, strategic

    def decide(self, tactical_obs: Any, strategic_obs: Any) -> MtfDecision:
        """Both models' predictions on their own observations, combined by :func:`agree`."""
        return agree(self.tactical.predict(tactical_obs), self.strategic.predict(strategic_obs))


@dataclass
class SpecPolicy:
    """An ensemble seen as one policy by the bar loop: it predicts, and it carries the members' shared
    FeatureSpec and a label in place of a run id."""

    inner: Predictor
    spec: Any
    run_id: str

    def predict(self, observations: Any) -> np.ndarray:
        """The inner ensemble's actions for ``observations``, as float64."""
        return np.asarray(self.inner.predict(observations), dtype=np.float64)

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The inner ensemble's env on ``base`` (its members' shared trained env)."""
        return policy_env(self.inner, base)
