"""Arena fixtures: tiny fake policies over a small toy MarketDataset, a state store, a dict role book."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from cappuccino_core.arena import ArenaConfig, Referee
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.state import StateStore
from cappuccino_core.state.schema import EquitySnapshot, FillRow, OrderRow


class ConstPolicy:
    """Always the same action per asset (1: hold the cap, -1: hold nothing)."""

    def __init__(self, value: float, n_assets: int = 2) -> None:
        self.value, self.n_assets = value, n_assets
        self.calls = 0

    def predict(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.full((len(obs), self.n_assets), self.value, dtype=np.float32)


class DictRoles:
    """RoleBook in memory with the registry's rules (one holder per role, live only on production)."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.tags: dict[str, dict[str, str]] = {}

    def holder(self, role: str) -> str | None:
        return self.aliases.get(role)

    def assign(self, run_id: str, role: str) -> None:
        if role == "live" and self.aliases.get("production") != run_id:
            raise ValueError("live only on production")
        self.aliases[role] = run_id

    def clear(self, role: str) -> None:
        if role == "production":
            raise ValueError("exactly one production")
        self.aliases.pop(role, None)

    def tag(self, run_id: str, key: str, value: str) -> None:
        self.tags.setdefault(run_id, {})[key] = value


@pytest.fixture()
def data():
    return toy_dataset(n_bars=120, n_assets=2, n_features=1, lookback=3, drift=0.003, vol=0.01, seed=1)


@pytest.fixture()
def store(settings) -> StateStore:
    return StateStore(settings.paths.state_url)


@pytest.fixture()
def roles() -> DictRoles:
    return DictRoles()


@pytest.fixture()
def referee(store, roles) -> Referee:
    return Referee(store, roles, actor="test")


@pytest.fixture()
def cfg() -> ArenaConfig:
    return ArenaConfig(min_trades=1, wins_to_sandbox=20, window_bars=40)


def write_record(
    store: StateStore, run_id: str, start: datetime, equity: list[float], trades: int, step=timedelta(hours=1)
) -> None:
    """Equity snapshots every ``step`` from ``start`` and ``trades`` filled orders for ``run_id``."""
    with store.session() as s:
        for i, e in enumerate(equity):
            s.add(EquitySnapshot(broker="paper", model_run_id=run_id, ts=start + i * step, equity=e, cash=e))
        for k in range(trades):
            cid = f"{run_id[:8]}-{start.timestamp():.6f}-{k}"
            ts = start + (k + 1) * step
            s.add(
                OrderRow(
                    client_order_id=cid,
                    broker="paper",
                    model_run_id=run_id,
                    bar_time=ts,
                    asset="BTC/USD",
                    side="buy",
                    qty=1.0,
                    order_type="market",
                    status="filled",
                )
            )
            s.add(
                FillRow(
                    broker="paper",
                    trade_id=cid,
                    client_order_id=cid,
                    asset="BTC/USD",
                    side="buy",
                    qty=1.0,
                    price=1.0,
                    fee=0.0,
                    liquidity="TAKER",
                    ts=ts,
                )
            )
