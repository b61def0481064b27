"""Coinbase product rules and Decimal formatting, hand-computed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cappuccino_core.trading.brokers.decimals import dec, floor_to, plain
from cappuccino_core.venues.coinbase.rules import ProductRules, failure_reason

PRODUCT = {
    "product_id": "BTC-USD",
    "base_increment": "0.00000001",
    "quote_increment": "0.01",
    "price_increment": "0.01",
    "base_min_size": "0.0001",
    "base_max_size": "10",
    "quote_min_size": "1",
    "status": "online",
    "limit_only": False,
    "post_only": False,
    "cancel_only": False,
    "trading_disabled": False,
}


def test_sizes_round_down_to_the_increment_in_plain_form() -> None:
    r = ProductRules.from_product(PRODUCT)
    # the fault-campaign size: ":.12g" sent "43506.2064308" (more than held); Decimal keeps it exactly
    assert plain(r.size(43506.20643078)) == "43506.20643078"
    assert f"{43506.20643078:.12g}" == "43506.2064308"  # the old formatting, for the record
    assert plain(r.size(0.000012345678999)) == "0.00001234"  # down, never up
    assert plain(r.size(1e-5)) == "0.00001"  # never "1e-05"
    assert plain(r.size(0.30000000000000004)) == "0.3"
    assert plain(r.size(1.999999999)) == "1.99999999"
    assert plain(r.price(99.999, "buy")) == "99.99" and plain(r.price(99.991, "sell")) == "100"
    assert plain(floor_to("0.123456789", Decimal("0.0001"))) == "0.1234"


def test_refusals_name_the_rule_before_the_order_leaves() -> None:
    r = ProductRules.from_product(PRODUCT)
    ok = r.refusal(Decimal("0.01"), Decimal("100.00"), ref_price=None, post_only=True)
    assert ok is None  # 0.01 * 100 = 1.00 >= quote_min_size 1
    small = r.refusal(Decimal("0.00005"), None, ref_price=50_000.0, post_only=False)
    assert small == "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL: size 0.00005 < base_min_size 0.0001 for BTC-USD"
    value = r.refusal(Decimal("0.0009"), Decimal("1000.00"), ref_price=None, post_only=True)
    assert value == "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL: value 0.9 < quote_min_size 1 for BTC-USD"
    big = r.refusal(Decimal("11"), None, ref_price=100.0, post_only=False)
    assert big is not None and big.startswith("PREVIEW_INVALID_BASE_SIZE_TOO_LARGE")
    off = r.refusal(Decimal("0.000100001"), None, ref_price=100.0, post_only=False)
    assert off is not None and off.startswith("INVALID_SIZE_PRECISION")
    tick = r.refusal(Decimal("1"), Decimal("100.001"), ref_price=None, post_only=False)
    assert tick is not None and tick.startswith("INVALID_PRICE_PRECISION")


@pytest.mark.parametrize(
    ("flags", "market_code", "limit_code"),
    [
        ({"limit_only": True}, "PREVIEW_INVALID_LIMIT_ONLY", None),
        ({"post_only": True}, "PREVIEW_INVALID_POST_ONLY_MODE", None),
        ({"cancel_only": True}, "PREVIEW_TRADING_DISABLED", "PREVIEW_TRADING_DISABLED"),
        ({"trading_disabled": "true"}, "PREVIEW_TRADING_DISABLED", "PREVIEW_TRADING_DISABLED"),
        ({"status": "delisted"}, "PREVIEW_TRADING_DISABLED", "PREVIEW_TRADING_DISABLED"),
    ],
)
def test_trading_mode_flags(flags: dict[str, object], market_code: str, limit_code: str | None) -> None:
    r = ProductRules.from_product(PRODUCT | flags)
    m = r.refusal(Decimal("1"), None, ref_price=100.0, post_only=False)
    lim = r.refusal(Decimal("1"), Decimal("100"), ref_price=None, post_only=True)
    assert m is not None and m.split(":")[0] == market_code
    assert (lim.split(":")[0] if lim else None) == limit_code


def test_failure_reason_reads_the_specific_field_first() -> None:
    # Coinbase puts UNKNOWN_FAILURE_REASON in `error` and the specific code in the *_failure_reason fields
    resp = {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "error_response": {
            "error": "UNKNOWN_FAILURE_REASON",
            "message": "",
            "preview_failure_reason": "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
            "new_order_failure_reason": "UNKNOWN_FAILURE_REASON",
        },
    }
    assert failure_reason(resp) == "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"
    funds = {
        "error_response": {"error": "INSUFFICIENT_FUND", "message": "Insufficient balance in source account"}
    }
    assert failure_reason(funds) == "INSUFFICIENT_FUND: Insufficient balance in source account"
    legacy = {"success": False, "failure_reason": "INVALID_PRODUCT_ID"}
    assert failure_reason(legacy) == "INVALID_PRODUCT_ID"


def test_bad_product_metadata_is_named() -> None:
    with pytest.raises(ValueError, match="BTC-USD"):
        ProductRules.from_product({"product_id": "BTC-USD"})
    with pytest.raises(ValueError, match="not a finite"):
        dec("nan")
