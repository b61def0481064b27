"""gymnasium view of the kernel: one episode (``gymnasium.utils.env_checker.check_env`` passes)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import OrderRule
from cappuccino_core.features.dataset import MarketDataset


def observation_space(kernel: TradingKernel) -> spaces.Box:
    """The observation space of ``kernel``: unbounded float32 of ``kernel.obs_size``."""
    return spaces.Box(-np.inf, np.inf, (kernel.obs_size,), np.float32)


def action_space(kernel: TradingKernel) -> spaces.Box:
    """The action space of ``kernel``: one value in [-1, 1] per asset."""
    return spaces.Box(-1.0, 1.0, (kernel.n_assets,), np.float32)


class TradingEnv(gym.Env):
    """A single trading episode over a MarketDataset (see kernel.py for the step, observation.py for the
    observation layout, actions.py for what an action means).

    ``reset(options={"start": s, "end": e})`` runs a given episode instead of a random one.
    ``info`` carries equity, cash and the bar time.
    """

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        data: MarketDataset,
        env: EnvConfig | None = None,
        costs: CostsConfig | None = None,
        *,
        segments: list[tuple[int, int]] | None = None,
        rules: list[OrderRule] | None = None,
    ) -> None:
        self.kernel = TradingKernel(
            data,
            env or EnvConfig.model_validate({}),
            costs or CostsConfig.model_validate({}),
            1,
            segments=segments,
            rules=rules,
        )
        self.observation_space = observation_space(self.kernel)
        self.action_space = action_space(self.kernel)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.kernel.rng = self.np_random
        if options and "start" in options:
            obs = self.kernel.reset(starts=np.array([options["start"]]), ends=np.array([options["end"]]))
        else:
            obs = self.kernel.reset()
        return obs[0], self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.kernel.active[0]:
            raise RuntimeError("step() after the episode ended: call reset()")
        r = self.kernel.step(np.asarray(action, dtype=np.float64).reshape(1, -1))
        return r.obs[0], float(r.reward[0]), bool(r.terminated[0]), bool(r.truncated[0]), self._info()

    def _info(self) -> dict[str, Any]:
        k = self.kernel
        return {"equity": float(k.equity[0]), "cash": float(k.cash[0]), "time": int(k.data.times[k.t[0]])}
