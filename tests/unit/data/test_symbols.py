"""Symbols are normalised once: every venue and file spelling -> one canonical Symbol."""

from __future__ import annotations

import pytest

from cappuccino_core.data.symbols import Symbol, parse_symbol, parse_symbols


@pytest.mark.parametrize(
    ("text", "base", "quote"),
    [
        ("BTC/USD", "BTC", "USD"),
        ("BTC-USD", "BTC", "USD"),
        ("BTCUSD", "BTC", "USD"),
        ("BTCUSDT", "BTC", "USDT"),
        ("btc_usdt", "BTC", "USDT"),
        ("BTC/USDT", "BTC", "USDT"),
        (" eth-usdc ", "ETH", "USDC"),
        ("ETHBTC", "ETH", "BTC"),
        ("LINKETH", "LINK", "ETH"),
        ("SOLEUR", "SOL", "EUR"),
        ("FETUSD", "FET", "USD"),  # not FE/TUSD: TUSD is not inferred without a separator
        ("FET/TUSD", "FET", "TUSD"),
        ("1INCH-USD", "1INCH", "USD"),
        ("BTC:USD", "BTC", "USD"),
    ],
)
def test_spellings_parse_to_one_symbol(text: str, base: str, quote: str) -> None:
    sym = parse_symbol(text)
    assert sym == Symbol(base, quote)
    assert str(sym) == f"{base}/{quote}"


def test_quote_is_kept() -> None:
    assert parse_symbol("BTCUSD") != parse_symbol("BTCUSDT")
    assert str(parse_symbol("BTCUSDT")) == "BTC/USDT"


def test_venue_forms() -> None:
    s = parse_symbol("btc_usd")
    assert s.alpaca == "BTC/USD"
    assert s.alpaca_position == "BTCUSD"
    assert s.coinbase == "BTC-USD"
    assert s.store == "BTC-USD"
    assert parse_symbol("BTCUSDT").store == "BTC-USDT"


def test_round_trips_through_every_form() -> None:
    s = parse_symbol("ETH/USDT")
    for form in (s.alpaca, s.alpaca_position, s.coinbase, s.store, str(s)):
        assert parse_symbol(form) == s
    assert parse_symbol(s) is s


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("BTC", "no known quote"),
        ("BTCXYZ", "no known quote"),
        ("USDT", "no known quote"),
        ("BTC/", "empty base or quote"),
        ("/USD", "empty base or quote"),
        ("BTC/USD/EUR", "more than one separator"),
        ("BTC/BTC", "same asset"),
        ("BT$/USD", "upper-case letters/digits"),
    ],
)
def test_unparseable_input_names_itself(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle) as info:
        parse_symbol(text)
    if text.strip():
        assert repr(text) in str(info.value)


def test_non_string_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_symbol(42)  # type: ignore[arg-type]


def test_parse_symbols_keeps_order_and_rejects_duplicates() -> None:
    assert [str(s) for s in parse_symbols("ETH/USDT, BTCUSDT,LINK-USDT")] == [
        "ETH/USDT",
        "BTC/USDT",
        "LINK/USDT",
    ]
    assert [str(s) for s in parse_symbols(["SOL/USD", "ADAUSD"])] == ["SOL/USD", "ADA/USD"]
    with pytest.raises(ValueError, match="given twice"):
        parse_symbols("BTC/USD,BTC-USD")
    with pytest.raises(ValueError, match="no symbols"):
        parse_symbols(" , ")
