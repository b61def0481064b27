from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.trading.ensemble import (
    MultiTimeframeEnsemble,
    SharpeWeightedEnsemble,
    sharpe_weights,
)


class Const:
    def __init__(self, a: list[float]) -> None:
        self.a = np.array([a])

    def predict(self, obs: object) -> np.ndarray:
        return self.a


def test_sharpe_weights() -> None:
    assert sharpe_weights([1.0, 3.0, -2.0]).tolist() == [0.25, 0.75, 0.0]
    assert sharpe_weights([-1.0, -2.0]).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="finite"):
        sharpe_weights([float("nan")])


def test_weighted_average() -> None:
    ens = SharpeWeightedEnsemble([Const([1.0, 0.0]), Const([0.0, -1.0])], [1.0, 3.0])
    assert ens.predict(None).tolist() == [[0.25, -0.75]]


def test_multi_timeframe_trades_only_on_agreement() -> None:
    d = MultiTimeframeEnsemble(Const([0.5, 0.5, -0.2]), Const([0.1, -0.3, -0.9])).decide(None, None)
    assert d.trade.tolist() == [[True, False, True]]
    assert d.actions.tolist() == [[0.5, 0.5, -0.2]]
