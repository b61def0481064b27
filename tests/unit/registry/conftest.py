"""Registry fixtures: a Tracking on a temp SQLite store, a tiny real SB3 PPO, FeatureSpecs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from cappuccino_core.features.spec import FeatureSpec, IndicatorSpec

OBS_SHAPE = (3, 2, 4)  # lookback x assets x features, like the portfolio env's observation
N_ASSETS = 2


def make_spec(
    tickers: tuple[str, ...] = ("BTC/USDT", "ETH/USDT"),
    timeframe: str = "1h",
    lookback: int = 3,
    indicators: tuple[IndicatorSpec, ...] | None = None,
) -> FeatureSpec:
    inds = indicators or (
        IndicatorSpec("close", (), ("close",)),
        IndicatorSpec("rsi", (("timeperiod", 14),), ("rsi",)),
        IndicatorSpec(
            "macd", (("fastperiod", 12), ("signalperiod", 9), ("slowperiod", 26)), ("macd", "macd_signal")
        ),
    )
    return FeatureSpec(tickers=tickers, timeframe=timeframe, indicators=inds, lookback=lookback, warmup=33)


class TinyEnv(gym.Env):
    """Observation (3, 2, 4) in [-1, 1], action (2,) in [-1, 1]; reward favours action 0 > action 1."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, OBS_SHAPE, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (N_ASSETS,), dtype=np.float32)
        self._t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._t = 0
        return self.observation_space.sample(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._t += 1
        reward = float(action[0] - action[1])
        return self.observation_space.sample(), reward, False, self._t >= 16, {}


@pytest.fixture(scope="session")
def tiny_ppo() -> Any:
    """A real PPO trained for 64 steps on CPU."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = TinyEnv()
    env.reset(seed=0)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs={"net_arch": [16, 16]},
    )
    model.learn(total_timesteps=64)
    return model


@pytest.fixture()
def obs_batch() -> np.ndarray:
    return np.random.default_rng(1).uniform(-1, 1, (7, *OBS_SHAPE)).astype(np.float32)


@pytest.fixture()
def spec() -> FeatureSpec:
    return make_spec()


@pytest.fixture(scope="session")
def mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its schema migrated once per worker (creating one costs seconds)."""
    import mlflow

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture()
def tracking(settings: Any, mlflow_template_db: Path) -> Any:
    """A Tracking on the ``settings`` fixture's temp paths, its store a fresh copy of the template."""
    from cappuccino_core.registry import Tracking

    uri = settings.paths.mlflow_tracking_uri
    assert uri.startswith("sqlite:///")
    shutil.copyfile(mlflow_template_db, uri[len("sqlite:///") :])
    return Tracking.from_settings(settings)
