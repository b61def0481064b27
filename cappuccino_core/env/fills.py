"""How an order fills: the one place where fees and slippage turn quantities into cash.

Orders are signed quantities of base asset, shape (N episodes, A assets): > 0 buys, < 0 sells.
Every order fills at its bar's reference price p (the close of the decision bar) moved against the
trader by the slippage fraction s:

    execution price  px  = p * (1 + s)  for a buy,   p * (1 - s)  for a sell
    fee                  = fee_rate * |q| * px       (fee_rate: maker or taker, see CostsConfig)
    slippage cost        = |q| * p * s               (what the move against us cost, at p)
    cash after           = cash - sum(q * px) - sum(fee)
    equity after         = cash after + sum((holdings + q) * p) = equity - sum(fee) - sum(slippage cost)

Sells and buys of one step settle together, so sell proceeds pay for the buys of the same step ("sells
before buys"); the order rules (rules.py) make sure the buys fit the cash that is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.env.order_batch import cash_flow_batch, mark_batch, unit_cash_batch


@dataclass(frozen=True)
class CostModel:
    """Fee rate and slippage fractions, from CostsConfig (never constants in code)."""

    fee_rate: float
    liquidity: str  # "taker" | "maker": the side every simulated fill is charged as
    slippage_fixed: float  # fraction, from slippage_bps
    slippage_vol_mult: float

    @classmethod
    def from_config(cls, costs: CostsConfig) -> CostModel:
        """The cost model of ``costs``: the maker or taker fee by execution style, slippage from basis
        points."""
        fee = costs.taker_fee if costs.execution == "taker" else costs.maker_fee
        return cls(
            fee_rate=float(fee),
            liquidity=costs.execution,
            slippage_fixed=costs.slippage_bps / 1e4,
            slippage_vol_mult=float(costs.slippage_vol_mult),
        )

    def slippage(self, volatility: np.ndarray) -> np.ndarray:
        """Slippage fraction per fill: fixed bps plus a part proportional to the bar's return volatility."""
        return self.slippage_fixed + self.slippage_vol_mult * volatility


class FillBatch:
    """Result of settling one step's orders (arrays per episode (N,) or per episode and asset (N, A)).

    Cash moves by the per-unit amounts ``buy_unit = p (1 + s)(1 + f)`` paid per unit bought and
    ``sell_unit = p (1 - s)(1 - f)`` received per unit sold (the same as execution price plus/minus fee).
    Fees and slippage per fill are computed on first use (backtest records), not on the training path.
    """

    def __init__(
        self,
        qty: np.ndarray,
        cash: np.ndarray,
        holdings: np.ndarray,
        prices: np.ndarray,
        slippage: np.ndarray,
        fee_rate: float,
        buy_unit: np.ndarray,
        sell_unit: np.ndarray,
    ) -> None:
        self.qty = qty
        self._prices, self._slippage, self._fee_rate = prices, slippage, fee_rate
        f64 = np.ascontiguousarray
        qty = f64(qty, dtype=np.float64)
        self.cash = cash - cash_flow_batch(qty, f64(buy_unit), f64(sell_unit))  # (N,) cash after the fills
        self.holdings = holdings + qty  # (N, A) holdings after the fills
        self.equity = mark_batch(self.cash, self.holdings, f64(prices))  # (N,) marked at reference prices

    @cached_property
    def price(self) -> np.ndarray:
        """(N, A) execution prices (the reference price where nothing traded)."""
        return self._prices * (1.0 + self._slippage * np.sign(self.qty))

    @cached_property
    def fee(self) -> np.ndarray:
        """(N, A) fees paid, quote currency: fee_rate x |qty| x execution price."""
        return self._fee_rate * np.abs(self.qty) * self.price

    @cached_property
    def slippage(self) -> np.ndarray:
        """(N, A) slippage cost, quote currency: |qty| x reference price x slippage fraction."""
        return np.abs(self.qty) * self._prices * self._slippage


def unit_cash(prices: np.ndarray, slippage: np.ndarray, fee_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(cash paid per unit bought, cash received per unit sold) at these prices and slippage fractions
    (order_math.unit_buy / unit_sell, per element)."""
    p = np.ascontiguousarray(prices, dtype=np.float64)
    s = np.ascontiguousarray(np.broadcast_to(slippage, p.shape), dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"unit_cash: prices must be (rows, assets), got shape {p.shape}")
    bu, su = np.empty_like(p), np.empty_like(p)
    unit_cash_batch(p, s, float(fee_rate), bu, su)
    return bu, su


def settle(
    qty: np.ndarray,
    cash: np.ndarray,
    holdings: np.ndarray,
    prices: np.ndarray,
    slippage: np.ndarray,
    fee_rate: float,
) -> FillBatch:
    """Fill ``qty`` at ``prices`` with ``slippage`` and ``fee_rate``; pure function, nothing is mutated."""
    buy_unit, sell_unit = unit_cash(prices, slippage, fee_rate)
    return FillBatch(qty, cash, holdings, prices, slippage, fee_rate, buy_unit, sell_unit)
