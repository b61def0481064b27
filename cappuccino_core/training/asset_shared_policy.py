"""A PPO policy that reads every asset with the same network (``policy_arch = "asset_shared"``).

The plain ``MlpPolicy`` reads the whole observation (cash, A weights, L x A x F features) through one
network and learns what to do with asset i separately for every i, from one portfolio reward: each
asset's rule is learnt from 1/A of the experience. Here one small network is applied to each asset in
turn, with the same weights (an "ensemble of identical independent evaluators", Jiang, Xu and Liang 2017):

    x_i = [cash share, weight of asset i, asset i's L x F features]          (2 + L x F inputs)
    mean action_i = head(MLP_pi(x_i))        value = value_head(mean over i of MLP_vf(x_i))

with MLP_pi and MLP_vf (width x depth, tanh) each shared by all i, so a rule found on one asset is at
once the rule for every asset, and the policy treats the assets alike whatever their order (permuting
the assets permutes the actions; a test checks it). The action distribution keeps SB3's diagonal Gaussian
with one log std per asset. The observation layout is
env/observation.py's; the policy needs the lookback L to find asset i's features (``lookback`` in
``policy_kwargs``; the number of assets is the action dimension). A saved model loads with
``PPO.load`` like any other: the class is this module's, the layout in its saved ``policy_kwargs``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn


def asset_index(n_assets: int, lookback: int, n_features: int) -> np.ndarray:
    """(A, 2 + L x F) observation columns of each asset's input: cash, its weight, its features at every
    lag (oldest first), in env/observation.py's layout."""
    a, f = n_assets, n_features
    rows = []
    for i in range(a):
        feats = [1 + a + (lag * a + i) * f + j for lag in range(lookback) for j in range(f)]
        rows.append([0, 1 + i, *feats])
    return np.asarray(rows, dtype=np.int64)


def layout(obs_size: int, n_assets: int, lookback: int) -> int:
    """Features per asset and bar of an observation of ``obs_size`` (ValueError if the size does not fit
    1 + A + L x A x F)."""
    body = obs_size - 1 - n_assets
    if lookback < 1 or body <= 0 or body % (lookback * n_assets):
        raise ValueError(
            f"observation of size {obs_size} does not fit 1 + A + L x A x F with A = {n_assets} assets and "
            f"lookback L = {lookback}"
        )
    return body // (lookback * n_assets)


class AssetSharedExtractor(nn.Module):
    """Per-asset latents from shared MLPs, one for the actor and one for the critic (as SB3's MlpExtractor
    keeps them apart): ``forward_actor`` (N, A x width), ``forward_critic`` (N, width), the critic's
    latents averaged over the assets."""

    def __init__(self, index: np.ndarray, width: int, depth: int, activation: type[nn.Module]) -> None:
        super().__init__()
        self.index: torch.Tensor
        self.register_buffer("index", torch.as_tensor(index), persistent=False)
        self.n_assets, n_in = index.shape
        self.width = width

        def mlp() -> nn.Sequential:
            sizes = [n_in] + [width] * depth
            layers: list[nn.Module] = []
            for a, b in itertools.pairwise(sizes):
                layers += [nn.Linear(a, b), activation()]
            return nn.Sequential(*layers)

        self.policy_net, self.value_net = mlp(), mlp()
        self.latent_dim_pi = self.n_assets * width
        self.latent_dim_vf = width

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = features[:, self.index]  # (N, A, 2 + L x F), gathered once for both networks
        return self.policy_net(x).flatten(1), self.value_net(x).mean(dim=1)

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        """(N, obs) -> (N, A x width): each asset's policy latent, assets in order."""
        return self.policy_net(features[:, self.index]).flatten(1)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        """(N, obs) -> (N, width): the value latents averaged over the assets."""
        return self.value_net(features[:, self.index]).mean(dim=1)


class PerAssetHead(nn.Module):
    """(N, A x width) -> (N, A): one linear map applied to every asset's latent."""

    def __init__(self, n_assets: int, width: int) -> None:
        super().__init__()
        self.n_assets, self.width = n_assets, width
        self.linear = nn.Linear(width, 1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.linear(latent.view(-1, self.n_assets, self.width)).squeeze(-1)


class AssetSharedPolicy(ActorCriticPolicy):
    """SB3's actor-critic with :class:`AssetSharedExtractor` and :class:`PerAssetHead` (module docstring).

    ``net_arch`` is ``{"pi": [width] * depth, ...}`` as for the MLP policy (the shared network's layers);
    ``lookback``: bars per observation."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        *args: Any,
        lookback: int = 1,
        **kwargs: Any,
    ) -> None:
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(
                f"asset_shared policy needs a 1-D Box action space (one per asset), got {action_space}"
            )
        n_assets = int(action_space.shape[0])
        obs_size = int(np.prod(observation_space.shape or (0,)))
        self.asset_layout = (n_assets, int(lookback), layout(obs_size, n_assets, int(lookback)))
        super().__init__(observation_space, action_space, lr_schedule, *args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        arch = self.net_arch
        sizes = list(arch.get("pi", []) if isinstance(arch, dict) else arch) or [64]
        self.mlp_extractor = AssetSharedExtractor(  # type: ignore[assignment]
            asset_index(*self.asset_layout), int(sizes[0]), len(sizes), self.activation_fn
        )

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        ext = self.mlp_extractor
        assert isinstance(ext, AssetSharedExtractor)
        self.action_net = PerAssetHead(ext.n_assets, ext.width)
        if self.ortho_init:
            self.action_net.apply(lambda m: self.init_weights(m, gain=0.01))
        # the optimizer again: it must hold the new head's parameters, not the replaced one's
        self.optimizer = self.optimizer_class(
            self.parameters(),
            lr=lr_schedule(1),  # type: ignore[call-arg]
            **self.optimizer_kwargs,
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["lookback"] = self.asset_layout[1]
        return data
