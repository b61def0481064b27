"""Trades: FIFO round trips, win rates, turnover and fees.

Round trip (the definition pyfolio uses): every SELL fill closes one round trip. Its quantity is matched
first-in-first-out against the open buy lots of the same asset. Its P&L is net of fees:

    pnl = sell_qty * sell_price - sum(matched_qty * buy_price)
          - sell_fee - sum(buy_fee * matched_qty / lot_qty)

i.e. each buy fee is spread over the lot's quantity and charged to whichever sells close that quantity.
``return`` is pnl / sum(matched_qty * buy_price). A sell that exceeds the open quantity (beyond a relative
1e-9 rounding tolerance) raises ValueError: the venues are spot, long only.

* ``trade_win_rate``: share of closed round trips with pnl > 0 (break-even counts as not a win); NaN if there
  is no closed round trip.
* ``bar_win_rate``: share of ALL bars with a return > 0 (flat bars, e.g. in cash, count as not a win).
* ``turnover``: traded notional (buys + sells, both legs) / mean equity over the period. Buying the whole
  account and selling it again is a turnover of 2.0. ``annualized_turnover`` scales it by
  bars_per_year / (T - 1) for an equity curve of T points.
* ``fees_paid``: the sum of the ledger's fee column (quote currency).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from cappuccino_core.metrics._arrays import as_equity, as_series, periods_per_year, scalar_or_array
from cappuccino_core.metrics.ledger import Ledger

_TOL = 1e-9


@dataclass(frozen=True)
class RoundTrips:
    """Closed round trips, one per sell fill (arrays of equal length R)."""

    asset: np.ndarray  # str
    open_time: np.ndarray | None  # datetime64[ns]: time of the first matched buy
    close_time: np.ndarray | None  # datetime64[ns]: time of the sell
    quantity: np.ndarray
    entry_price: np.ndarray  # quantity-weighted mean buy price of the matched lots
    exit_price: np.ndarray
    fees: np.ndarray  # sell fee + pro-rata buy fees
    pnl: np.ndarray  # net of fees, quote currency
    ret: np.ndarray  # pnl / entry notional
    open_quantity: dict[str, float]  # quantity still open per asset after the last fill

    def __len__(self) -> int:
        return int(self.pnl.shape[0])


def round_trips(ledger: Any) -> RoundTrips:
    """FIFO-match sells against earlier buys per asset (see module docstring)."""
    led = Ledger.from_any(ledger)
    lots: dict[str, deque[list[float]]] = {}  # asset -> [qty_left, price, fee_per_unit, fill index, qty]
    rows: list[tuple[Any, ...]] = []
    for i in range(len(led)):
        a = led.asset[i]
        q, p, f = float(led.quantity[i]), float(led.price[i]), float(led.fee[i])
        book = lots.setdefault(a, deque())
        if led.side[i] == "buy":
            book.append([q, p, f / q, float(i), q])
            continue
        need, cost, buy_fees, first = q, 0.0, 0.0, None
        while need > _TOL * q and book:
            lot = book[0]
            take = min(lot[0], need)
            first = int(lot[3]) if first is None else first
            cost += take * lot[1]
            buy_fees += take * lot[2]
            lot[0] -= take
            need -= take
            if lot[0] <= _TOL * lot[4]:
                book.popleft()
        if need > _TOL * q:
            when = f" at {led.time[i]}" if led.time is not None else ""
            raise ValueError(
                f"sell of {q} {a}{when} (fill {i}) exceeds the open position by {need}: the ledger must "
                "start flat and never go short"
            )
        matched = q - max(need, 0.0)
        fees = f + buy_fees
        pnl = matched * p - cost - fees
        rows.append(
            (
                a,
                first,
                i,
                matched,
                cost / matched if matched else np.nan,
                p,
                fees,
                pnl,
                pnl / cost if cost > 0 else np.nan,
            )
        )
    open_qty = {a: float(sum(lot[0] for lot in book)) for a, book in lots.items()}
    cols = list(zip(*rows, strict=True)) if rows else [()] * 9
    first_idx = np.asarray(cols[1], dtype=np.int64)
    sell_idx = np.asarray(cols[2], dtype=np.int64)
    return RoundTrips(
        asset=np.asarray(cols[0], dtype=object),
        open_time=led.time[first_idx] if led.time is not None else None,
        close_time=led.time[sell_idx] if led.time is not None else None,
        quantity=np.asarray(cols[3], dtype=np.float64),
        entry_price=np.asarray(cols[4], dtype=np.float64),
        exit_price=np.asarray(cols[5], dtype=np.float64),
        fees=np.asarray(cols[6], dtype=np.float64),
        pnl=np.asarray(cols[7], dtype=np.float64),
        ret=np.asarray(cols[8], dtype=np.float64),
        open_quantity=open_qty,
    )


def trade_win_rate(ledger_or_trips: Any) -> float:
    """Share of closed round trips with net pnl > 0, in [0, 1]; NaN when none is closed."""
    rt = ledger_or_trips if isinstance(ledger_or_trips, RoundTrips) else round_trips(ledger_or_trips)
    return float(np.mean(rt.pnl > 0)) if len(rt) else float("nan")


def bar_win_rate(returns: Any) -> float | np.ndarray:
    """Share of bars with a return > 0 (over all bars), in [0, 1]."""
    r = as_series(returns, name="returns")
    return scalar_or_array(np.mean(r > 0, axis=-1))


def fees_paid(ledger: Any) -> float:
    """Total fees in quote currency."""
    return float(Ledger.from_any(ledger).fee.sum())


def traded_notional(ledger: Any) -> float:
    """Sum of |quantity x price| over all fills (buys and sells)."""
    return float(Ledger.from_any(ledger).notional.sum())


def turnover(ledger: Any, equity: Any) -> float:
    """Traded notional (both legs) / mean equity over the curve."""
    e = as_equity(equity, min_len=1)
    if e.ndim != 1:
        raise ValueError("turnover takes one equity curve (T,)")
    return traded_notional(ledger) / float(e.mean())


def annualized_turnover(ledger: Any, equity: Any, timeframe: str | float) -> float:
    """turnover x bars_per_year / (T - 1): times the account is traded over per year."""
    e = as_equity(equity)
    return turnover(ledger, e) * periods_per_year(timeframe) / (e.shape[-1] - 1)


def stats_by_asset(ledger: Any, trips: RoundTrips | None = None) -> dict[str, dict[str, float]]:
    """Per asset: fills, buys, sells, notional, fees, maker_fees, taker_fees, round_trips, wins, win_rate,
    realized_pnl, open_quantity. Assets in order of first appearance."""
    led = Ledger.from_any(ledger)
    rt = trips if trips is not None else round_trips(led)
    out: dict[str, dict[str, float]] = {}
    for a in led.assets():
        m = led.asset == a
        tm = rt.asset == a
        liq = led.liquidity
        wins = int(np.sum(rt.pnl[tm] > 0))
        n_rt = int(tm.sum())
        out[a] = {
            "fills": int(m.sum()),
            "buys": int(np.sum(m & led.is_buy)),
            "sells": int(np.sum(m & ~led.is_buy)),
            "notional": float(led.notional[m].sum()),
            "fees": float(led.fee[m].sum()),
            "maker_fees": float(led.fee[m & (liq == "maker")].sum()) if liq is not None else float("nan"),
            "taker_fees": float(led.fee[m & (liq == "taker")].sum()) if liq is not None else float("nan"),
            "round_trips": n_rt,
            "wins": wins,
            "win_rate": wins / n_rt if n_rt else float("nan"),
            "realized_pnl": float(rt.pnl[tm].sum()),
            "open_quantity": rt.open_quantity.get(a, 0.0),
        }
    return out
