"""The notifier: apprise delivery with deduplication and a rate limit, every outcome in the state store.

``notify(event)`` never raises: a failed delivery is logged (target URLs masked) and recorded with status
``failed``; trading goes on. Before delivering it looks at the ``notifications`` table:

* dedupe: an event of the same kind and key sent within ``dedupe_window_s`` -> ``deduplicated``;
* rate limit: ``rate_limit`` events of this kind sent within ``rate_window_s`` -> ``rate_limited``
  (kinds in ``always_deliver``, e.g. the emergency stop, are exempt).

Each target gets the events listed in its ``events``. Status of a delivered event: ``sent`` (every target
took it), ``partial`` or ``failed``. Collaborators receive a :class:`Notifier`; :class:`NullNotifier` sends
nothing (the default where none is given).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select

from cappuccino_core.config.notify import NotifyConfig, TargetConfig
from cappuccino_core.notify.events import Event
from cappuccino_core.notify.secrets import MaskSecrets, SecretResolver, env_resolver
from cappuccino_core.state.schema import NotificationRow
from cappuccino_core.state.store import StateStore

log = logging.getLogger("cappuccino.notify")
_MASK = MaskSecrets()
log.addFilter(_MASK)
logging.getLogger("apprise").addFilter(_MASK)
_TYPES = {"info": "info", "success": "success", "warning": "warning", "failure": "failure"}
DELIVERED = ("sent", "partial")


class Notifier(Protocol):
    """What collaborators call: returns the outcome (sent, failed, deduplicated, rate_limited, ...)."""

    def notify(self, event: Event) -> str:
        """Deliver ``event`` without raising; returns the outcome (sent, partial, failed, deduplicated,
        rate_limited, disabled, no_targets)."""
        ...


class NullNotifier:
    """Sends nothing, records nothing."""

    def notify(self, event: Event) -> str:
        """Send nothing; always returns 'disabled'."""
        return "disabled"


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class AppriseNotifier:
    """Delivers :class:`Event` s to the configured targets through apprise (see the module docstring)."""

    def __init__(
        self,
        cfg: NotifyConfig,
        store: StateStore,
        resolve: SecretResolver = env_resolver,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.cfg, self.store, self.resolve = cfg, store, resolve
        self.clock = clock or (lambda: datetime.now(UTC))

    def notify(self, event: Event) -> str:
        """Deliver ``event`` to its targets after dedupe and rate limit and record it; returns the outcome
        ('failed' on any error, never raises)."""
        try:
            return self._notify(event)
        except Exception as exc:  # never let a notification stop the caller
            log.warning("notification %s (%s) not handled: %s", event.kind, event.key, exc)
            return "failed"

    def _notify(self, event: Event) -> str:
        if not self.cfg.enabled:
            return self._record(event, "disabled", {}, "")
        targets = [t for t in self.cfg.targets if event.kind in t.events]
        if not targets:
            return self._record(event, "no_targets", {}, "")
        now = self.clock()
        if self.cfg.dedupe_window_s > 0 and self._count(
            event, now - timedelta(seconds=self.cfg.dedupe_window_s), True
        ):
            return self._record(event, "deduplicated", {}, "")
        if event.kind not in self.cfg.always_deliver:
            since = now - timedelta(seconds=self.cfg.rate_window_s)
            if self._count(event, since, False) >= self.cfg.rate_limit:
                return self._record(event, "rate_limited", {}, "")
        results = {t.name: self._deliver(t, event) for t in targets}
        ok = [n for n, r in results.items() if r == "sent"]
        status = "sent" if len(ok) == len(results) else ("partial" if ok else "failed")
        errors = "; ".join(f"{n}: {r}" for n, r in results.items() if r != "sent")
        if errors:
            log.warning("notification %s (%s): delivery failed: %s", event.kind, event.key, errors)
        return self._record(event, status, results, errors)

    def _count(self, event: Event, since: datetime, same_key: bool) -> int:
        q = select(func.count(NotificationRow.id)).where(
            NotificationRow.event == event.kind,
            NotificationRow.status.in_(DELIVERED),
            NotificationRow.ts >= since,
        )
        if same_key:
            q = q.where(NotificationRow.key == event.key[:256])
        with self.store.session() as s:
            return int(s.scalar(q) or 0)

    def _deliver(self, target: TargetConfig, event: Event) -> str:
        import apprise

        url = self.resolve(target)
        if not url:
            where = target.url_env or target.secret_block
            return f"no URL ({where} is not set)"
        _MASK.add(url)
        a = apprise.Apprise()
        if not a.add(url):
            return f"apprise refused the {target.kind} URL"
        for server in a:
            server.socket_connect_timeout = server.socket_read_timeout = self.cfg.timeout_s
        try:
            ok = a.notify(
                title=event.title, body=event.body or event.title, notify_type=_TYPES[event.severity]
            )
        except Exception as exc:  # a plugin bug must not escape
            return f"error {type(exc).__name__}: {_MASK.scrub(str(exc))}"
        return "sent" if ok else "delivery failed"

    def _record(self, event: Event, status: str, results: dict[str, Any], error: str) -> str:
        with self.store.session() as s:
            s.add(
                NotificationRow(
                    ts=self.clock(), event=event.kind, key=event.key[:256], severity=event.severity,
                    title=event.title[:256], body=event.body, status=status, targets=results,
                    error=_MASK.scrub(error),
                )
            )  # fmt: skip
        return status


def notifier_from_settings(settings: Any, resolve: SecretResolver = env_resolver) -> Notifier:
    """An :class:`AppriseNotifier` on the settings' state store (the ``notify`` section)."""
    return AppriseNotifier(settings.notify, StateStore(settings.paths.state_url), resolve)


def recent_notifications(store: StateStore, limit: int = 100) -> list[NotificationRow]:
    """The newest rows of the notifications table (what the dashboard shows)."""
    with store.session() as s:
        rows = list(s.scalars(select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit)))
    for r in rows:
        r.ts = _utc(r.ts)
    return rows
