"""Baseline policies, run through the same kernel (same costs and order rules) as any model.

Each is a batched ``predict(observations) -> actions`` that reads the portfolio from the observation
(index 0: cash fraction; 1..A: asset weights, see env/observation.py) and turns target weights into
actions for the configured action mode (env/actions.py; signal mode cannot state a partial weight, so the
weight-stating baselines run under target_weight there, env.actions.weights_env):

- ``buy_and_hold``: TRUE buy-and-hold of BTC (the first ticker when there is none): all equity into it at
  the first bar, never another trade. It is the ``buy_and_hold_btc`` strategy
  (``cappuccino_core.strategies``) and runs exempt from the position cap and cash reserve
  (``run_env``: position_cap=1, cash_reserve=0). Before, this name meant min(cap, 1 - reserve) = 30% BTC
  and 70% idle cash, trimmed back to 30% by the cap rule in every rally: not a hold.
- ``equal_weight``: min(position_cap, (1 - cash_reserve) / A) into every asset at the first bar, then
  holds UNDER the configured cap and reserve (so with the defaults it is 16% per asset of six, and the order
  rules trim it: a position that drifts above the cap is sold down, a reserve eaten by price moves is
  restored). The untrimmed equal basket, the traded counterpart of the metrics module's equal-weight
  benchmark, is the ``buy_and_hold_basket`` strategy.
- ``random``: uniform actions in [-1, 1] from a seeded generator.

"Holds" means: the target is the current weight, so no order beyond what the order rules do.
Every strategy of ``cappuccino_core.strategies`` is also a policy the backtest takes by name
(:func:`make_policy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import weights_env, weights_to_actions

if TYPE_CHECKING:
    from cappuccino_core.backtest.runner import Policy

BASELINES = ("buy_and_hold", "equal_weight", "random")


def actions_for_weights(target: np.ndarray, current: np.ndarray, env: EnvConfig) -> np.ndarray:
    """Actions that move current weights (N, A) to target weights (N, A) (env/actions.py's inverse)."""
    return weights_to_actions(target, current, env)


class HoldPolicy:
    """Buy the ``initial`` weights (A,) over the first bars of a run, hold afterwards.

    One bar suffices in target_weight mode (signal mode runs as target_weight: ``run_env``); trade_fraction
    mode buys at most max_trade_fraction of equity per bar, so it takes ceil(max weight /
    max_trade_fraction) bars; with a decision interval k that many decision bars (k times as many bars).
    Counts its calls: use a fresh policy per run (episodes of one batch start together).
    """

    def __init__(self, initial: np.ndarray, env: EnvConfig) -> None:
        self.initial = np.asarray(initial, dtype=np.float64)
        # Signal mode cannot express a partial weight and smoothing would blur the weights stated: the hold
        # runs under target_weight without smoothing (weights_env).
        self.run_env = weights_env(env) if weights_env(env) is not env else None
        self.env = self.run_env or env
        self.calls = 0
        top = float(self.initial.max(initial=0.0))
        mode, fraction = self.env.action_mode, self.env.max_trade_fraction
        self.buy_bars = 1 if mode == "target_weight" else max(1, int(np.ceil(top / fraction)))
        # Orders only on decision bars (env.decision_every): one of any k bars in a row is one.
        self.buy_bars *= env.decision_every

    def predict(self, observations: np.ndarray) -> np.ndarray:
        """The initial weights as target actions while buying, the current weights afterwards (hold)."""
        n_assets = self.initial.shape[0]
        current = observations[:, 1 : 1 + n_assets].astype(np.float64)
        buying = self.calls < self.buy_bars
        self.calls += 1
        target = np.broadcast_to(self.initial, current.shape) if buying else current
        return actions_for_weights(target, current, self.env)


class RandomPolicy:
    """Uniform random actions in [-1, 1], reproducible from ``seed``: the floor any model must clear."""

    def __init__(self, n_assets: int, seed: int = 0) -> None:
        self.n_assets = n_assets
        self.rng = np.random.default_rng(seed)

    def predict(self, observations: np.ndarray) -> np.ndarray:
        """One uniform draw in [-1, 1] per observation and asset."""
        return self.rng.uniform(-1.0, 1.0, (observations.shape[0], self.n_assets))


def make_baseline(name: str, tickers: tuple[str, ...], env: EnvConfig, seed: int = 0) -> Policy:
    """A baseline policy by name (see the module docstring)."""
    n = len(tickers)
    investable = 1.0 - env.cash_reserve
    if name == "buy_and_hold":
        from cappuccino_core.strategies import make_strategy

        return make_strategy("buy_and_hold_btc").policy({}, env, tickers)
    if name == "equal_weight":
        return HoldPolicy(np.full(n, min(env.position_cap, investable / n)), env)
    if name == "random":
        return RandomPolicy(n, seed)
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")


def policy_names() -> tuple[str, ...]:
    """Every name :func:`make_policy` takes: the baselines, then the strategies."""
    from cappuccino_core.strategies import STRATEGIES

    return BASELINES + tuple(s for s in STRATEGIES if s not in BASELINES)


def make_policy(
    name: str, tickers: tuple[str, ...], env: EnvConfig, seed: int = 0, params: dict[str, Any] | None = None
) -> Policy:
    """A baseline or a strategy (``params``: its parameters, default its first grid point) by name."""
    if name in BASELINES:
        return make_baseline(name, tickers, env, seed)
    from cappuccino_core.strategies import STRATEGIES, make_strategy

    if name not in STRATEGIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(policy_names())}")
    return make_strategy(name).policy(params, env, tickers)
