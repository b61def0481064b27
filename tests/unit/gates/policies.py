"""Toy policies for the gate tests: losing (churns through fees), reckless (all in), flat (never trades)."""

from __future__ import annotations

import numpy as np


class Constant:
    """The same action for every asset and step (1.0: as much as the cap allows; -1.0: hold nothing)."""

    def __init__(self, n_assets: int, value: float) -> None:
        self.n_assets, self.value = n_assets, value

    def predict(self, obs: np.ndarray) -> np.ndarray:
        return np.full((obs.shape[0], self.n_assets), self.value)


class Alternate:
    """+1 then -1 on every asset, step after step (a losing churner under fees)."""

    def __init__(self, n_assets: int) -> None:
        self.n_assets, self.calls = n_assets, 0

    def predict(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.full((obs.shape[0], self.n_assets), 1.0 if self.calls % 2 else -1.0)
