"""Trade metrics of a paper or live run, from the state store, through the metrics module."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from cappuccino_core import metrics
from cappuccino_core.state.schema import EquitySnapshot, FillRow, OrderRow
from cappuccino_core.state.store import StateStore


def trade_metrics(
    store: StateStore,
    broker: str,
    run_id: str,
    timeframe: str,
    backtest_sharpe: float | None = None,
    fee_in_kind: bool = False,
) -> dict[str, Any]:
    """Win rate, fees, maker ratio, average trade size, volume, trade duration, live vs backtest Sharpe.

    ``fee_in_kind``: the venue kept each buy's fee in the asset received (Alpaca; ``Broker.fee_in_kind``), so
    a buy adds ``qty - fee / price`` to the position: the round trips match sells against that net quantity
    (the fee, its quote value, is charged once). Matched on the gross quantity instead, every buy would leave
    a phantom lot of ``fee / price`` that a later sell consumes at a stale entry price."""
    with store.session() as s:
        fills = list(
            s.scalars(
                select(FillRow).join(OrderRow, OrderRow.client_order_id == FillRow.client_order_id)
                .where(FillRow.broker == broker, OrderRow.model_run_id == run_id)
                .order_by(FillRow.ts, FillRow.id)
            )
        )  # fmt: skip
        eq = list(
            s.scalars(
                select(EquitySnapshot)
                .where(EquitySnapshot.broker == broker, EquitySnapshot.model_run_id == run_id)
                .order_by(EquitySnapshot.ts, EquitySnapshot.id)
            )
        )  # fmt: skip
    out: dict[str, Any] = {"fills": len(fills), "bars": len(eq)}
    equity = np.array([e.equity for e in eq], dtype=np.float64)
    if len(equity) >= 3:
        rets = metrics.simple_returns(equity)
        out["live_sharpe"] = float(metrics.sharpe_ratio(rets, timeframe))
        out["total_return"] = float(metrics.total_return(equity))
        out["max_drawdown"] = float(metrics.max_drawdown(equity))
    out["backtest_sharpe"] = backtest_sharpe
    if not fills:
        out.update(win_rate=float("nan"), fees=0.0, maker_ratio=float("nan"), avg_trade_size=0.0, volume=0.0)
        return out
    ledger = metrics.Ledger.from_any(
        {
            "asset": [f.asset for f in fills], "side": [f.side for f in fills],
            "quantity": [_held_qty(f, fee_in_kind) for f in fills], "price": [f.price for f in fills],
            "fee": [f.fee for f in fills],
            "time": [f.ts.replace(tzinfo=None) for f in fills],
        }
    )  # fmt: skip
    trips = metrics.round_trips(ledger)
    notional = np.array([f.qty * f.price for f in fills], dtype=np.float64)  # traded, fee or not
    out["win_rate"] = float(metrics.trade_win_rate(trips)) if len(trips) else float("nan")
    out["round_trips"] = len(trips)
    out["fees"] = float(metrics.fees_paid(ledger))
    out["maker_ratio"] = float(np.mean([f.liquidity.upper() == "MAKER" for f in fills]))
    out["avg_trade_size"] = float(notional.mean())
    out["volume"] = float(notional.sum())
    if len(trips) and trips.open_time is not None and trips.close_time is not None:
        hours = (trips.close_time - trips.open_time).astype("timedelta64[s]").astype(np.float64) / 3600.0
        out["avg_trade_hours"] = float(hours.mean())
    return out


def _held_qty(fill: FillRow, fee_in_kind: bool) -> float:
    """The quantity a fill moved into or out of the position (a buy net of a fee kept in kind)."""
    if fee_in_kind and fill.side == "buy" and fill.price > 0:
        return float(fill.qty - fill.fee / fill.price)
    return float(fill.qty)
