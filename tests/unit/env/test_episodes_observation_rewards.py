"""Episodes stay inside segments; the observation layout; the three rewards by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.episodes import EpisodeSampler
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.observation import observation_size
from cappuccino_core.env.toy import dataset_from_prices, toy_dataset
from tests.env_presets import NO_BAND

FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)


def test_random_episodes_never_cross_a_gap_and_leave_room_for_the_lookback() -> None:
    segments = [(0, 40), (40, 46), (46, 47), (47, 200)]
    sampler = EpisodeSampler(segments, lookback=5, episode_length=30)
    assert sampler.segments == [(0, 40), (40, 46), (47, 200)]  # (46, 47) cannot hold a step
    starts, ends = sampler.sample(np.random.default_rng(0), 5000)
    for s, e in zip(starts, ends, strict=True):
        seg = next(g for g in sampler.segments if g[0] <= s < g[1])
        assert s - 4 >= seg[0], "lookback window reaches before the segment"
        assert s < e <= seg[1] - 1, "episode crosses its segment's end"
        assert e - s == min(30, seg[1] - 1 - s)
    # Every segment is used, the short one with its single possible episode.
    assert {(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if 40 <= s < 46} == {(44, 45)}
    assert (starts < 40).any() and (starts >= 47).any()


def test_sampling_is_seeded() -> None:
    sampler = EpisodeSampler([(0, 100), (100, 300)], lookback=3, episode_length=20)
    a = sampler.sample(np.random.default_rng(7), 50)
    b = sampler.sample(np.random.default_rng(7), 50)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_whole_segments_and_checks() -> None:
    sampler = EpisodeSampler([(0, 10), (10, 30)], lookback=3, episode_length=5)
    starts, ends = sampler.whole()
    assert starts.tolist() == [2, 12] and ends.tolist() == [9, 29]
    with pytest.raises(ValueError, match="not inside one segment"):
        sampler.check(np.array([8]), np.array([12]))
    with pytest.raises(ValueError, match="no segment holds one step"):
        EpisodeSampler([(0, 3)], lookback=3, episode_length=5)


def test_kernel_episodes_end_at_their_segment_or_length() -> None:
    data = toy_dataset(120, 2, 1, 4, segments=[(0, 50), (50, 120)])
    k = TradingKernel(data, EnvConfig(**NO_BAND, episode_length=30), FREE, 16, seed=1)
    k.reset()
    steps = np.zeros(16, dtype=int)
    while k.active.any():
        steps += k.active
        k.step(np.zeros((16, 2)))
    assert np.all(steps == k.end - k.start) and np.all(steps <= 30)
    for s, e in zip(k.start, k.end, strict=True):
        assert (s >= 3 and e <= 49) or (s >= 53 and e <= 119)


def test_given_segments_are_split_at_the_datas_gaps() -> None:
    data = toy_dataset(100, 1, 1, 2, segments=[(0, 40), (40, 100)])
    k = TradingKernel(data, EnvConfig(**NO_BAND, episode_length=10), FREE, 64, segments=[(20, 70)], seed=0)
    assert k.sampler.segments == [(20, 40), (40, 70)]
    k.reset()
    assert np.all(((k.start >= 21) & (k.end <= 39)) | ((k.start >= 41) & (k.end <= 69)))


def test_observation_layout() -> None:
    # Feature j of asset i at bar t is 1000 t + 10 i + j: the layout can be read off the vector.
    n_bars, n_assets, n_feat, lookback = 12, 3, 2, 4
    feats = np.fromfunction(
        lambda t, i, j: 1000 * t + 10 * i + j, (n_bars, n_assets, n_feat), dtype=np.float32
    )
    prices = np.tile([100.0, 200.0, 50.0], (n_bars, 1))
    data = dataset_from_prices(prices, lookback=lookback, features=feats.astype(np.float32))
    k = TradingKernel(data, EnvConfig(**NO_BAND, initial_cash=1000.0, position_cap=0.5), FREE, 1)
    obs = k.reset(starts=np.array([6]), ends=np.array([10]))[0]
    assert obs.shape == (observation_size(n_assets, n_feat, lookback),) and obs.dtype == np.float32
    assert obs[0] == 1.0 and np.all(obs[1:4] == 0.0)
    for step in range(lookback):
        for i in range(n_assets):
            for j in range(n_feat):
                bar = 6 - (lookback - 1) + step
                assert obs[1 + n_assets + (step * n_assets + i) * n_feat + j] == 1000 * bar + 10 * i + j
    obs = k.step(np.array([[1.0, 0.0, 0.0]])).obs[0]  # half in asset 0
    assert obs[1] == pytest.approx(0.5, rel=1e-6) and obs[0] == pytest.approx(0.5, rel=1e-6)
    assert obs[-1] == 1000 * 7 + 10 * 2 + 1  # newest bar last


def _rewards(kind: str, prices, actions, **env_kw) -> np.ndarray:
    env = EnvConfig(
        **NO_BAND,
        initial_cash=1000.0,
        position_cap=1.0,
        cash_reserve=0.0,
        reward=kind,
        reward_scale=1.0,
        **env_kw,
    )
    k = TradingKernel(dataset_from_prices(prices), env, FREE, 1)
    k.reset(starts=np.array([0]), ends=np.array([len(prices) - 1]))
    return np.array([k.step(np.array([a])).reward[0] for a in actions])


def test_log_return_reward() -> None:
    r = _rewards("log_return", [[100.0, 10.0], [110.0, 10.0], [99.0, 10.0]], [[1.0, 0.0], [1.0, 0.0]])
    assert r == pytest.approx([math.log(1.1), math.log(0.9)], rel=1e-8)  # cap margin: 1e-8 units stay cash


def test_excess_over_equal_weight_reward() -> None:
    prices = [[100.0, 10.0], [110.0, 10.0], [110.0, 12.0]]
    r = _rewards("excess_equal_weight", prices, [[1.0, 0.0], [1.0, 0.0]])
    # Benchmark: $500 in each at bar 0. Bar 1: 550 + 500 = 1050 (+5%). Bar 2: 550 + 600 = 1150 (+9.52%).
    assert r == pytest.approx([0.10 - 0.05, 0.0 - 100 / 1050], rel=1e-8)


def test_differential_sharpe_reward() -> None:
    prices = [[100.0], [110.0], [99.0], [108.9]]
    r = _rewards("differential_sharpe", prices, [[1.0]] * 3, dsr_eta=0.1)
    rets = [0.1, -0.1, 0.1]
    a = b = 0.0
    expected = []
    for x in rets:
        da, db = x - a, x * x - b
        var = b - a * a
        expected.append((b * da - 0.5 * a * db) / var**1.5 if var > 1e-12 else 0.0)
        a, b = a + 0.1 * da, b + 0.1 * db
    assert expected[0] == 0.0 and expected[1] != 0.0
    assert r == pytest.approx(expected, rel=1e-9)


def test_reward_scale_multiplies() -> None:
    prices = [[100.0], [110.0]]
    one = _rewards("log_return", prices, [[1.0]])
    env = EnvConfig(
        **NO_BAND,
        initial_cash=1000.0,
        position_cap=1.0,
        cash_reserve=0.0,
        reward="log_return",
        reward_scale=7.0,
    )
    k = TradingKernel(dataset_from_prices(prices), env, FREE, 1)
    k.reset(starts=np.array([0]), ends=np.array([1]))
    assert k.step(np.ones((1, 1))).reward[0] == pytest.approx(7.0 * one[0])
