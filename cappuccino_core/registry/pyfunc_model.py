"""The MLflow pyfunc wrapper around a Stable-Baselines3 policy zip.

The model directory holds two artifacts: the SB3 zip (``policy``) and the FeatureSpec JSON
(``feature_spec``). ``predict(observations) -> actions`` is always deterministic and runs on CPU, so
the same observations give the same actions on any machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mlflow.pyfunc import PythonModel

from cappuccino_core.features.spec import FeatureSpec

POLICY_ARTIFACT = "policy"
SPEC_ARTIFACT = "feature_spec"

_ALGOS = ("PPO", "A2C", "SAC", "TD3", "DDPG", "DQN")


def algo_class(name: str) -> Any:
    """The stable-baselines3 class of algorithm ``name``; a clear error for an unknown one."""
    import stable_baselines3

    if name not in _ALGOS:
        raise ValueError(f"unknown SB3 algorithm {name!r}; expected one of {_ALGOS}")
    return getattr(stable_baselines3, name)


class SB3PolicyModel(PythonModel):
    """pyfunc model: a batch of observations in, deterministic actions out."""

    # The input schema is the signature logged with the model (a float32 tensor of the observation
    # shape); MLflow's type-hint based validation of predict is switched off.
    _skip_type_hint_validation = True

    def __init__(self, algo: str = "PPO") -> None:
        algo_class(algo)  # fail at log time, not at load time
        self.algo = algo
        self.sb3: Any = None
        self.spec: FeatureSpec | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Only the algorithm name is pickled; weights and spec live in the artifacts.
        return {"algo": self.algo}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.algo = state["algo"]
        self.sb3 = None
        self.spec = None

    def load_context(self, context: Any) -> None:
        """Load the FeatureSpec and the SB3 weights from the model's artifacts (on CPU)."""
        self.spec = FeatureSpec.load(context.artifacts[SPEC_ARTIFACT])
        self.sb3 = algo_class(self.algo).load(context.artifacts[POLICY_ARTIFACT], device="cpu")

    # No type hints here: MLflow would try to derive a schema from them (the logged signature is the schema).
    def predict(self, context, model_input, params=None):
        """pyfunc entry point: :meth:`act` on ``model_input``."""
        return self.act(model_input)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        """The observation shape of the loaded policy."""
        return tuple(self.sb3.observation_space.shape)

    def act(self, observations: Any) -> np.ndarray:
        """(B, *obs_shape) -> (B, *action_shape); a flat (B, prod(obs_shape)) batch is reshaped."""
        if self.sb3 is None:
            raise RuntimeError("policy not loaded (load it with cappuccino_core.registry.load_policy)")
        if isinstance(observations, dict) and len(observations) == 1:  # a named-tensor caller
            observations = next(iter(observations.values()))
        if hasattr(observations, "to_numpy"):  # pandas DataFrame from a generic pyfunc caller
            observations = observations.to_numpy()
        obs = np.asarray(observations, dtype=np.float32)
        shape = self.observation_shape
        if obs.shape == shape:
            raise ValueError(f"predict takes a batch of observations (B, *{shape}); got one observation")
        if obs.shape[1:] != shape:
            if obs.ndim == 2 and obs.shape[1] == int(np.prod(shape)):
                obs = obs.reshape((obs.shape[0], *shape))
            else:
                raise ValueError(f"observations of shape {obs.shape} do not match the policy's (B, *{shape})")
        actions, _ = self.sb3.predict(obs, deterministic=True)
        return np.asarray(actions, dtype=np.float32)
