from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.config.risk import ConvictionConfig
from cappuccino_core.trading.conviction import (
    ConvictionInputs,
    ConvictionScorer,
    gaussian_confidence,
    trend_agreement,
)


def test_gaussian_confidence() -> None:
    assert gaussian_confidence(np.log([0.25, 1.0, 2.0]), 1.0).tolist() == [0.75, 0.0, 0.0]


def test_trend_agreement_counts_windows() -> None:
    close = np.arange(1.0, 11.0)[:, None]  # rising
    d = np.array([[1.0], [-1.0]])
    assert trend_agreement(close, (2, 4, 20), d).tolist() == [[pytest.approx(2 / 3)], [0.0]]  # 20: too long


def test_score_hand_computed_and_filter() -> None:
    cfg = ConvictionConfig(
        threshold=0.6, w_confidence=1, w_volatility=1, w_volume=1, w_win_rate=1, w_trend=0, trend_windows=(2,)
    )
    x = ConvictionInputs(
        close=np.ones((5, 2)), volume=np.array([[1.0, 1.0]] * 4 + [[3.0, 1.0]]),
        volatility=np.array([0.02, 0.06]), win_rate=np.array([0.5]), confidence=np.array([1.0, 0.5]),
    )  # fmt: skip
    qty = np.array([[1.0, 1.0]])
    s = ConvictionScorer(cfg).score(qty, x)
    # asset 0: conf 1, vol 0.5, volume 3 / (3 + 1.4) , win 0.5; asset 1: 0.5, 0.25, 0.5, 0.5
    assert s[0, 0] == pytest.approx((1 + 0.5 + 3 / 4.4 + 0.5) / 4)
    assert s[0, 1] == pytest.approx((0.5 + 0.25 + 0.5 + 0.5) / 4)
    out, _ = ConvictionScorer(cfg).filter(np.array([[1.0, 1.0]]), x)
    assert out.tolist() == [[1.0, 0.0]]
    sells, _ = ConvictionScorer(cfg).filter(np.array([[-1.0, -1.0]]), x)
    assert sells.tolist() == [[-1.0, -1.0]]  # exits never held back


def test_nan_inputs_refused() -> None:
    x = ConvictionInputs(close=np.full((3, 1), np.nan), volume=np.ones((3, 1)), volatility=np.zeros(1))
    with pytest.raises(ValueError, match="NaN"):
        ConvictionScorer(ConvictionConfig()).score(np.ones((1, 1)), x)
