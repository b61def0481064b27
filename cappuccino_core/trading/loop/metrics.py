"""Trade metrics of a paper or live run, from the state store, through the metrics module."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from cappuccino_core import metrics
from cappuccino_core.state.schema import EquitySnapshot, FillRow, OrderRow
from cappuccino_core.state.store import StateStore


def trade_metrics(
    store: StateStore, broker: str, run_id: str, timeframe: str, backtest_sharpe: float | None = None
) -> dict[str, Any]:
    """Win rate, fees, maker ratio, average trade size, volume, trade duration, live vs backtest Sharpe."""
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
            "quantity": [f.qty for f in fills], "price": [f.price for f in fills],
            "fee": [f.fee for f in fills],
            "time": [f.ts.replace(tzinfo=None) for f in fills],
        }
    )  # fmt: skip
    trips = metrics.round_trips(ledger)
    notional = ledger.notional
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
