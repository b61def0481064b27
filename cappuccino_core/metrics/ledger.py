"""The trade ledger: one row per fill, normalised from a polars/pandas frame or a dict of columns.

Columns (names are case-sensitive, values are not):

* ``time``: fill time (UTC). polars Datetime, pandas datetime64 (tz-aware ones are converted to UTC), numpy
  datetime64, or int64 nanoseconds since the epoch. Optional; when present, fills are put in time order
  (stable, so fills of one bar keep their recorded order).
* ``asset``: ticker, e.g. "BTC/USD".
* ``side``: "buy" or "sell" (any case).
* ``quantity``: base units, > 0 (the side gives the direction).
* ``price``: fill price in quote currency, > 0.
* ``fee``: fee paid in quote currency, >= 0.
* ``liquidity``: "maker" / "taker" (any case). Optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

REQUIRED = ("asset", "side", "quantity", "price", "fee")


@dataclass(frozen=True)
class Ledger:
    """Fills as columns (one entry per fill), the input of the trade statistics."""

    asset: np.ndarray  # (F,) str
    side: np.ndarray  # (F,) "buy" | "sell"
    quantity: np.ndarray  # (F,) float64 > 0
    price: np.ndarray  # (F,) float64 > 0
    fee: np.ndarray  # (F,) float64 >= 0
    time: np.ndarray | None = None  # (F,) datetime64[ns], UTC
    liquidity: np.ndarray | None = None  # (F,) "maker" | "taker"

    def __len__(self) -> int:
        return int(self.quantity.shape[0])

    @property
    def notional(self) -> np.ndarray:
        """|quantity x price| per fill, quote currency."""
        return self.quantity * self.price

    @property
    def is_buy(self) -> np.ndarray:
        """Boolean mask of the buy fills."""
        return self.side == "buy"

    def assets(self) -> list[str]:
        """Assets in order of first appearance."""
        seen: dict[str, None] = {}
        for a in self.asset.tolist():
            seen.setdefault(a, None)
        return list(seen)

    @classmethod
    def from_any(cls, obj: Any) -> Ledger:
        """Build from a Ledger, a polars or pandas DataFrame, or a mapping of column name -> sequence."""
        if isinstance(obj, Ledger):
            return obj
        cols = _columns(obj)
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise ValueError(f"trade ledger lacks column(s) {missing}; has {sorted(cols)}")
        n = len(cols["quantity"])
        asset = np.asarray([str(a) for a in cols["asset"]], dtype=object)
        side = np.asarray([str(s).strip().lower() for s in cols["side"]], dtype=object)
        qty = np.asarray(cols["quantity"], dtype=np.float64)
        price = np.asarray(cols["price"], dtype=np.float64)
        fee = np.asarray(cols["fee"], dtype=np.float64)
        for name, arr in (("asset", asset), ("side", side), ("price", price), ("fee", fee)):
            if len(arr) != n:
                raise ValueError(f"trade ledger column {name!r} has {len(arr)} rows, quantity has {n}")
        bad_side = ~np.isin(side, ["buy", "sell"])
        if bad_side.any():
            raise ValueError(
                f"trade ledger side must be buy/sell; row {int(np.argmax(bad_side))} has "
                f"{side[bad_side][0]!r}"
            )
        _check(qty, "quantity", lambda v: np.isfinite(v) & (v > 0), "> 0 (the side gives the direction)")
        _check(price, "price", lambda v: np.isfinite(v) & (v > 0), "> 0")
        _check(fee, "fee", lambda v: np.isfinite(v) & (v >= 0), ">= 0")
        liq = None
        if "liquidity" in cols and cols["liquidity"] is not None:
            liq = np.asarray([str(x).strip().lower() for x in cols["liquidity"]], dtype=object)
        time = to_datetime64(cols["time"]) if "time" in cols and cols["time"] is not None else None
        if time is not None:
            if len(time) != n:
                raise ValueError(f"trade ledger column 'time' has {len(time)} rows, quantity has {n}")
            order = np.argsort(time, kind="stable")
            asset, side, qty, price, fee, time = (a[order] for a in (asset, side, qty, price, fee, time))
            liq = liq[order] if liq is not None else None
        return cls(asset=asset, side=side, quantity=qty, price=price, fee=fee, time=time, liquidity=liq)


def _check(arr: np.ndarray, name: str, ok: Any, rule: str) -> None:
    good = ok(arr)
    if not good.all():
        i = int(np.argmax(~good))
        raise ValueError(f"trade ledger {name} must be finite and {rule}; row {i} has {arr[i]!r}")


def _columns(obj: Any) -> dict[str, Any]:
    mod = type(obj).__module__
    if mod.startswith("polars"):
        return {c: obj[c] for c in obj.columns}
    if mod.startswith("pandas"):
        return {c: obj[c] for c in obj.columns}
    if isinstance(obj, dict):
        return dict(obj)
    raise TypeError(f"trade ledger must be a polars/pandas DataFrame or a dict of columns; got {type(obj)!r}")


def to_datetime64(values: Any) -> np.ndarray:
    """UTC times as numpy datetime64[ns] from polars/pandas/numpy/datetime lists or int64 ns since epoch."""
    mod = type(values).__module__
    if mod.startswith("polars"):
        import polars as pl

        s = values
        if isinstance(s.dtype, pl.Datetime):
            if s.dtype.time_zone is not None:
                s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            return s.dt.cast_time_unit("ns").to_numpy().astype("datetime64[ns]")
        values = s.to_numpy()
    elif mod.startswith("pandas"):
        import pandas as pd

        if not pd.api.types.is_integer_dtype(values):
            idx = pd.DatetimeIndex(values)
            if idx.tz is not None:
                idx = idx.tz_convert("UTC").tz_localize(None)
            return idx.to_numpy().astype("datetime64[ns]")
        values = np.asarray(values)
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype("int64").astype("datetime64[ns]")
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]")
    # Python datetimes (possibly tz-aware) or ISO strings: let pandas parse, then convert to UTC.
    import pandas as pd

    idx = pd.DatetimeIndex(pd.to_datetime(list(arr), utc=True))
    return idx.tz_localize(None).to_numpy().astype("datetime64[ns]")
