"""Per-step records for backtests: equity, cash, holdings, fees, slippage, and the trade ledger.

The kernel appends one row per step when built with ``record=True`` (training leaves it off). Row 0 of an
episode is its state at reset (no trades); row k the state after step k, marked at the bar the step ends
on. :meth:`Recorder.episode` cuts one episode out as an :class:`EpisodeRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# time: bar open time of the decision bar (fills happen at its close); price: execution price incl. slippage;
# notional = quantity x price; fee and slippage in quote currency; liquidity: "taker" | "maker".
LEDGER_SCHEMA = {
    "time": pl.Int64,
    "asset": pl.Utf8,
    "side": pl.Utf8,
    "quantity": pl.Float64,
    "price": pl.Float64,
    "notional": pl.Float64,
    "fee": pl.Float64,
    "slippage": pl.Float64,
    "liquidity": pl.Utf8,
}
LEDGER_COLUMNS = tuple(LEDGER_SCHEMA)


@dataclass
class EpisodeRecord:
    """One episode's record: equity, cash, holdings, fees and slippage per bar, and its trade ledger."""

    times: np.ndarray  # (S+1,) int64 ns: bar open time of the bar each row is marked at
    equity: np.ndarray  # (S+1,)
    cash: np.ndarray  # (S+1,)
    holdings: np.ndarray  # (S+1, A)
    fees: np.ndarray  # (S+1,) fees paid in the step that ended at this row (0 in row 0)
    slippage: np.ndarray  # (S+1,) slippage cost of that step
    rewards: np.ndarray  # (S+1,)
    ledger: pl.DataFrame  # one row per fill: LEDGER_COLUMNS


class Recorder:
    """Collects every step's state of a batch of episodes; :meth:`episode` gives one's record."""

    def __init__(self, tickers: tuple[str, ...], times: np.ndarray, liquidity: str) -> None:
        self.tickers = tickers
        self.times = times
        self.liquidity = liquidity
        self.rows: list[dict[str, np.ndarray]] = []

    def add(self, **arrays: np.ndarray) -> None:
        """t, active, equity, cash, holdings, fee, slippage, reward (per episode) and trade arrays
        qty, trade_t, price, fee_asset, slip_asset (per episode and asset); copies are kept."""
        self.rows.append({k: np.array(v, copy=True) for k, v in arrays.items()})

    def episode(self, i: int) -> EpisodeRecord:
        """The record of episode ``i`` (its active steps only)."""
        rows = [r for r in self.rows if r["active"][i]]
        if not rows:
            raise ValueError(f"episode {i} has no recorded rows")

        def col(key: str) -> np.ndarray:
            return np.stack([r[key][i] for r in rows])

        qty = col("qty")
        steps, assets = np.nonzero(qty)
        q = qty[steps, assets]
        order = np.lexsort((q > 0, steps))  # by step, sells before buys (the order fills are booked in)
        steps, assets, q = steps[order], assets[order], q[order]
        price = col("price")[steps, assets]
        ledger = pl.DataFrame(
            {
                "time": self.times[col("trade_t")[steps]].astype(np.int64),
                "asset": np.asarray(self.tickers, dtype=object)[assets].astype(str),
                "side": np.where(q > 0, "buy", "sell"),
                "quantity": np.abs(q),
                "price": price,
                "notional": np.abs(q) * price,
                "fee": col("fee_asset")[steps, assets],
                "slippage": col("slip_asset")[steps, assets],
                "liquidity": np.full(len(q), self.liquidity),
            },
            schema=LEDGER_SCHEMA,
        )
        return EpisodeRecord(
            times=self.times[col("t")],
            equity=col("equity"),
            cash=col("cash"),
            holdings=col("holdings"),
            fees=col("fee"),
            slippage=col("slippage"),
            rewards=col("reward"),
            ledger=ledger.with_columns(pl.col("time").cast(pl.Datetime("ns", "UTC"))),
        )
