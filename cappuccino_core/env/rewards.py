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

import numpy as np

from cappuccino_core.config.env import EnvConfig


class Reward:
    def __init__(self, env: EnvConfig, n: int) -> None:
        self.kind = env.reward
        self.scale = env.reward_scale
        self.eta = env.dsr_eta
        self.mean = np.zeros(n)  # A: moving mean of returns (differential_sharpe only)
        self.second = np.zeros(n)  # B: moving mean of squared returns

    def reset(self, idx: np.ndarray) -> None:
        self.mean[idx] = 0.0
        self.second[idx] = 0.0

    def __call__(self, ret: np.ndarray, bench_ret: np.ndarray, active: np.ndarray) -> np.ndarray:
        """ret, bench_ret: (N,) simple returns of the step; inactive episodes get 0 and keep their state."""
        if self.kind == "excess_equal_weight":
            r = ret - bench_ret
        elif self.kind == "log_return":
            r = np.log1p(np.maximum(ret, -1.0 + 1e-12))
        else:
            r = self._differential_sharpe(ret, active)
        return np.where(active, r * self.scale, 0.0)

    def _differential_sharpe(self, ret: np.ndarray, active: np.ndarray) -> np.ndarray:
        a, b = self.mean, self.second
        da, db = ret - a, ret * ret - b
        var = b - a * a
        ok = var > 1e-12
        d = np.where(ok, (b * da - 0.5 * a * db) / np.where(ok, var, 1.0) ** 1.5, 0.0)
        self.mean = np.where(active, a + self.eta * da, a)
        self.second = np.where(active, b + self.eta * db, b)
        return d
