"""The one live guard: which broker endpoints can touch real money, and the grant they need.

A broker is *paper* only when it cannot reach a real account: ``sim`` and ``local`` (in-process), a venue's
declared paper/sandbox hosts (:attr:`~cappuccino_core.venues.base.Venue.paper_hosts`: Alpaca's paper host,
Coinbase's sandbox host), a loopback address (``127.0.0.1``, ``localhost``, ``::1``) or a host
listed in ``trading.paper_hosts``. Everything else (Coinbase's production host, an Alpaca URL that is not
its paper host, an unknown host) is *live*.

:func:`~cappuccino_core.trading.brokers.factory.make_broker` builds a live broker only with a
:class:`LiveGrant` issued by :func:`~cappuccino_core.trading.loop.live.check_live` (``trading.live_enabled``,
the explicit confirmation, no emergency stop, a model holding the arena's ``live`` role) and only while
``trading.live_enabled`` is still set, so every path that asks for a broker (CLI, flows, deployments,
environment overrides) meets the same check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cappuccino_core.venues import get_venue

if TYPE_CHECKING:
    from cappuccino_core.config.settings import Settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
_ISSUED = object()  # only check_live holds a grant with this token


class LiveRefused(RuntimeError):
    """Live trading was asked for without every condition; the message says which one failed."""


@dataclass(frozen=True)
class LiveGrant:
    """Permission to trade real money with model ``run_id`` and at most ``capital_fraction`` of the
    account. Build it with :func:`issue_grant` (called by ``check_live`` after every condition passed)."""

    run_id: str
    capital_fraction: float
    token: object = field(default=None, repr=False, compare=False)

    @property
    def issued(self) -> bool:
        """True only for a grant made by :func:`issue_grant` (a hand-built one does not count)."""
        return self.token is _ISSUED


def issue_grant(run_id: str, capital_fraction: float) -> LiveGrant:
    """For :func:`~cappuccino_core.trading.loop.live.check_live` only, once every condition held."""
    return LiveGrant(run_id, float(capital_fraction), _ISSUED)


def live_endpoint(settings: Settings, name: str, exchange_url: str | None = None) -> str | None:
    """The host a broker ``name`` (canonical) would trade on, when that host can touch real money; None
    for a paper broker."""
    declared = {h.lower() for h in settings.trading.paper_hosts} | LOOPBACK_HOSTS
    if name == "local":
        return None
    try:
        venue = get_venue(name)
    except ValueError:
        return name  # an unknown kind of broker is never assumed paper
    if venue.endpoint_host is None:  # in process
        return None
    host = venue.endpoint_host(settings, exchange_url)
    if host is None:  # the SDK's own paper default
        return None
    return None if host in declared | venue.paper_hosts else host


def require_grant(settings: Settings, name: str, exchange_url: str | None, grant: LiveGrant | None) -> None:
    """LiveRefused unless broker ``name`` is paper, or ``grant`` was issued and live is still enabled."""
    host = live_endpoint(settings, name, exchange_url)
    if host is None:
        return
    what = f"broker {name} at {host} trades real money"
    if not settings.trading.live_enabled:
        raise LiveRefused(f"{what}; live trading is disabled (trading.live_enabled = false)")
    if grant is None or not grant.issued:
        raise LiveRefused(
            f"{what}; it needs the live guard's grant: `cappuccino trade live --confirm-live` with a model "
            "holding the arena's live role (paper sessions never trade live)"
        )
