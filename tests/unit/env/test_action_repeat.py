"""Action repeat in the training view (``env.action_repeat``, ``env.decision_every`` k > 1), hand-computed:
one agent step runs from a decision bar to the next (k bars), its reward is the sum of the per-bar rewards,
episodes start on a decision bar and end at their last bar, and the agent sees exactly the observations a
backtest acts on.

The toy datasets start at absolute hour 472,222 (2 mod 4), so with k = 4 the decision bars are 2, 6, 10, ...
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.toy import dataset_from_prices, toy_dataset
from cappuccino_core.env.vec_env import KernelVecEnv
from tests.env_presets import NO_BAND

NO_COSTS = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
PRICES = [100.0, 100.0, 100.0, 110.0, 121.0, 99.0, 88.0, 88.0, 90.0, 95.0, 100.0]  # bars 0..10


def half_in(k: int, repeat: bool = True) -> KernelVecEnv:
    """One asset, no costs, no bands, cap 1, no reserve: action 0.5 = half of equity in the asset."""
    env = EnvConfig(
        **NO_BAND, position_cap=1.0, cash_reserve=0.0, decision_every=k, action_repeat=repeat,
        reward="log_return", reward_scale=1.0, episode_length=100,
    )  # fmt: skip
    data = dataset_from_prices(np.array(PRICES)[:, None])
    return KernelVecEnv.build(data, env, NO_COSTS, 1, seed=0)


def test_one_agent_step_is_k_bars_with_the_summed_reward() -> None:
    """Only possible episode: bars 0..10, moved on to the first decision bar 2. Step 1 buys half at 100
    (bar 2) and holds to bar 6 (88): equity 100,000 x (0.5 + 0.5 x 0.88) = 94,000; the log-return rewards
    of bars 3..6 sum to log(94,000 / 100,000). Step 2 rebalances to half at 88 (bar 6) and holds to bar 10
    (100), the data's last bar: 47,000 + 47,000 x 100 / 88, and the episode ends (truncated)."""
    venv = half_in(4)
    venv.reset()
    assert venv.kernel.t.tolist() == [2]
    half = np.array([[0.5]], dtype=np.float32)
    obs, reward, done, infos = venv.step(half)
    assert venv.kernel.t.tolist() == [6] and not done[0]
    assert reward[0] == pytest.approx(math.log(0.94), rel=1e-6)
    assert obs[0, 0] == pytest.approx(50_000 / 94_000) and obs[0, 1] == pytest.approx(44_000 / 94_000)
    end = 47_000 + 47_000 * 100 / 88
    obs, reward, done, infos = venv.step(half)
    assert done[0] and infos[0]["TimeLimit.truncated"]
    assert reward[0] == pytest.approx(math.log(end / 94_000), rel=1e-6)
    assert infos[0]["episode_equity"] == pytest.approx(end)
    assert infos[0]["terminal_observation"][1] == pytest.approx(47_000 * 100 / 88 / end)


def test_without_repeat_or_with_k_1_every_bar_is_a_step() -> None:
    for venv in (half_in(4, repeat=False), half_in(1)):
        assert not venv.repeat
        venv.reset()
        assert venv.kernel.t.tolist() == [0]  # not moved to a decision bar
        venv.step(np.array([[0.5]], dtype=np.float32))
        assert venv.kernel.t.tolist() == [1]


def test_a_kernel_step_of_only_some_episodes_leaves_the_others_waiting() -> None:
    env = EnvConfig(**NO_BAND, position_cap=1.0, cash_reserve=0.0, episode_length=100)
    kern = TradingKernel(dataset_from_prices(np.array(PRICES)[:, None]), env, NO_COSTS, 2)
    kern.reset(starts=np.array([0, 0]), ends=np.array([10, 10]))
    r = kern.step(np.full((2, 1), 0.5), only=np.array([True, False]))
    assert kern.t.tolist() == [1, 0] and kern.active.tolist() == [True, True]
    assert r.reward[1] == 0.0 and not r.truncated[1] and kern.holdings[1, 0] == 0.0
    assert kern.holdings[0, 0] == pytest.approx(500.0)


