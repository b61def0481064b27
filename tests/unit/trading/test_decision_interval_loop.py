"""The live bar loop trades like training under ``env.decision_every``: no decision and no order on a
bar whose absolute index is not a multiple of k (T0 is hour 480,000, a multiple of 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cappuccino_core.config.env import EnvConfig
from tests.env_presets import NO_BAND
from tests.unit.trading.test_loop_fail_closed import CLOSE, T0, H, Mem, make


def test_the_loop_skips_ordering_between_decision_bars(tmp_path: Path) -> None:
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0, decision_every=4)
    asked: list[int] = []

    def decide(t: int) -> np.ndarray:
        asked.append(t)
        return np.array([[1.0, 0.0]]) if t < 4 else np.array([[0.2, 0.0]])

    broker = Mem()
    loop = make(tmp_path, broker, decide, env=env)
    results = [loop.on_bar(t, T0 + t * H, CLOSE, T0 + (t + 1) * H) for t in range(9)]
    assert asked == [0, 4, 8]  # the model is asked only on decision bars
    placed = [t for t, r in enumerate(results) if r.orders]
    assert placed == [0, 4]  # buy to 30% at bar 0, sell down to 6% at bar 4; bar 8 is already there
    for t in (1, 2, 3, 5, 6, 7):
        assert "not a decision bar" in str(results[t].skipped)
    assert broker.pos["BTC"] == 6.0  # 6% of 10,000 at 100


def test_the_limit_rules_still_trim_between_decisions(tmp_path: Path) -> None:
    env = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, cash_reserve=0.0, decision_every=4)
    asked: list[int] = []

    def decide(t: int) -> np.ndarray:
        asked.append(t)
        return np.array([[1.0, 0.0]])

    broker = Mem()
    loop = make(tmp_path, broker, decide, env=env)
    loop.on_bar(0, T0, CLOSE, T0 + H)  # buys 30 BTC at 100 (30% of 10,000)
    doubled = np.array([200.0, 10.0])  # BTC worth 6,000 of 13,000: 46%, over the 30% cap
    res = loop.on_bar(1, T0 + H, doubled, T0 + 2 * H)
    assert asked == [0] and res.orders  # not asked, but the cap rule sold
    value = broker.pos["BTC"] * 200.0
    assert value <= 0.3 * (broker.cash() + value) + 1e-6 and broker.pos["BTC"] < 30.0
