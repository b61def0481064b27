"""Symbols, normalised once: every spelling a venue or a file uses becomes one canonical ``Symbol``.

``parse_symbol`` accepts ``"BTC/USDT"``, ``"BTC-USD"``, ``"btc_usdt"``, ``"BTCUSDT"`` (no separator: split on
a known quote currency, longest first, so ``BTCUSDT`` is BTC/USDT and never BTCU/SDT), and a ``Symbol``.
The quote is kept: BTC/USD and BTC/USDT are different markets. ``str(Symbol)`` is ``"BTC/USDT"``.

Venue spellings: Alpaca orders/bars ``BTC/USD``, Alpaca positions ``BTCUSD``, Coinbase products ``BTC-USD``,
the Parquet store and file names ``BTC-USDT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Quote currencies recognised when a symbol has no separator, tried longest first. Stablecoins whose name ends
# in another quote (TUSD, BUSD, FDUSD, PYUSD) are left out on purpose: with them "FETUSD" would read FE/TUSD.
# Such pairs need a separator ("FET/TUSD").
KNOWN_QUOTES: tuple[str, ...] = (
    "USDT",
    "USDC",
    "USD",
    "DAI",
    "EUR",
    "GBP",
    "JPY",
    "AUD",
    "CAD",
    "CHF",
    "TRY",
    "BRL",
    "BTC",
    "ETH",
    "BNB",
)
_QUOTES_LONGEST_FIRST = tuple(sorted(KNOWN_QUOTES, key=len, reverse=True))
_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
_SEPARATORS = re.compile(r"[/\-_:]")


@dataclass(frozen=True, order=True)
class Symbol:
    """A spot market BASE/QUOTE, upper case. Build it with :func:`parse_symbol`."""

    base: str
    quote: str

    def __post_init__(self) -> None:
        for part, value in (("base", self.base), ("quote", self.quote)):
            if not _ASSET.match(value):
                raise ValueError(f"symbol {part} {value!r} must be 1-20 upper-case letters/digits")
        if self.base == self.quote:
            raise ValueError(f"symbol {self.base}/{self.quote}: base and quote are the same asset")

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def alpaca(self) -> str:
        """Alpaca crypto bars/orders: ``BTC/USD``."""
        return f"{self.base}/{self.quote}"

    @property
    def alpaca_position(self) -> str:
        """Alpaca position symbol: ``BTCUSD`` (no slash)."""
        return f"{self.base}{self.quote}"

    @property
    def coinbase(self) -> str:
        """Coinbase Advanced product id: ``BTC-USD``."""
        return f"{self.base}-{self.quote}"

    @property
    def store(self) -> str:
        """Parquet store directory and file-name form: ``BTC-USDT``."""
        return f"{self.base}-{self.quote}"


def parse_symbol(value: str | Symbol) -> Symbol:
    """Canonical ``Symbol`` from any supported spelling; ValueError naming the input when it cannot parse."""
    if isinstance(value, Symbol):
        return value
    if not isinstance(value, str):
        raise ValueError(f"symbol must be a string, got {type(value).__name__}: {value!r}")
    text = value.strip().upper()
    if not text:
        raise ValueError("symbol is empty; expected BASE/QUOTE such as 'BTC/USDT'")
    parts = [p for p in _SEPARATORS.split(text)]
    if len(parts) == 2:
        base, quote = parts
        if not base or not quote:
            raise ValueError(f"cannot parse symbol {value!r}: empty base or quote (expected e.g. 'BTC/USDT')")
    elif len(parts) == 1:
        for q in _QUOTES_LONGEST_FIRST:
            if text.endswith(q) and len(text) > len(q):
                base, quote = text[: -len(q)], q
                break
        else:
            raise ValueError(
                f"cannot parse symbol {value!r}: no separator and no known quote currency at the end "
                f"(known: {', '.join(KNOWN_QUOTES)}); write it as BASE/QUOTE, e.g. 'BTC/USDT'"
            )
    else:
        raise ValueError(f"cannot parse symbol {value!r}: more than one separator (expected BASE/QUOTE)")
    try:
        return Symbol(base, quote)
    except ValueError as exc:
        raise ValueError(f"cannot parse symbol {value!r}: {exc}") from None


def parse_symbols(values: str | list[str] | tuple[str, ...]) -> list[Symbol]:
    """A comma-separated string or a list of symbols, parsed in order; duplicates are an error."""
    items = [v for v in values.split(",")] if isinstance(values, str) else list(values)
    items = [v.strip() if isinstance(v, str) else v for v in items]
    items = [v for v in items if v != ""]
    if not items:
        raise ValueError("no symbols given")
    out = [parse_symbol(v) for v in items]
    seen: set[Symbol] = set()
    for s in out:
        if s in seen:
            raise ValueError(f"symbol {s} given twice in {values!r}")
        seen.add(s)
    return out
