"""Place an order at most once across retries: before every (re)send the order is looked up by its client
order id; a transient failure (timeout, dropped connection, 429, 5xx) waits (exponential, capped) and tries
again; anything else is raised. A failed look-up never leads to a blind send. What is transient is the one
rule market data uses too: :func:`cappuccino_core.common.transient.is_transient`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from cappuccino_core.common.transient import is_transient
from cappuccino_core.trading.brokers.base import BrokerError

log = logging.getLogger(__name__)
T = TypeVar("T")


def backoff(attempt: int, wait_s: float, wait_max_s: float) -> float:
    """Seconds before retry ``attempt`` (1-based): exponential from ``wait_s``, capped at ``wait_max_s``."""
    return min(wait_s * 2 ** (attempt - 1), wait_max_s)


def place_once(
    client_order_id: str,
    lookup: Callable[[], T | None],
    send: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    attempts: int,
    wait_s: float,
    wait_max_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Place an order exactly once across retries: before every attempt ``lookup`` asks the venue for
    ``client_order_id`` (a send that timed out may have reached it) and returns what it finds; otherwise
    ``send`` places it. Errors ``transient`` accepts are retried with backoff, up to ``attempts``; others
    raise."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    last: BaseException | None = None
    for i in range(attempts):
        if i:
            sleep(backoff(i, wait_s, wait_max_s))
        try:
            found = lookup()
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("order %s: look-up failed (%s); retrying", client_order_id, exc)
            last = exc
            continue
        if found is not None:
            return found
        try:
            return send()
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("order %s: send failed (%s); will look it up before any resend", client_order_id, exc)
            last = exc
    raise BrokerError(f"order {client_order_id}: gave up after {attempts} attempts: {last}") from last


def with_retries(
    what: str,
    call: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    attempts: int,
    wait_s: float,
    wait_max_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Retry an idempotent call (a read, a cancel) on transient failures."""
    last: BaseException | None = None
    for i in range(attempts):
        if i:
            sleep(backoff(i, wait_s, wait_max_s))
        try:
            return call()
        except Exception as exc:
            if not transient(exc):
                raise
            last = exc
    raise BrokerError(f"{what}: gave up after {attempts} attempts: {last}") from last


__all__ = ["backoff", "is_transient", "place_once", "with_retries"]
