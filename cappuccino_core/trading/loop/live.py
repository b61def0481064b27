"""The live guard and the capital cap.

Live trading needs ALL of: ``trading.live_enabled`` in the configuration, the explicit ``--confirm-live``
flag, no emergency stop, and a model holding the arena's ``live`` role with a capital fraction > 0 (the
green light, :mod:`cappuccino_core.arena.live`). :func:`check_live` says which condition failed, and its
grant is what the broker factory asks for before it builds any broker that can touch real money
(:mod:`cappuccino_core.trading.brokers.live_guard`).

:class:`CappedBroker` makes the loop see only ``capital_fraction`` of the account: the rest of the cash at
start is held back, so the loop's equity (cash + holdings) -- and every order sized from it -- is capped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cappuccino_core.arena.live import live_status
from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.trading.brokers.base import Broker
from cappuccino_core.trading.brokers.live_guard import LiveGrant, LiveRefused, issue_grant

__all__ = ["CappedBroker", "LiveGrant", "LiveRefused", "check_live"]


def check_live(
    trading: TradingConfig, referee: Any | Callable[[], Any], *, confirm: bool, model: str | None = None
) -> LiveGrant:
    """The live model and its capital fraction, or :class:`LiveRefused` naming the missing condition.

    ``referee`` is an arena :class:`~cappuccino_core.arena.referee.Referee` (its state store and role book);
    ``model`` (a run id), when given, must be the model that holds the live role. ``referee`` may be a
    callable that builds it: it is only called once the configuration and the flag have passed."""
    if not trading.live_enabled:
        raise LiveRefused("live trading is disabled: set trading.live_enabled = true in the configuration")
    if not confirm:
        raise LiveRefused("live trading needs the explicit --confirm-live flag")
    if callable(referee) and not hasattr(referee, "store"):
        referee = referee()
    if referee.store.emergency_stopped():
        raise LiveRefused("the emergency stop is set (cappuccino trade resume lifts it)")
    st = live_status(referee)
    if st.run_id is None:
        raise LiveRefused("no model holds the live role: the arena's green light has not been given")
    if model not in (None, "", "live") and model != st.run_id:
        raise LiveRefused(f"model {model} does not hold the live role (the live model is {st.run_id})")
    if st.capital_fraction <= 0:
        raise LiveRefused(f"live model {st.run_id} has capital fraction 0 (demoted or not ramped)")
    return issue_grant(st.run_id, float(st.capital_fraction))


class CappedBroker:
    """A broker whose ``cash`` hides ``(1 - fraction)`` of the account's equity at start (every other
    method is the inner broker's), so the loop never deploys more than ``fraction`` of the account."""

    def __init__(self, inner: Broker, fraction: float) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"capital fraction must be in (0, 1]; got {fraction}")
        self.inner, self.fraction = inner, float(fraction)
        self.name, self.fee_rate = inner.name, inner.fee_rate
        self.reserve = (1.0 - self.fraction) * float(inner.account().equity)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def cash(self) -> float:
        return max(0.0, float(self.inner.cash()) - self.reserve)
