"""The asset-shared policy: each asset's inputs found in the observation layout, one network for all
assets (permuting the assets permutes the actions and keeps the value), trained, saved and loaded by PPO
like the MLP policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.env.observation import ObservationBuilder
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.training import envs, space
from cappuccino_core.training.asset_shared_policy import AssetSharedPolicy, asset_index, layout
from tests.env_presets import NO_BAND

torch.set_num_threads(1)
A, L, F = 3, 2, 4


def _policy(lookback: int = L) -> AssetSharedPolicy:
    obs = spaces.Box(-np.inf, np.inf, (1 + A + lookback * A * F,), np.float32)
    act = spaces.Box(-1.0, 1.0, (A,), np.float32)
    arch = {"pi": [16, 16], "vf": [16, 16]}
    return AssetSharedPolicy(
        obs, act, lambda _: 3e-4, net_arch=arch, activation_fn=torch.nn.Tanh, lookback=lookback
    )


def test_asset_index_is_the_observation_layout_by_hand() -> None:
    # 2 assets, lookback 2, 2 features:
    # [cash, w0, w1, (lag0: a0f0 a0f1 a1f0 a1f1), (lag1: a0f0 a0f1 a1f0 a1f1)]
    assert asset_index(2, 2, 2).tolist() == [[0, 1, 3, 4, 7, 8], [0, 2, 5, 6, 9, 10]]


def test_asset_index_reads_what_the_observation_builder_writes() -> None:
    feats = np.arange(5 * A * F, dtype=np.float32).reshape(5, A, F)  # bar t, asset i, feature j: distinct
    obs = ObservationBuilder(feats, L)(
        np.array([4]), np.array([50.0]), np.ones((1, A)), np.full((1, A), 10.0)
    )
    per_asset = obs[0][asset_index(A, L, F)]
    for i in range(A):
        assert per_asset[i, 0] == pytest.approx(50.0 / 80.0)  # cash share
        assert per_asset[i, 1] == pytest.approx(10.0 / 80.0)  # asset i's weight
        assert per_asset[i, 2:].tolist() == feats[3:5, i, :].reshape(-1).tolist()  # bars 3, 4: oldest first


def test_a_size_that_does_not_fit_the_layout_is_refused() -> None:
    assert layout(1 + A + L * A * F, A, L) == F
    with pytest.raises(ValueError, match="does not fit 1 \\+ A \\+ L x A x F"):
        layout(1 + A + L * A * F + 1, A, L)


def test_permuting_the_assets_permutes_the_actions_and_keeps_the_value() -> None:
    pol = _policy()
    x = torch.randn(7, 1 + A + L * A * F)
    perm = [2, 0, 1]
    xp = x.clone()
    for i, src in enumerate(perm):
        xp[:, 1 + i] = x[:, 1 + src]
        for lag in range(L):
            dst0, src0 = 1 + A + (lag * A + i) * F, 1 + A + (lag * A + src) * F
            xp[:, dst0 : dst0 + F] = x[:, src0 : src0 + F]
    with torch.no_grad():
        a, ap = pol._predict(x, deterministic=True), pol._predict(xp, deterministic=True)
        v, vp = pol.predict_values(x), pol.predict_values(xp)
    assert torch.allclose(a[:, perm], ap, atol=1e-6)
    assert torch.allclose(v, vp, atol=1e-6)
    assert not torch.allclose(a[:, 0], a[:, 1])  # different inputs, different actions: not a constant
    with torch.no_grad():  # the rollout's forward (both latents at once) is the two heads' own
        pi, vf = pol.mlp_extractor(x)
        assert torch.equal(pi, pol.mlp_extractor.forward_actor(x))
        assert torch.equal(vf, pol.mlp_extractor.forward_critic(x))


def test_the_optimizer_trains_the_shared_head() -> None:
    pol = _policy()
    trained = {id(p) for g in pol.optimizer.param_groups for p in g["params"]}
    assert {id(p) for p in pol.parameters()} == trained
    assert pol.action_net.linear.weight.shape == (1, 16)  # one head for every asset


def test_build_agent_trains_saves_and_loads_it(tmp_path: Path) -> None:
    data = toy_dataset(n_bars=200, n_assets=A, n_features=F, lookback=L, drift=0.001, seed=1)
    env = EnvConfig(**NO_BAND, n_envs=2, episode_length=32, reward="log_return")
    venv = envs.make_train_env(data, data.segments, env, CostsConfig(), n_envs=2, seed=0)
    cfg = TrainingConfig(
        n_steps_choices=[16], batch_size_choices=[16], net_width_choices=[8], policy_arch="asset_shared"
    )
    params = space.phase1_defaults(cfg, env)
    assert params["policy_arch"] == "asset_shared"
    model = space.build_agent(params, venv, seed=0)
    assert isinstance(model.policy, AssetSharedPolicy)
    model.learn(64)
    model.save(tmp_path / "m.zip")
    loaded = PPO.load(tmp_path / "m.zip", device="cpu")
    assert isinstance(loaded.policy, AssetSharedPolicy)
    obs = venv.reset()
    np.testing.assert_allclose(
        model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0]
    )