class ByFeatures:
    """A deterministic policy of the observation (the newest features), logging what it was shown."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict(self, obs: np.ndarray) -> np.ndarray:
        self.seen.append(obs.copy())
        return np.tanh(3.0 * obs[:, -6:-3].astype(np.float64))  # 3 assets x 2 features: each's newest lag


def test_training_sees_the_backtests_decision_bar_observations_and_rewards() -> None:
    """Toy market (3 assets, default costs and bands), k = 4, lookback 5, 30 bars: the one episode starts at
    bar 4, moves on to decision bar 6 and ends at bar 29 (the last step 26 -> 29 is 3 bars). Stepped bar by
    bar as a backtest does, the same policy sees the same observations on bars 6, 10, ..., 26, the rewards
    of each block of bars sum to the agent's, and the episode ends at the same equity."""
    data = toy_dataset(n_bars=30, n_assets=3, n_features=2, lookback=5, vol=0.03, seed=3)
    env = EnvConfig(decision_every=4, episode_length=100)
    costs = CostsConfig()
    venv = KernelVecEnv.build(data, env, costs, 1, seed=0)
    policy = ByFeatures()
    obs, rewards, done = venv.reset(), [], [False]
    bars = [int(venv.kernel.t[0])]
    while not done[0]:
        obs, r, done, infos = venv.step(policy.predict(obs))
        rewards.append(float(r[0]))
        bars.append(int(venv.kernel.t[0]))
    # six agent steps (the last one 26 -> 29, the data's end), then the auto-reset starts again at bar 6
    assert bars == [6, 10, 14, 18, 22, 26, 6] and infos[0]["TimeLimit.truncated"]

    kern = TradingKernel(data, env, costs, 1)  # the backtest's loop: the policy is asked on every bar
    o = kern.reset(starts=np.array([6]), ends=np.array([29]))
    shown, per_bar, held = {}, [], 0.0
    while kern.active[0]:
        held = max(held, float(kern.holdings.sum()))
        shown[int(kern.t[0])] = o[0].copy()
        res = kern.step(np.tanh(3.0 * o[:, -6:-3].astype(np.float64)))
        per_bar.append(res.reward[0])
        o = res.obs
    for bar, seen in zip([6, 10, 14, 18, 22, 26], policy.seen, strict=True):
        np.testing.assert_array_equal(seen[0], shown[bar])
    blocks = [sum(per_bar[i : i + 4]) for i in range(0, 23, 4)]
    np.testing.assert_allclose(rewards, blocks, rtol=1e-5)  # float32 rewards
    assert infos[0]["episode_equity"] == pytest.approx(float(kern.equity[0]), rel=1e-12)
    assert held > 0.0  # the policy did trade


@pytest.mark.timeout(300)
def test_ppo_trains_on_the_repeating_view_and_counts_agent_steps() -> None:
    """SB3's PPO runs on the action-repeat view. Episodes of 40 bars (k = 4) start on a decision bar 0-3
    bars after the drawn start, so each lasts 37-40 bars = 10 agent steps: in 64 agent steps per env every
    env ends an episode (truncated, with its terminal observation) at agent steps 10, 20, ..., 60."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    data = toy_dataset(n_bars=200, n_assets=2, n_features=2, lookback=3, seed=1)
    venv = KernelVecEnv.build(data, EnvConfig(decision_every=4, episode_length=40), CostsConfig(), 4, seed=0)
    ended: list[tuple[int, int]] = []  # (agent step, env)
    step_wait, calls = venv.step_wait, [0]

    def logged_step_wait():  # type: ignore[no-untyped-def]
        out = step_wait()
        calls[0] += 1
        for i in np.flatnonzero(out[2]):
            assert out[3][i]["TimeLimit.truncated"] and "terminal_observation" in out[3][i]
            ended.append((calls[0], int(i)))
        return out

    venv.step_wait = logged_step_wait  # type: ignore[method-assign]
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    assert model.num_timesteps == 256 and calls[0] == 64
    assert sorted(ended) == [(s, i) for s in range(10, 61, 10) for i in range(4)]
