"""Decisions from a registered policy: features with the model's FeatureSpec (refusing on mismatch), the
observation from the broker's account, ``policy.predict``."""

from __future__ import annotations

from typing import Any

import numpy as np

from cappuccino_core.common.policy import policy_env
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.observation import ObservationBuilder
from cappuccino_core.features.builder import apply_spec
from cappuccino_core.trading.brokers.base import Broker
from cappuccino_core.trading.loop.replay import ReplayBars


class PolicyDecider:
    """Decisions of a registered policy on replayed bars: its FeatureSpec's features (the tickers must
    match), the observation from the broker's cash and positions, then ``policy.predict``; call it with a
    bar index."""

    def __init__(
        self,
        policy: Any,
        bars: ReplayBars,
        broker: Broker,
        timeframe: str,
        assets: tuple[str, ...] | None = None,
    ) -> None:
        if tuple(policy.spec.tickers) != bars.tickers:
            raise ValueError(
                f"model tickers {list(policy.spec.tickers)} != traded tickers {list(bars.tickers)}"
            )
        self.data = apply_spec(
            bars.frames, policy.spec, timeframe=timeframe
        )  # FeatureSpecMismatch on mismatch
        self.row = {int(t): i for i, t in enumerate(self.data.times)}
        self.policy, self.bars, self.broker = policy, bars, broker
        self.assets = tuple(bars.tickers) if assets is None else tuple(assets)  # the broker's symbols
        self.observe = ObservationBuilder(self.data.features, policy.spec.lookback)

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The env the decided actions mean orders under: the policy's trained env on ``base``."""
        return policy_env(self.policy, base)

    def __call__(self, t: int) -> np.ndarray:
        r = self.row.get(int(self.bars.times[t]))
        if r is None or r < self.policy.spec.lookback - 1:
            return np.zeros((1, len(self.bars.tickers)))  # no features yet (warm-up): stay flat
        pos = self.broker.positions()
        hold = np.array([[pos.get(a, 0.0) for a in self.assets]])
        obs = self.observe(np.array([r]), np.array([self.broker.cash()]), hold, self.bars.close[t][None, :])
        return np.asarray(self.policy.predict(obs), dtype=np.float64).reshape(1, -1)
