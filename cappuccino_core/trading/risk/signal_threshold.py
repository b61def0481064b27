"""Signal threshold: buys only where the supervised signal's confidence reaches the threshold (and says up).

Reads the :class:`~cappuccino_core.supervised.signals.SignalBoard` the ensemble policy writes; exits are never
blocked. Threshold: ``[gates].supervised_confidence_threshold`` (0.75).
"""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.rules import OrderContext
from cappuccino_core.supervised.signals import SignalBoard
from cappuccino_core.trading.risk.base import StatefulRule, block_buys


class SignalThreshold(StatefulRule):
    name = "signal_threshold"

    def __init__(self, board: SignalBoard) -> None:
        self.board = board

    def apply(self, qty: np.ndarray, ctx: OrderContext) -> np.ndarray:
        conf = self.board.confidence_for(qty.shape)
        up = self.board.current is not None and self.board.current.direction.shape == qty.shape
        direction = self.board.current.direction if up and self.board.current else np.zeros(qty.shape)
        return block_buys(qty, (conf < self.board.threshold) | (direction <= 0))
