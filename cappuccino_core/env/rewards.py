"""Per-step rewards (EnvConfig.reward), each multiplied by EnvConfig.reward_scale.

With E the equity before the step (marked at the decision bar's price) and E' the equity one bar later
(after the step's fees and slippage), R = E'/E - 1 is the step's simple return. B is the equal-weight
benchmark: equal amounts of every asset bought at the episode's first bar and held, no costs (the
benchmark FinRL_Crypto uses); b = B'/B - 1 its return over the same bar.

``excess_equal_weight``  R - b: return over the equal-weight benchmark (a relative return, not dollars).
``log_return``           log(E'/E).
``differential_sharpe``  Moody & Saffell (1998): with exponential moving moments A (of R) and B (of R^2)
                         at rate eta, D = (B dA - A dB / 2) / (B - A^2)^(3/2), dA = R - A, dB = R^2 - B,
                         then A += eta dA, B += eta dB. D is the first-order change of the moving Sharpe
                         ratio a step brings. While B - A^2 is still ~0 (the first step) D = 0.

Turnover penalty (``EnvConfig.turnover_penalty`` lam, any reward): the step's reward minus
lam x V / E x reward_scale, with V the notional the step traded (sum over assets of |quantity| x the
decision bar's price). The fees are already in R; lam charges turnover again, in training only (the
equity, and so every backtest and score, never sees it), so a policy learns that a trade must earn more
than its fee to be worth making. 0 (the default) leaves the reward as it is.

Rewards by name: :data:`REWARDS` maps ``EnvConfig.reward`` to a :class:`RewardEntry`. The three above are
compiled into the kernel's step (``code`` for :func:`reward_one`; nothing is lost to the registry on the hot
path). A new reward is one new file in ``cappuccino_core/env/extra_rewards/`` that registers a
:class:`StepReward` class with :func:`reward`: the kernel computes it in numpy, once per step over all
episodes, from the same R and b (vectorised, so it costs a few numpy calls per step, not a loop).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from cappuccino_core.common.registry import Registry
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.jit import inline

KINDS = ("excess_equal_weight", "log_return", "differential_sharpe")  # the codes reward_one takes
NUMPY_CODE = -1  # reward_one's code for a reward computed in numpy after the compiled step


class StepReward(Protocol):
    """A reward computed in numpy for N episodes: built with ``(env, n)``, one call per step."""

    def __call__(self, ret: np.ndarray, bench_ret: np.ndarray) -> np.ndarray:
        """(N,) unscaled rewards for step returns ``ret`` and benchmark returns ``bench_ret`` (N,)."""
        ...

    def reset(self, idx: np.ndarray) -> None:
        """Episodes ``idx`` start over (clear their state)."""
        ...


@dataclass(frozen=True)
class RewardEntry:
    """A reward by name: compiled (``code`` >= 0, computed by :func:`reward_one`) or numpy (``make``)."""

    code: int = NUMPY_CODE
    make: Callable[[EnvConfig, int], StepReward] | None = None


REWARDS: Registry[RewardEntry] = Registry("reward", ("cappuccino_core.env.extra_rewards",))
for _code, _name in enumerate(KINDS):
    REWARDS.add(_name, RewardEntry(code=_code))

S = TypeVar("S")


def reward(name: str) -> Callable[[S], S]:
    """Class decorator: register a :class:`StepReward` class (built with ``(env, n)``) as reward ``name``."""

    def deco(cls: S) -> S:
        REWARDS.add(name, RewardEntry(make=cls))  # type: ignore[arg-type]
        return cls

    return deco


@inline
def reward_one(
    kind: int, scale: float, eta: float, ret: float, bench_ret: float, mean: np.ndarray, second: np.ndarray,
    i: int,
) -> float:  # fmt: skip
    """The reward of episode ``i`` for a step with return ``ret`` (benchmark ``bench_ret``), scaled;
    differential Sharpe updates its moving moments ``mean[i]``/``second[i]``."""
    if kind == 0:
        r = ret - bench_ret
    elif kind == 1:
        r = math.log1p(max(ret, -1.0 + 1e-12))
    elif kind == 2:
        a, b = mean[i], second[i]
        da, db = ret - a, ret * ret - b
        var = b - a * a
        r = (b * da - 0.5 * a * db) / var**1.5 if var > 1e-12 else 0.0
        mean[i], second[i] = a + eta * da, b + eta * db
    else:  # NUMPY_CODE: Reward.numpy_step fills it in after the compiled step
        r = 0.0
    return r * scale


class Reward:
    """The configured reward and its state (the moving moments of differential Sharpe) for N episodes;
    step_fused.advance computes a compiled one with reward_one, :meth:`numpy_step` any other."""

    def __init__(self, env: EnvConfig, n: int) -> None:
        entry = REWARDS.get(env.reward)
        self.code = entry.code
        self.custom = entry.make(env, n) if entry.make is not None else None
        self.scale = float(env.reward_scale)
        self.eta = float(env.dsr_eta)
        self.turnover_penalty = float(env.turnover_penalty)
        self.mean = np.zeros(n)  # A: moving mean of returns (differential_sharpe only)
        self.second = np.zeros(n)  # B: moving mean of squared returns

    def reset(self, idx: np.ndarray) -> None:
        """Episodes ``idx`` start over."""
        self.mean[idx] = 0.0
        self.second[idx] = 0.0
        if self.custom is not None:
            self.custom.reset(idx)

    def numpy_step(
        self, equity_before: np.ndarray, equity: np.ndarray, bench_before: np.ndarray, bench: np.ndarray,
        was_active: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        """(N,) scaled rewards of a numpy reward from the step's equities and benchmark values; 0 for
        episodes that were not active."""
        assert self.custom is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            ret = np.where(was_active, equity / equity_before - 1.0, 0.0)
            bench_ret = np.where(was_active, bench / bench_before - 1.0, 0.0)
        r = np.asarray(self.custom(ret, bench_ret), dtype=np.float64)
        if r.shape != ret.shape:
            raise ValueError(f"reward returned shape {r.shape}, expected {ret.shape}")
        return np.where(was_active, r * self.scale, 0.0)

    def turnover_cost(
        self, qty: np.ndarray, prices: np.ndarray, equity_before: np.ndarray, was_active: np.ndarray
    ) -> np.ndarray:
        """(N,) scaled turnover penalty of a step (module docstring): lam x sum_j |qty_ij| x prices_ij /
        equity_before_i x reward_scale for the active episodes with positive equity, else 0."""
        traded = np.abs(qty * prices).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(was_active & (equity_before > 0.0), traded / equity_before, 0.0)
        return self.turnover_penalty * self.scale * share
