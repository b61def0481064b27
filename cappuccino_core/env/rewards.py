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
"""

from __future__ import annotations

import math

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.jit import inline

KINDS = ("excess_equal_weight", "log_return", "differential_sharpe")  # the codes reward_one takes


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
    else:
        a, b = mean[i], second[i]
        da, db = ret - a, ret * ret - b
        var = b - a * a
        r = (b * da - 0.5 * a * db) / var**1.5 if var > 1e-12 else 0.0
        mean[i], second[i] = a + eta * da, b + eta * db
    return r * scale


class Reward:
    """The configured reward and its state (the moving moments of differential Sharpe) for N episodes;
    step_fused.advance computes it with reward_one."""

    def __init__(self, env: EnvConfig, n: int) -> None:
        self.code = KINDS.index(env.reward)
        self.scale = float(env.reward_scale)
        self.eta = float(env.dsr_eta)
        self.mean = np.zeros(n)  # A: moving mean of returns (differential_sharpe only)
        self.second = np.zeros(n)  # B: moving mean of squared returns

    def reset(self, idx: np.ndarray) -> None:
        self.mean[idx] = 0.0
        self.second[idx] = 0.0
