"""Baseline policies, run through the same kernel (same costs and order rules) as any model.

Each is a batched ``predict(observations) -> actions`` that reads the portfolio from the observation
(index 0: cash fraction; 1..A: asset weights, see env/observation.py) and turns target weights into
actions for the configured action mode (env/actions.py):

- ``buy_and_hold``: everything it may (min(position_cap, 1 - cash_reserve)) into the BTC ticker (the first
  ticker when there is none) at the first bar, then holds.
- ``equal_weight``: min(position_cap, (1 - cash_reserve) / A) into every asset at the first bar, then
  holds (the traded counterpart of the metrics module's equal-weight benchmark, with costs).
- ``random``: uniform actions in [-1, 1] from a seeded generator.

"Holds" means: the target is the current weight, so no order (the order rules still act: a position that
drifts above the cap is sold down, a reserve eaten by price moves is restored).
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import weights_to_actions

BASELINES = ("buy_and_hold", "equal_weight", "random")


def actions_for_weights(target: np.ndarray, current: np.ndarray, env: EnvConfig) -> np.ndarray:
    """Actions that move current weights (N, A) to target weights (N, A) (env/actions.py's inverse)."""
    return weights_to_actions(target, current, env)


class HoldPolicy:
    """Buy the ``initial`` weights (A,) over the first bars of a run, hold afterwards.

    One bar suffices in target_weight mode; trade_fraction mode buys at most max_trade_fraction of equity
    per bar, so it takes ceil(max weight / max_trade_fraction) bars. Counts its calls: use a fresh policy
    per run (episodes of one batch start together).
    """

    def __init__(self, initial: np.ndarray, env: EnvConfig) -> None:
        self.initial = np.asarray(initial, dtype=np.float64)
        self.env = env
        self.calls = 0
        top = float(self.initial.max(initial=0.0))
        self.buy_bars = (
            1 if env.action_mode == "target_weight" else max(1, int(np.ceil(top / env.max_trade_fraction)))
        )

    def predict(self, observations: np.ndarray) -> np.ndarray:
        n_assets = self.initial.shape[0]
        current = observations[:, 1 : 1 + n_assets].astype(np.float64)
        buying = self.calls < self.buy_bars
        self.calls += 1
        target = np.broadcast_to(self.initial, current.shape) if buying else current
        return actions_for_weights(target, current, self.env)


class RandomPolicy:
    def __init__(self, n_assets: int, seed: int = 0) -> None:
        self.n_assets = n_assets
        self.rng = np.random.default_rng(seed)

    def predict(self, observations: np.ndarray) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, (observations.shape[0], self.n_assets))


def make_baseline(
    name: str, tickers: tuple[str, ...], env: EnvConfig, seed: int = 0
) -> HoldPolicy | RandomPolicy:
    from cappuccino_core.backtest.runner import btc_ticker

    n = len(tickers)
    investable = 1.0 - env.cash_reserve
    if name == "buy_and_hold":
        w = np.zeros(n)
        w[tickers.index(btc_ticker(tickers))] = min(env.position_cap, investable)
        return HoldPolicy(w, env)
    if name == "equal_weight":
        return HoldPolicy(np.full(n, min(env.position_cap, investable / n)), env)
    if name == "random":
        return RandomPolicy(n, seed)
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
