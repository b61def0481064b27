"""Maker-first execution: a post-only limit at the touch, wait up to ``maker_wait_s`` for it to fill,
cancel, re-quote (at most ``maker_requotes`` times), then take the rest with a marketable order (or give up,
``maker_fallback="cancel"``). Child orders get ids derived from the parent's (``<parent>-m0``, ``-m1``,
``-t``), so a restart resumes from the legs the venue already has instead of placing new ones.

Never two legs that may both fill: a canceled quote is polled until the venue reports a final state (a
cancel can be queued while fills still arrive, Coinbase's ``CANCEL_QUEUED``); if it is still live after
``maker_cancel_wait_s`` the order stops with :class:`LegStillLive` (no re-quote, no fallback) and the
bar loop reports the error.

The venue is reached through :class:`Legs` (the Coinbase broker implements it); the outcome is one
:class:`Order` under the parent's client order id, aggregating every leg."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.trading.brokers.base import BrokerError, Order, Quote, Side
from cappuccino_core.trading.brokers.client_ids import leg_id

log = logging.getLogger(__name__)


class LegStillLive(BrokerError):
    """A canceled leg did not reach a final state in time: it may still fill, so nothing else is placed."""

    def __init__(self, order: Order, waited_s: float) -> None:
        super().__init__(
            f"maker leg {order.client_order_id} ({order.broker_order_id}) still {order.status} "
            f"{waited_s:g}s after its cancel (filled {order.filled_qty:g} of {order.qty:g}); "
            "no further leg placed, check the venue"
        )
        self.order = order


class Legs(Protocol):
    """What the maker-first order flow needs of a venue: quotes, the venue's rounding, and one leg at a
    time."""

    def quote(self, asset: str) -> Quote:
        """Top of book for ``asset``."""
        ...

    def round_qty(self, asset: str, qty: float) -> float:
        """``qty`` rounded down to the venue's base increment."""
        ...

    def round_price(self, asset: str, price: float, side: str) -> float:
        """``price`` rounded to the venue's price increment, away from crossing for ``side``."""
        ...

    def place_leg(
        self, coid: str, asset: str, side: str, qty: float, limit_price: float | None, post_only: bool
    ) -> Order:
        """Place one leg (a limit, post-only when asked, or a market order when ``limit_price`` is None)."""
        ...

    def leg(self, coid: str) -> Order | None:
        """A leg's state now, None if the venue never saw ``coid``."""
        ...

    def cancel_leg(self, order: Order) -> Order:
        """Cancel a live leg; its state afterwards."""
        ...


def combine(parent: str, asset: str, side: Side, qty: float, legs: list[Order], *, done: bool) -> Order:
    """One Order for the parent: quantities, value and fees summed; MAKER only if every filled leg was."""
    filled = sum(o.filled_qty for o in legs)
    value = sum(o.filled_qty * (o.avg_price or 0.0) for o in legs)
    makers = [o.liquidity for o in legs if o.filled_qty > 0]
    live = any(o.is_live for o in legs)
    if filled > 0 and filled >= qty * (1 - 1e-9):
        status = "filled"
    elif live:
        status = "partially_filled" if filled > 0 else "open"
    elif legs and all(o.status == "rejected" for o in legs):
        status = "rejected"
    else:
        status = "canceled" if done else ("partially_filled" if filled > 0 else "new")
    return Order(
        client_order_id=parent,
        asset=asset,
        side=side,
        qty=qty,
        status=status,
        order_type="market",
        broker_order_id=legs[-1].broker_order_id if legs else None,
        filled_qty=filled,
        avg_price=value / filled if filled > 0 else None,
        fee=sum(o.fee for o in legs),
        liquidity=("MAKER" if all(m == "MAKER" for m in makers) else "TAKER") if makers else None,
        reason=legs[-1].reason if legs else None,
        time=legs[-1].time if legs else None,
    )


QTY_BELOW_LOT = "QTY_BELOW_BASE_INCREMENT"
POST_ONLY_CROSS = "INVALID_LIMIT_PRICE_POST_ONLY"


def work(
    venue: Legs,
    cfg: TradingConfig,
    parent: str,
    asset: str,
    side: Side,
    qty: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Order:
    """Execute ``qty`` maker-first; resumable (legs the venue already has are reused, never re-placed)."""
    rounded = venue.round_qty(asset, qty)
    if rounded <= 0:  # a business rejection, like the venue's own (never an exception mid-bar)
        return Order(parent, asset, side, qty, "rejected", reason=QTY_BELOW_LOT)
    qty = rounded
    legs: list[Order] = []
    for k in range(cfg.maker_requotes + 1):
        existing = venue.leg(leg_id(parent, k))
        if existing is None:
            break
        legs.append(existing)
    taker = venue.leg(leg_id(parent, 0, "t"))

    def remaining() -> float:
        return venue.round_qty(
            asset, qty - sum(o.filled_qty for o in legs) - (taker.filled_qty if taker else 0)
        )

    if taker is None:
        for k in range(len(legs), cfg.maker_requotes + 1):
            if legs and legs[-1].is_live:  # resumed with a live quote: settle it first
                legs[-1] = _rest(venue, cfg, legs[-1], sleep)
            left = remaining()
            if left <= 0:
                break
            q = venue.quote(asset)
            px = venue.round_price(asset, q.bid if side == "buy" else q.ask, side)
            o = venue.place_leg(leg_id(parent, k), asset, side, left, px, True)
            if o.status == "rejected":
                legs.append(o)
                if not str(o.reason or "").startswith(POST_ONLY_CROSS):  # size, funds, mode: final
                    log.warning("maker quote %s refused (%s); order stops", o.client_order_id, o.reason)
                    return combine(parent, asset, side, qty, legs, done=True)
                log.info("maker quote %s rejected (%s); re-quoting", o.client_order_id, o.reason)
                continue
            legs.append(_rest(venue, cfg, o, sleep))
        if legs and legs[-1].is_live:
            legs[-1] = _rest(venue, cfg, legs[-1], sleep)
        left = remaining()
        if left > 0 and cfg.maker_fallback == "market":
            taker = venue.place_leg(leg_id(parent, 0, "t"), asset, side, left, None, False)
    all_legs = [o for o in legs if o.status != "rejected" or o.filled_qty > 0] + ([taker] if taker else [])
    return combine(parent, asset, side, qty, all_legs or legs, done=True)


def _rest(venue: Legs, cfg: TradingConfig, o: Order, sleep: Callable[[float], None]) -> Order:
    """Let a quote rest up to ``maker_wait_s``; cancel what is left and wait for a final state."""
    waited = 0.0
    while o.is_live and waited < cfg.maker_wait_s:
        step = min(cfg.maker_poll_s, cfg.maker_wait_s - waited)
        sleep(step)
        waited += step
        o = venue.leg(o.client_order_id) or o
    return settle(venue, cfg, o, sleep) if o.is_live else o


def settle(venue: Legs, cfg: TradingConfig, o: Order, sleep: Callable[[float], None]) -> Order:
    """Cancel a live leg, then poll it until the venue reports a final state (fills may still arrive while
    the cancel is pending). Raises :class:`LegStillLive` if it is still live after ``maker_cancel_wait_s``."""
    o = venue.cancel_leg(o)
    waited = 0.0
    while o.is_live and waited < cfg.maker_cancel_wait_s:
        step = min(cfg.maker_poll_s, cfg.maker_cancel_wait_s - waited)
        sleep(step)
        waited += step
        o = venue.leg(o.client_order_id) or o
    if o.is_live:
        err = LegStillLive(o, waited)
        log.error("%s", err)
        raise err
    return o
