"""What one tick reports (:class:`TickResult`), and two facts about a venue account: its key
(:func:`account_id`, the lease's and the positions' key) and an order's totals as the venue reports them
(:func:`venue_totals`). The broker the loop trades is the one protocol,
:class:`~cappuccino_core.trading.brokers.base.Broker`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from cappuccino_core.trading.brokers.base import Broker, Order, OwnAccount

OPEN = ("new", "submitted", "open", "partially_filled", "pending_cancel")
LATE = ("canceled", "expired", "filled")  # final, but a fill may still arrive or be missing from the store
UNSENT = "unsent"  # recorded before the send, and the venue never saw it (a crash in between)
LATE_FILL_WINDOW = timedelta(days=2)  # final orders whose fills the store lacks are looked up this long
CANCEL_FILL_WINDOW = timedelta(hours=6)  # canceled/expired orders are asked for late fills this long


def _dt(ns: int) -> datetime:
    """A bar time in ns since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _aware(t: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


_ACCOUNT_CHARS = 32  # positions.broker holds the account key


@dataclass
class TickResult:
    """What one bar did: the orders placed, why no decision was made, or the broker error that stopped it."""

    bar_time_ns: int
    skipped: str | None = None  # why no decision was made
    orders: list[str] = field(default_factory=list)  # client order ids placed
    dust: dict[str, float] = field(default_factory=dict)  # flatten: remainders under the lot/minimum size
    error: str | None = None  # a broker error that stopped this bar's sends (the rest stay for reconcile)


def venue_totals(got: Order, qty: float, px: float, fee: float) -> tuple[float, float, float]:
    """An order's (filled qty, average price, fees): what the venue reports, at least what the fills add up
    to (``qty``, ``px``, ``fee``). The difference marks fills still to be recorded (reconcile asks again)."""
    vq = float(got.filled_qty or 0.0)
    if vq <= qty:
        return qty, px, fee
    return vq, float(got.avg_price or px), max(float(got.fee or 0.0), fee)


def account_id(broker: Broker) -> str:
    """The account a broker trades (the lease's key): its ``account_id`` when it has one (an in-process
    sim or loopback venue is its own account), else its name (one account per venue and state store)."""
    own = broker.account_id if isinstance(broker, OwnAccount) else None
    key = str(own or broker.name)
    if len(key) <= _ACCOUNT_CHARS:
        return key
    return f"{key[:12]}:{hashlib.sha256(key.encode()).hexdigest()[: _ACCOUNT_CHARS - 13]}"


def non_finite(what: str, x: np.ndarray, tickers: Sequence[str], model: str) -> str | None:
    """Why ``x`` is refused (naming the model and the assets), or None when every value is finite."""
    ok = np.isfinite(x)
    if ok.all():
        return None
    cols = np.flatnonzero(~ok.all(axis=0)) if x.ndim == 2 else np.flatnonzero(~ok)
    names = [tickers[int(j)] if j < len(tickers) else str(j) for j in cols]
    values = ", ".join(f"{n}={v}" for n, v in zip(names, np.atleast_2d(x)[0, cols], strict=True))
    return f"non-finite {what} from model {model}: {values}"


def refuse_action_smoothing(smoothing: float, model: str) -> None:
    """ValueError for a model trained with ``env.action_smoothing`` > 0: the kernel keeps the smoothed actions
    per episode, a state the live bar loop does not carry across bars and restarts."""
    if smoothing > 0.0:
        raise ValueError(
            f"model {model}: env.action_smoothing = {smoothing} is a training and backtest setting (the "
            "kernel keeps the smoothed actions per episode); the live bar loop does not carry that state "
            "across bars and restarts, so it refuses such a model: trade one trained without smoothing (0)"
        )
