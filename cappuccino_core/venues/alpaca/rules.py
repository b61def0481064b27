"""Alpaca crypto rules: per-asset precision and minimums (GET /v2/assets/{symbol}: ``min_order_size``,
``min_trade_increment``, ``price_increment``), the crypto fee schedule (fees taken in the asset received),
and how an Alpaca error answer is classified.

Fees (Alpaca crypto fee schedule, 30-day volume tiers, maker / taker): the entry tier is 0.15% / 0.25%. A
buy of ETH/USD pays its fee in ETH (the position is the filled quantity minus the fee); a sell pays in USD.
Alpaca has no post-only orders for crypto: the broker refuses ``post_only`` instead of dropping it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cappuccino_core.trading.brokers.decimals import ceil_to, dec, floor_to, on_step, plain

# (30-day volume from, maker, taker), Alpaca's published crypto tiers
FEE_TIERS = (
    (0.0, 0.0015, 0.0025),
    (100_000.0, 0.0012, 0.0022),
    (500_000.0, 0.0010, 0.0020),
    (1_000_000.0, 0.0008, 0.0018),
    (10_000_000.0, 0.0005, 0.0015),
    (25_000_000.0, 0.0002, 0.0013),
    (50_000_000.0, 0.0002, 0.0012),
    (100_000_000.0, 0.0000, 0.0010),
)
ENTRY_MAKER, ENTRY_TAKER = FEE_TIERS[0][1], FEE_TIERS[0][2]

QTY_TOO_SMALL = "QTY_BELOW_MIN_ORDER_SIZE"
QTY_INCREMENT = "QTY_NOT_ON_MIN_TRADE_INCREMENT"
PRICE_INCREMENT = "LIMIT_PRICE_NOT_ON_PRICE_INCREMENT"
POST_ONLY_UNSUPPORTED = "POST_ONLY_UNSUPPORTED"
INVALID = 40010001  # Alpaca's code for a request that fails validation (HTTP 422)


@dataclass(frozen=True)
class AssetRules:
    """One crypto asset's minimum order size and increments, as Decimals."""

    symbol: str
    min_order_size: Decimal
    min_trade_increment: Decimal
    price_increment: Decimal
    tradable: bool = True

    @classmethod
    def from_asset(cls, raw: dict[str, Any]) -> AssetRules:
        """From a GET /v2/assets/{symbol} body (numbers or strings); a missing field is named."""
        sym = str(raw.get("symbol", "?"))
        try:
            return cls(
                sym,
                dec(raw["min_order_size"]),
                dec(raw["min_trade_increment"]),
                dec(raw["price_increment"]),
                bool(raw.get("tradable", True)),
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"asset {sym}: no usable min_order_size/increments ({exc})") from None

    def qty(self, qty: float | str | Decimal) -> Decimal:
        """``qty`` rounded DOWN to ``min_trade_increment``."""
        return floor_to(qty, self.min_trade_increment) if dec(qty) > 0 else Decimal(0)

    def price(self, price: float | str | Decimal, side: str) -> Decimal:
        """A limit price on the tick: buys round down, sells up."""
        return (floor_to if side == "buy" else ceil_to)(price, self.price_increment)

    def refusal(self, qty: Decimal, price: Decimal | None) -> str | None:
        """Why Alpaca would refuse (``CODE: detail``), or None."""
        if not self.tradable:
            return f"ASSET_NOT_TRADABLE: {self.symbol} is not tradable"
        if not on_step(qty, self.min_trade_increment):
            inc = plain(self.min_trade_increment)
            return f"{QTY_INCREMENT}: qty {plain(qty)} is not a multiple of min_trade_increment {inc}"
        if qty < self.min_order_size:
            least = plain(self.min_order_size)
            return f"{QTY_TOO_SMALL}: qty {plain(qty)} < min_order_size {least} for {self.symbol}"
        if price is not None and not on_step(price, self.price_increment):
            inc = plain(self.price_increment)
            return f"{PRICE_INCREMENT}: limit_price {plain(price)} is not a multiple of price_increment {inc}"
        return None


def error_fields(text: str) -> tuple[int | None, str]:
    """(code, message) of an Alpaca error body (``{"code": 40310000, "message": "..."}``)."""
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return None, str(text)
    if not isinstance(body, dict):
        return None, str(text)
    code = body.get("code")
    return (int(code) if isinstance(code, int | str) and str(code).isdigit() else None), str(
        body.get("message", text)
    )


def is_business_rejection(status: int | None, code: int | None, message: str) -> bool:
    """An order the venue refused (funds, size, validation): a ``rejected`` order. Anything else with
    401/403 (bad keys, no permission, account or crypto trading blocked) is an error the caller must see."""
    m = message.lower()
    if status == 422:
        return True
    if status == 403:
        permission = any(
            w in m for w in ("forbidden", "not authorized", "unauthorized", "permission", "blocked")
        )
        return not permission and (code == 40310000 or "insufficient" in m or "balance" in m)
    return False
