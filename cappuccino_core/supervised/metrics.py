"""Scoring of direction forecasts: accuracy with its Wilson interval beside the base rate, confidence tiers,
the reliability table and the calibration error.

A forecast is P(up) = p; its direction is up when p >= 0.5, its confidence ``max(p, 1 - p)`` in [0.5, 1].
The base rate is the majority class's share of the scored labels: the accuracy a model reaches by always
saying the more frequent direction (a model that says "up" in a rising market scores exactly this).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``hits / n`` (NaNs for n = 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= hits <= n:
        raise ValueError(f"hits {hits} outside [0, {n}]")
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def confidence(p: np.ndarray) -> np.ndarray:
    """max(p, 1 - p): how sure a P(up) forecast is of its direction."""
    p = np.asarray(p, dtype=np.float64)
    return np.maximum(p, 1.0 - p)


@dataclass(frozen=True)
class AccuracyStats:
    """Directional accuracy of n scored forecasts with its interval and the majority-class rate."""

    n: int
    hits: int
    accuracy: float
    ci_low: float
    ci_high: float
    base_rate: float  # share of the majority class among the labels
    up_share: float  # share of "up" labels

    def to_dict(self) -> dict[str, Any]:
        """The stats as a plain dict of their fields."""
        return dict(vars(self))


def accuracy_stats(p_up: np.ndarray, labels: np.ndarray, z: float = 1.96) -> AccuracyStats:
    """Accuracy of ``p_up`` against 0/1 ``labels`` (same shape, masked entries already removed)."""
    p, y = np.asarray(p_up, dtype=np.float64).ravel(), np.asarray(labels).ravel()
    if p.shape != y.shape:
        raise ValueError(f"{p.size} forecasts but {y.size} labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (down) or 1 (up); remove masked rows first")
    n = int(y.size)
    hits = int(np.count_nonzero((p >= 0.5) == (y == 1)))
    lo, hi = wilson_interval(hits, n, z)
    up = float(y.mean()) if n else float("nan")
    return AccuracyStats(n, hits, hits / n if n else float("nan"), lo, hi, max(up, 1 - up), up)


@dataclass(frozen=True)
class Tier:
    """Confidence tier [low, high) (the last one includes 1.0)."""

    name: str
    low: float
    high: float


def tiers_for(threshold: float, high_tier: float) -> tuple[Tier, ...]:
    """Tiers: low [0.5, 0.6), mid [0.6, threshold), signal [threshold, high_tier), high [high_tier, 1]."""
    if not 0.6 < threshold < high_tier <= 1.0:
        raise ValueError(f"need 0.6 < threshold ({threshold}) < high tier ({high_tier}) <= 1")
    return (
        Tier("low", 0.5, 0.6),
        Tier("mid", 0.6, threshold),
        Tier("signal", threshold, high_tier),
        Tier("high", high_tier, 1.0),
    )


def tier_of(conf: np.ndarray, tiers: tuple[Tier, ...]) -> np.ndarray:
    """Index of each confidence's tier."""
    edges = np.array([t.low for t in tiers[1:]])
    return np.searchsorted(edges, np.asarray(conf, dtype=np.float64), side="right")


def reliability_table(p_up: np.ndarray, labels: np.ndarray, tiers: tuple[Tier, ...]) -> list[dict[str, Any]]:
    """Per tier: forecasts, mean confidence (the predicted hit rate), realised hit rate and their gap."""
    p, y = np.asarray(p_up, dtype=np.float64).ravel(), np.asarray(labels).ravel()
    conf, hit = confidence(p), (p >= 0.5) == (y == 1)
    k = tier_of(conf, tiers)
    out = []
    for i, t in enumerate(tiers):
        sel = k == i
        n = int(sel.sum())
        mc = float(conf[sel].mean()) if n else float("nan")
        hr = float(hit[sel].mean()) if n else float("nan")
        out.append(
            {
                "tier": t.name,
                "low": t.low,
                "high": t.high,
                "n": n,
                "confidence": mc,
                "hit_rate": hr,
                "gap": abs(mc - hr) if n else float("nan"),
            }
        )
    return out


def calibration_error(table: list[dict[str, Any]]) -> float:
    """Mean |predicted - realised hit rate| over the tiers, weighted by their forecasts (NaN if none)."""
    n = sum(r["n"] for r in table)
    if n == 0:
        return float("nan")
    return float(sum(r["n"] * r["gap"] for r in table if r["n"]) / n)
