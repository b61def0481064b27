"""stable-baselines3 VecEnv view of the kernel: N episodes stepped natively in one batch.

Not N copies in a DummyVecEnv: one ``TradingKernel`` with N episodes. SB3 semantics:

- auto-reset: an episode that ends is restarted inside ``step_wait``; the returned observation is the new
  episode's first one, and ``infos[i]["terminal_observation"]`` holds the last observation of the one that
  ended. ``infos[i]["TimeLimit.truncated"]`` is True when it ended by truncation (time limit or end of
  its segment: the portfolio would go on), so PPO bootstraps its value; ``infos[i]["episode_equity"]`` is
  its final equity.
- action repeat (``env.action_repeat``, on by default; it matters only when ``env.decision_every`` k > 1):
  the agent is asked only on decision bars. One agent step places the orders of one decision bar and then
  holds (only the limit rules may trim, as in backtests and the live loop) up to the next decision bar, or
  the episode's end: k bars; its reward is the sum of the per-bar rewards. Random episode starts are moved
  on to their first decision bar, so every observation the agent sees in training is one a backtest or the
  live loop acts on. Without it the agent is asked every bar and k - 1 of every k actions do nothing.
- seeding: ``seed(s)`` (or ``VecEnv.seed``) makes the next ``reset()`` draw episodes from
  ``numpy.random.default_rng(s)``; the same seed gives the same episodes, starts and auto-resets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.gym_env import action_space, observation_space
from cappuccino_core.env.kernel import StepResult, TradingKernel
from cappuccino_core.features.dataset import MarketDataset


class KernelVecEnv(VecEnv):
    """An SB3 VecEnv over one :class:`TradingKernel` (every sub-environment is one kernel episode)."""

    def __init__(self, kernel: TradingKernel) -> None:
        self.kernel = kernel
        self.render_mode = None
        super().__init__(kernel.n, observation_space(kernel), action_space(kernel))
        self._actions: np.ndarray | None = None
        # Action repeat: one agent step runs from a decision bar to the next (module docstring).
        self.repeat = kernel.env.action_repeat and kernel.env.decision_every > 1
        kernel.align_starts = self.repeat

    @classmethod
    def build(
        cls,
        data: MarketDataset,
        env: EnvConfig,
        costs: CostsConfig,
        n_envs: int,
        *,
        segments: list[tuple[int, int]] | None = None,
        seed: int | None = None,
    ) -> KernelVecEnv:
        """A VecEnv of ``n_envs`` episodes over ``data`` with ``env``'s settings and ``costs``."""
        return cls(TradingKernel(data, env, costs, n_envs, segments=segments, seed=seed))

    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:
            self.kernel.seed(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self.kernel.reset()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        assert self._actions is not None, "step_async() first"
        r = self.kernel.step(self._actions)
        if self.repeat:
            r = self._hold_to_decision(self._actions, r)
        self._actions = None
        done = r.terminated | r.truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        obs = r.obs
        if done.any():
            ended = np.flatnonzero(done)
            for i in ended:
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = bool(r.truncated[i])
                infos[i]["episode_equity"] = float(r.equity[i])
            obs = self.kernel.reset(ended)
        return obs, r.reward.astype(np.float32), done, infos

    def _hold_to_decision(self, actions: np.ndarray, first: StepResult) -> StepResult:
        """Step the episodes that are still active and not on a decision bar until each is on one (or has
        ended); the actions place no orders there. Rewards summed, done flags of any bar kept."""
        k = self.kernel
        reward, terminated, truncated = first.reward.copy(), first.terminated.copy(), first.truncated.copy()
        while True:
            hold = k.active & ~k.decide[k.t]
            if not hold.any():
                break
            r = k.step(actions, only=hold)
            reward += r.reward
            terminated |= r.terminated
            truncated |= r.truncated
        return StepResult(k.observation(), reward, terminated, truncated, k.equity)

    def close(self) -> None:
        pass

    # One kernel backs every index: attributes are the VecEnv's own.
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        return [getattr(self, method_name)(*args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
