"""Deterministic client order ids: the same (model run, bar time, asset, leg) always gives the same id, so a
retry after a timeout or a restart can look the order up instead of placing a second one.

Ids are ``<prefix>-<hex digest>`` (venue limits: Alpaca 128 characters, Coinbase 128; the default is 29).
Maker-first child orders derive their ids from the parent's with :func:`leg_id`.
"""

from __future__ import annotations

import hashlib

MAX_LENGTH = 64  # the state store's client_order_id column


def client_order_id(
    run_id: str, bar_time_ns: int, asset: str, leg: str, *, prefix: str = "cap", digest_chars: int = 24
) -> str:
    """``leg`` is the side (``"buy"``/``"sell"``) or any label that tells two orders of one bar apart."""
    if not run_id or not asset or not leg:
        raise ValueError(f"client_order_id needs run_id, asset and leg; got {run_id!r}, {asset!r}, {leg!r}")
    if not 8 <= digest_chars <= 64:
        raise ValueError(f"digest_chars must be in [8, 64], got {digest_chars}")
    digest = hashlib.sha256(f"{run_id}|{int(bar_time_ns)}|{asset}|{leg}".encode()).hexdigest()[:digest_chars]
    out = f"{prefix}-{digest}"
    if len(out) > MAX_LENGTH:
        raise ValueError(f"client order id {out!r} is longer than {MAX_LENGTH} characters (prefix too long)")
    return out


def leg_id(parent: str, attempt: int, kind: str = "m") -> str:
    """Child order id: ``<parent>-m<k>`` for the k-th maker quote, ``<parent>-t`` for the taker fallback."""
    if attempt < 0 or kind not in ("m", "t"):
        raise ValueError(f"leg_id: attempt must be >= 0 and kind 'm' or 't'; got {attempt}, {kind!r}")
    out = f"{parent}-{kind}{attempt}" if kind == "m" else f"{parent}-t"
    if len(out) > MAX_LENGTH:
        raise ValueError(f"leg id {out!r} is longer than {MAX_LENGTH} characters")
    return out
