"""The signal layer: a forecast P(up) becomes (direction, confidence, tier).

direction: +1 (up) when P(up) >= 0.5, else -1; confidence: max(P, 1 - P); tier: ``TIER_NONE`` below the
confidence threshold (not acted on), ``TIER_SIGNAL`` from it, ``TIER_HIGH`` from the high-tier confidence
(notified). The thresholds are ``[gates].supervised_confidence_threshold`` and ``supervised_high_tier``.

:class:`SignalBoard` holds the latest signals per account and asset: the ensemble policy writes it at each
decision, the signal risk rules (``trading/risk/signal_threshold.py``, ``signal_caps.py``) read it, and
:meth:`SignalBoard.high_tier_events` lists them; a board with a ``notifier`` sends each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

TIER_NONE, TIER_SIGNAL, TIER_HIGH = 0, 1, 2
TIER_NAMES = {TIER_NONE: "none", TIER_SIGNAL: "signal", TIER_HIGH: "high"}


@dataclass(frozen=True)
class Signals:
    """Signals of a batch: arrays of one shape (accounts x assets, or any)."""

    direction: np.ndarray  # int8 +1 / -1
    confidence: np.ndarray  # float64 in [0.5, 1]
    tier: np.ndarray  # int8 TIER_*


def to_signals(p_up: np.ndarray, threshold: float, high_tier: float) -> Signals:
    """Signals of forecasts ``p_up`` (any shape, values in [0, 1]); NaN forecasts give no signal."""
    if not 0.5 <= threshold < high_tier <= 1.0:
        raise ValueError(f"need 0.5 <= threshold ({threshold}) < high tier ({high_tier}) <= 1")
    p = np.asarray(p_up, dtype=np.float64)
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("P(up) must be in [0, 1]")
    q = np.where(finite, p, 0.5)
    conf = np.maximum(q, 1.0 - q)
    tier = np.where(conf >= high_tier, TIER_HIGH, np.where(conf >= threshold, TIER_SIGNAL, TIER_NONE))
    tier = np.where(finite, tier, TIER_NONE).astype(np.int8)
    return Signals(np.where(q >= 0.5, 1, -1).astype(np.int8), conf, tier)


@dataclass
class SignalBoard:
    """Latest signals per (account, asset), written by a policy, read by the risk rules."""

    threshold: float = 0.75
    high_tier: float = 0.85
    current: Signals | None = None
    time: np.ndarray | None = None  # (N,) decision bar open times
    events: list[dict[str, Any]] = field(default_factory=list)  # every high-tier signal posted
    notifier: Any = None  # a cappuccino_core.notify.Notifier: each high-tier signal is sent through it
    keep_events: bool = True  # False: count only (a stress run posts millions of (scenario, bar) signals)
    n_forecasts: int = 0  # forecasts posted (finite P(up) cells)
    n_signal: int = 0  # signals posted at or above the threshold (either tier)
    n_high: int = 0  # of which high tier

    def post(self, p_up: np.ndarray, time: np.ndarray, tickers: tuple[str, ...] = ()) -> Signals:
        """Record the signals of forecasts ``p_up`` (N, A) at bar times ``time`` (N,)."""
        s = to_signals(p_up, self.threshold, self.high_tier)
        self.current, self.time = s, np.asarray(time, dtype=np.int64)
        self.n_forecasts += int(np.count_nonzero(np.isfinite(np.asarray(p_up, dtype=np.float64))))
        self.n_signal += int(np.count_nonzero(s.tier > TIER_NONE))
        self.n_high += int(np.count_nonzero(s.tier == TIER_HIGH))
        if not self.keep_events:
            return s
        for i, j in zip(*np.nonzero(s.tier == TIER_HIGH), strict=True):
            name = tickers[j] if j < len(tickers) else str(j)
            when, way, conf = int(self.time[i]), int(s.direction[i, j]), float(s.confidence[i, j])
            self.events.append(
                {"account": int(i), "asset": name, "time": when, "direction": way, "confidence": conf}
            )
            if self.notifier is not None:  # rate limit and dedupe are the notifier's; it never raises
                from cappuccino_core.notify.events import high_tier_signal

                self.notifier.notify(high_tier_signal(name, way, conf, when))
        return s

    def confidence_for(self, shape: tuple[int, ...]) -> np.ndarray:
        """Confidence per (account, asset); 0 where nothing was posted (no signal: no buy)."""
        if self.current is None or self.current.confidence.shape != shape:
            return np.zeros(shape)
        return np.where(self.current.tier > TIER_NONE, self.current.confidence, 0.0)

    def tier_for(self, shape: tuple[int, ...]) -> np.ndarray:
        """Tier per (account, asset); TIER_NONE where nothing was posted."""
        if self.current is None or self.current.tier.shape != shape:
            return np.zeros(shape, dtype=np.int8)
        return self.current.tier

    def high_tier_events(self) -> list[dict[str, Any]]:
        """Every high-tier signal so far (each also sent through ``notifier`` when one is set)."""
        return list(self.events)
