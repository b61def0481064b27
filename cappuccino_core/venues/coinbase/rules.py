"""Coinbase Advanced Trade product rules: increments, minimums and trading-mode flags (GET /products/{id}),
and the order-failure reason of a ``success:false`` create-order answer.

The venue refuses a size off ``base_increment`` (``INVALID_SIZE_PRECISION``), a limit price off
``price_increment``/``quote_increment`` (``INVALID_PRICE_PRECISION``), a size below ``base_min_size`` /
above ``base_max_size`` or a value below ``quote_min_size`` (``PREVIEW_INVALID_BASE_SIZE_TOO_SMALL`` ...),
and any order while ``trading_disabled``/``cancel_only``; ``limit_only`` refuses market orders, ``post_only``
refuses orders that are not post-only limits. The broker applies the same rules before an order leaves, and
the loopback exchange enforces them with the venue's codes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cappuccino_core.trading.brokers.decimals import ceil_to, dec, floor_to, on_step, plain

SIZE_PRECISION = "INVALID_SIZE_PRECISION"
PRICE_PRECISION = "INVALID_PRICE_PRECISION"
BASE_TOO_SMALL = "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"
BASE_TOO_LARGE = "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE"
QUOTE_TOO_SMALL = "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL"
TRADING_DISABLED = "PREVIEW_TRADING_DISABLED"  # also used for cancel_only / offline products
LIMIT_ONLY = "PREVIEW_INVALID_LIMIT_ONLY"
POST_ONLY_MODE = "PREVIEW_INVALID_POST_ONLY_MODE"
_UNKNOWN = (
    "",
    "None",
    "UNKNOWN_FAILURE_REASON",
    "UNKNOWN_PREVIEW_FAILURE_REASON",
    "REJECT_REASON_UNSPECIFIED",
)


def _flag(raw: dict[str, Any], key: str) -> bool:
    v = raw.get(key)
    return v is True or str(v).lower() == "true"


@dataclass(frozen=True)
class ProductRules:
    """One product's precision, size limits and trading mode, as Decimals."""

    product_id: str
    base_increment: Decimal
    price_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal | None
    quote_min_size: Decimal
    status: str = "online"
    trading_disabled: bool = False
    cancel_only: bool = False
    limit_only: bool = False
    post_only: bool = False

    @classmethod
    def from_product(cls, raw: dict[str, Any]) -> ProductRules:
        """From a GET /products/{id} body; a missing increment is an error naming the product."""
        pid = str(raw.get("product_id", "?"))
        try:
            inc = dec(raw["base_increment"])
            px = dec(raw.get("price_increment") or raw["quote_increment"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"product {pid}: no usable base_increment/quote_increment ({exc})") from None
        return cls(
            pid,
            inc,
            px,
            dec(raw.get("base_min_size") or "0"),
            dec(raw["base_max_size"]) if raw.get("base_max_size") else None,
            dec(raw.get("quote_min_size") or "0"),
            str(raw.get("status") or "online").lower(),
            _flag(raw, "trading_disabled") or _flag(raw, "is_disabled"),
            _flag(raw, "cancel_only"),
            _flag(raw, "limit_only"),
            _flag(raw, "post_only"),
        )

    def size(self, qty: float | str | Decimal) -> Decimal:
        """``qty`` rounded DOWN to ``base_increment`` (never more than asked)."""
        return floor_to(qty, self.base_increment) if dec(qty) > 0 else Decimal(0)

    def price(self, price: float | str | Decimal, side: str) -> Decimal:
        """A limit price on the tick: buys round down, sells up (a maker quote never crosses by rounding)."""
        f = floor_to if side == "buy" else ceil_to
        return f(price, self.price_increment)

    def refusal(
        self, size: Decimal, price: Decimal | None, *, ref_price: float | None, post_only: bool
    ) -> str | None:
        """Why the venue would refuse this order (``CODE: detail``), or None. ``price`` None: market;
        ``ref_price`` values a market order against ``quote_min_size``."""
        pid = self.product_id
        if self.trading_disabled or self.cancel_only or self.status not in ("online", ""):
            mode = f"status {self.status}, cancel_only {self.cancel_only}"
            return f"{TRADING_DISABLED}: {pid} is not trading ({mode})"
        if price is None and self.limit_only:
            return f"{LIMIT_ONLY}: {pid} accepts limit orders only"
        if self.post_only and (price is None or not post_only):
            return f"{POST_ONLY_MODE}: {pid} accepts post-only limit orders only"
        if not on_step(size, self.base_increment):
            inc = plain(self.base_increment)
            return f"{SIZE_PRECISION}: size {plain(size)} is not a multiple of base_increment {inc}"
        if price is not None and not on_step(price, self.price_increment):
            return (
                f"{PRICE_PRECISION}: price {plain(price)} is not a multiple of {plain(self.price_increment)}"
            )
        if size < self.base_min_size:
            return (
                f"{BASE_TOO_SMALL}: size {plain(size)} < base_min_size {plain(self.base_min_size)} for {pid}"
            )
        if self.base_max_size is not None and size > self.base_max_size:
            return (
                f"{BASE_TOO_LARGE}: size {plain(size)} > base_max_size {plain(self.base_max_size)} for {pid}"
            )
        ref = price if price is not None else (dec(ref_price) if ref_price else None)
        if ref is not None and size * ref < self.quote_min_size:
            value = plain((size * ref).quantize(Decimal("0.00000001")))
            return f"{QUOTE_TOO_SMALL}: value {value} < quote_min_size {plain(self.quote_min_size)} for {pid}"
        return None


def failure_reason(resp: dict[str, Any]) -> str:
    """The specific reason of a ``success:false`` create-order answer: ``new_order_failure_reason``, then
    ``preview_failure_reason``, then ``error`` / legacy ``failure_reason`` (skipping UNKNOWN_* placeholders),
    with the venue's message appended when it says more."""
    err = resp.get("error_response") or resp.get("response") or {}  # the SDK renames error_response
    for key in ("new_order_failure_reason", "preview_failure_reason", "error"):
        code = str(err.get(key) or "")
        if code not in _UNKNOWN:
            break
    else:
        code = str(resp.get("failure_reason") or err.get("error") or "UNKNOWN_FAILURE_REASON")
    msg = str(err.get("message") or err.get("error_details") or "")
    return f"{code}: {msg}" if msg and msg != code and code not in msg else code
