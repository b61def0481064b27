"""The batch entry points of the order arithmetic (N accounts x A assets), compiled: each loops over the
accounts and calls order_math.py's row functions, so the rule classes (rules.py), actions.py, fills.py and
the kernel run the same formulas as the fused step."""

from __future__ import annotations

import numpy as np

from cappuccino_core.env.jit import jit
from cappuccino_core.env.order_math import (
    cash_flow,
    cash_reserve_row,
    desired_row,
    legal_buy,
    legal_sell,
    lot_rounding_row,
    mark,
    min_order_row,
    no_short_row,
    position_cap_row,
    unit_buy,
    unit_sell,
)

# --- batches (N accounts x A assets), for the rule classes and the order context ---------------------


@jit
def no_short_batch(q: np.ndarray, h: np.ndarray) -> None:
    """:func:`no_short_row` over every account."""
    for i in range(q.shape[0]):
        no_short_row(q[i], h[i])


@jit
def lot_rounding_batch(q: np.ndarray, h: np.ndarray, lot: np.ndarray) -> None:
    """:func:`lot_rounding_row` over every account."""
    for i in range(q.shape[0]):
        lot_rounding_row(q[i], h[i], lot)


@jit
def min_order_batch(q: np.ndarray, p: np.ndarray, mov: float) -> None:
    """:func:`min_order_row` over every account."""
    for i in range(q.shape[0]):
        min_order_row(q[i], p[i], mov)


@jit
def cash_reserve_batch(
    q: np.ndarray,
    p: np.ndarray,
    h: np.ndarray,
    bu: np.ndarray,
    su: np.ndarray,
    lot: np.ndarray,
    cash: np.ndarray,
    equity: np.ndarray,
    mov: float,
    reserve: float,
    band: float,
) -> None:
    """In place: buys scaled down so cash after costs keeps the reserve, every account."""
    for i in range(q.shape[0]):
        cash_reserve_row(q[i], p[i], h[i], bu[i], su[i], lot, cash[i], equity[i], mov, reserve, band)


@jit
def position_cap_batch(
    q: np.ndarray,
    p: np.ndarray,
    h: np.ndarray,
    bu: np.ndarray,
    su: np.ndarray,
    s: np.ndarray,
    lot: np.ndarray,
    equity: np.ndarray,
    fee: float,
    mov: float,
    cap: float,
    allow_short: bool,
) -> None:
    """In place: buys cut so no position exceeds the cap's share of equity, every account."""
    out = np.empty(q.shape[1])
    for i in range(q.shape[0]):
        position_cap_row(
            q[i], p[i], h[i], bu[i], su[i], s[i], lot, equity[i], fee, mov, cap, allow_short, out
        )


@jit
def desired_batch(
    a: np.ndarray,
    mode: int,
    allow_short: bool,
    cap: float,
    max_trade_fraction: float,
    equity: np.ndarray,
    h: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    hold: float,
    band: float,
    min_frac: float,
) -> None:
    """Order quantities from actions under action mode ``mode`` (order_math.MODE_*), every account."""
    for i in range(q.shape[0]):
        desired_row(
            a[i], mode, allow_short, cap, max_trade_fraction, equity[i], h[i], p[i], q[i],
            hold, band, min_frac,
        )  # fmt: skip


@jit
def mark_batch(cash: np.ndarray, h: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N,) equity: cash plus holdings at prices."""
    out = np.empty(cash.shape[0])
    for i in range(cash.shape[0]):
        out[i] = mark(cash[i], h[i], p[i])
    return out


@jit
def cash_flow_batch(q: np.ndarray, bu: np.ndarray, su: np.ndarray) -> np.ndarray:
    """(N,) cash change of orders ``q`` at buy/sell unit costs (fees and slippage included)."""
    out = np.empty(q.shape[0])
    for i in range(q.shape[0]):
        out[i] = cash_flow(q[i], bu[i], su[i])
    return out


@jit
def legal_buy_batch(x: np.ndarray, p: np.ndarray, lot: np.ndarray, mov: float) -> np.ndarray:
    """Buy quantities rounded down to the lot and dropped under the minimum order value."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = legal_buy(x[i, j], p[i, j], lot[j], mov)
    return out


@jit
def legal_sell_batch(
    x: np.ndarray, pos: np.ndarray, p: np.ndarray, lot: np.ndarray, mov: float
) -> np.ndarray:
    """Sell quantities capped at the position, rounded to the lot and dropped under the minimum order
    value."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = legal_sell(x[i, j], pos[i, j], p[i, j], lot[j], mov)
    return out


@jit
def unit_cash_batch(p: np.ndarray, s: np.ndarray, fee: float, bu: np.ndarray, su: np.ndarray) -> None:
    """Fill ``bu``/``su`` (same shape as ``p``, any number of rows) with unit_buy/unit_sell."""
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            bu[i, j] = unit_buy(p[i, j], s[i, j], fee)
            su[i, j] = unit_sell(p[i, j], s[i, j], fee)
