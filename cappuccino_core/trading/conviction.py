"""Conviction scorer: how sure the trader is about an order; below the threshold it holds.

The score, per account and asset in [0, 1], is the weighted mean (weights in ``RiskConfig.conviction``) of:

* confidence: 1 - std / entropy_max_std (clipped) of the policy's action distribution. For SB3's Gaussian
  policies the entropy 0.5 log(2 pi e std^2) is a monotone function of std = exp(log_std), so the std ranks
  confidence exactly as the entropy does; deterministic policies have confidence 1;
* volatility: vol_reference / (vol_reference + vol) (0.5 at the reference volatility);
* volume: volume / (volume + mean volume) (0.5 at the mean);
* win rate: the recent win rate of closed trades (the prior before any);
* trend: the share of trend windows whose moving-average slope agrees with the order's direction.

Only buys are filtered: exits reduce risk and are never held back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cappuccino_core.config.risk import ConvictionConfig


def gaussian_confidence(log_std: np.ndarray, max_std: float) -> np.ndarray:
    """Confidence in [0, 1] from a Gaussian policy's log standard deviation per action dimension."""
    return np.clip(1.0 - np.exp(np.asarray(log_std, dtype=np.float64)) / max_std, 0.0, 1.0)


def trend_agreement(close: np.ndarray, windows: tuple[int, ...], direction: np.ndarray) -> np.ndarray:
    """(N, A) share of windows whose moving average rose (direction > 0) or fell (< 0) over the last bar.

    ``close`` is (T, A) history ending at the decision bar; windows longer than the history count as
    disagreeing. ``direction`` is (N, A) the sign of the orders."""
    close = np.asarray(close, dtype=np.float64)
    agree = np.zeros(direction.shape)
    for w in windows:
        if close.shape[0] < w + 1:
            continue
        slope = close[-w:].mean(axis=0) - close[-w - 1 : -1].mean(axis=0)  # (A,)
        agree += np.sign(slope)[None, :] == np.sign(direction)
    return agree / len(windows)


@dataclass
class ConvictionInputs:
    """Market context for scoring orders at the decision bar: closes and volumes (T, A), per-bar volatility
    (A,), and optionally the recent win rate (N,) and the policy's confidence."""

    close: np.ndarray  # (T, A) closes up to the decision bar
    volume: np.ndarray  # (T, A) volumes up to the decision bar
    volatility: np.ndarray  # (A,) per-bar return volatility at the decision bar
    win_rate: np.ndarray | None = None  # (N,) recent win rate; None: the prior
    confidence: np.ndarray | None = None  # (A,) or (N, A); None: 1 (deterministic policy)


class ConvictionScorer:
    """Scores orders' conviction in [0, 1] (weighted confidence, low volatility, volume, win rate and trend
    agreement) and holds back low-conviction buys."""

    def __init__(self, cfg: ConvictionConfig) -> None:
        self.cfg = cfg

    def score(self, qty: np.ndarray, x: ConvictionInputs) -> np.ndarray:
        """(N, A) conviction in [0, 1] for orders ``qty``."""
        c = self.cfg
        n, a = qty.shape
        if np.isnan(x.close).any() or np.isnan(x.volume).any() or np.isnan(x.volatility).any():
            raise ValueError("conviction inputs contain NaN (close, volume or volatility)")
        conf = np.ones((n, a)) if x.confidence is None else np.broadcast_to(x.confidence, (n, a))
        vol = np.broadcast_to(c.vol_reference / (c.vol_reference + np.maximum(x.volatility, 0.0)), (n, a))
        mean_v = x.volume.mean(axis=0)
        last_v = x.volume[-1]
        vscore = np.where(mean_v > 0, last_v / np.where(last_v + mean_v > 0, last_v + mean_v, 1.0), 0.5)
        volume = np.broadcast_to(vscore, (n, a))
        wr = np.full(n, c.win_rate_prior) if x.win_rate is None else np.asarray(x.win_rate, dtype=np.float64)
        win = np.broadcast_to(wr[:, None], (n, a))
        trend = trend_agreement(x.close, c.trend_windows, np.sign(qty))
        w = np.array([c.w_confidence, c.w_volatility, c.w_volume, c.w_win_rate, c.w_trend])
        parts = np.stack([conf, vol, volume, win, trend])
        return np.tensordot(w, parts, axes=1) / w.sum()

    def filter(self, qty: np.ndarray, x: ConvictionInputs) -> tuple[np.ndarray, np.ndarray]:
        """(orders with low-conviction buys held back, the scores)."""
        s = self.score(qty, x)
        if not self.cfg.enabled:
            return qty, s
        return np.where((qty > 0) & (s < self.cfg.threshold), 0.0, qty), s
