"""The gymnasium and SB3 views of the kernel: check_env, auto-reset semantics, seeding, PPO learns."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.gym_env import TradingEnv
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.env.vec_env import KernelVecEnv
from tests.env_presets import NO_BAND

FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_gymnasium_check_env_passes() -> None:
    env = TradingEnv(toy_dataset(300, 3, 2, 4, seed=1), EnvConfig(**NO_BAND, episode_length=40))
    check_env(env, skip_render_check=True)


def test_gym_env_runs_a_given_episode_to_its_end() -> None:
    env = TradingEnv(toy_dataset(100, 2, 1, 3), EnvConfig(**NO_BAND, episode_length=50))
    obs, info = env.reset(seed=0, options={"start": 10, "end": 15})
    assert env.observation_space.contains(obs) and info["equity"] == EnvConfig(**NO_BAND).initial_cash
    flags = [env.step(env.action_space.sample())[3] for _ in range(5)]
    assert flags == [False, False, False, False, True]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())


def test_vec_env_auto_resets_with_terminal_observation() -> None:
    data = toy_dataset(200, 3, 2, 4, seed=2)
    venv = KernelVecEnv.build(data, EnvConfig(**NO_BAND, episode_length=10), CostsConfig(), 4, seed=0)
    obs = venv.reset()
    assert obs.shape == (4, venv.kernel.obs_size) and obs.dtype == np.float32
    actions = np.full((4, 3), 0.5, dtype=np.float32)
    for _step in range(1, 11):
        venv.step_async(actions)
        obs, rewards, dones, infos = venv.step_wait()
        assert rewards.dtype == np.float32 and rewards.shape == (4,)
    assert dones.all()  # all episodes are 10 steps long
    for i, info in enumerate(infos):
        assert info["TimeLimit.truncated"] is True
        term = info["terminal_observation"]
        assert term.shape == obs[i].shape and not np.array_equal(term, obs[i])
        assert term[0] < 1.0  # the ended episode held assets; the new one starts in cash
        assert obs[i][0] == 1.0
    assert np.all(venv.kernel.active) and np.all(venv.kernel.t == venv.kernel.start)


def test_vec_env_seeding_reproduces_episodes() -> None:
    data = toy_dataset(500, 2, 1, 3, seed=3)

    def rollout(seed: int) -> tuple[np.ndarray, np.ndarray]:
        venv = KernelVecEnv.build(data, EnvConfig(**NO_BAND, episode_length=7), CostsConfig(), 3)
        venv.seed(seed)
        obs = [venv.reset()]
        rewards = []
        rng = np.random.default_rng(0)
        for _ in range(20):
            o, r, _, _ = venv.step(rng.uniform(-1, 1, (3, 2)))
            obs.append(o)
            rewards.append(r)
        return np.array(obs), np.array(rewards)

    a, b, c = rollout(11), rollout(11), rollout(12)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_vec_env_is_one_kernel_not_copies() -> None:
    venv = KernelVecEnv.build(toy_dataset(100, 2, 1, 3), EnvConfig(**NO_BAND), CostsConfig(), 16)
    assert isinstance(venv.kernel, TradingKernel) and venv.kernel.n == 16 and venv.num_envs == 16
    assert venv.env_is_wrapped(object) == [False] * 16


def _trend_data():
    # One asset rising 0.3% a bar with little noise: the right answer is to hold it.
    return toy_dataset(2000, 1, 2, 3, drift=0.003, vol=0.001, seed=4)


def _mean_reward(model, data, env_cfg, n_steps: int = 200) -> tuple[float, float]:
    kernel = TradingKernel(data, env_cfg, FREE, 8, seed=123)
    obs = kernel.reset()
    total, weight = 0.0, 0.0
    for _ in range(n_steps):
        actions = model(obs)
        r = kernel.step(actions)
        total += float(r.reward.mean())
        weight += float(r.obs[:, 1].mean())
        done = r.truncated | r.terminated
        obs = kernel.reset(np.flatnonzero(done)) if done.any() else r.obs
    return total / n_steps, weight / n_steps


@pytest.mark.timeout(300)
def test_ppo_learns_to_hold_a_steadily_rising_asset() -> None:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    data = _trend_data()
    env_cfg = EnvConfig(
        **NO_BAND,
        position_cap=1.0,
        cash_reserve=0.0,
        min_order_value=0.0,
        reward="log_return",
        episode_length=64,
    )
    venv = KernelVecEnv.build(data, env_cfg, FREE, 8, seed=0)
    model = PPO(
        "MlpPolicy", venv, n_steps=64, batch_size=128, n_epochs=5, learning_rate=1e-3, seed=0, device="cpu"
    )

    def policy(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    before, weight_before = _mean_reward(policy, data, env_cfg)
    model.learn(total_timesteps=8_000)
    after, weight_after = _mean_reward(policy, data, env_cfg)
    # Holding the asset earns ~0.3% a bar = 0.3 reward (scale 100); cash earns 0.
    print(f"mean reward {before:.3f} -> {after:.3f}; weight {weight_before:.2f} -> {weight_after:.2f}")
    assert after > before + 0.15, (before, after)
    assert weight_after > 0.8, weight_after
