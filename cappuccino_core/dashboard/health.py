"""Health page: data staleness per symbol, trader heartbeats and account leases, the last flow runs (from
the Prefect REST API when it answers; "not reachable" otherwise) and the emergency stop.

The emergency stop is the project's one mechanism: the ``emergency_stop`` (and ``emergency_flatten``) flags
of the state store, which every trader reads before each bar (``BarLoop.stop_flags``), the arena and the
live green light check; setting it writes an audit row, exactly as ``cappuccino trade stop`` does.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from cappuccino_core.dashboard.sources import Sources
from cappuccino_core.notify.notifier import Notifier
from cappuccino_core.notify.stop import set_emergency_stop as notify_stop
from cappuccino_core.state.schema import Flag, Heartbeat, LeaseRow
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore

TOKEN_ENV = "CAPPUCCINO_DASHBOARD_TOKEN"
FLATTEN_FLAG = "emergency_flatten"
DEFAULT_PREFECT_API = "http://127.0.0.1:4200/api"  # `prefect server start`
PREFECT_TIMEOUT_S = 0.5


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StopState:
    """The emergency stop as stored: whether trading is stopped, whether positions are to be flattened, and
    when (UTC), by whom and why it was set."""

    stopped: bool
    flatten: bool
    ts: datetime | None
    set_by: str | None
    reason: str | None


def stop_state(store: StateStore) -> StopState:
    """The emergency-stop and flatten flags from the state store (not stopped, no details, when never set)."""
    with store.session() as s:
        stop = s.get(Flag, EMERGENCY_STOP)
        flat = s.get(Flag, FLATTEN_FLAG)
    if stop is None:
        return StopState(False, False, None, None, None)
    return StopState(
        bool(stop.value), bool(flat and flat.value), _utc(stop.ts), stop.set_by, stop.reason or ""
    )


class ControlRefused(PermissionError):
    """The stop/resume control refused the request (no token configured, or a wrong one)."""


def control_disabled_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the stop/resume control is disabled (None: enabled)."""
    env = os.environ if environ is None else environ
    if not env.get(TOKEN_ENV):
        return f"disabled: set {TOKEN_ENV} in the dashboard's environment to enable stop/resume"
    return None


def set_emergency_stop(
    store: StateStore,
    stop: bool,
    token: str,
    reason: str = "",
    flatten: bool = False,
    environ: Mapping[str, str] | None = None,
    notifier: Notifier | None = None,
) -> StopState:
    """Set (``stop``) or lift the emergency stop when ``token`` matches ``$CAPPUCCINO_DASHBOARD_TOKEN``.

    The same flags, audit rows and ``emergency_stop`` notification as ``cappuccino trade stop|resume``
    (actor ``dashboard``)."""
    env = os.environ if environ is None else environ
    expected = env.get(TOKEN_ENV, "")
    if not expected:
        raise ControlRefused(control_disabled_reason(env))
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ControlRefused("wrong token: the emergency stop was not changed")
    why = reason.strip() or ("dashboard stop" if stop else "dashboard resume")
    store.set_flag(FLATTEN_FLAG, stop and flatten, set_by="dashboard", reason=why)  # before the stop lands
    notify_stop(store, stop, "dashboard", why, notifier)
    return stop_state(store)


@dataclass(frozen=True)
class Beat:
    """A component's last heartbeat: its time (UTC), its age in seconds at the page's ``now`` and its
    detail payload."""

    component: str
    ts: datetime
    age_s: float
    detail: dict[str, Any]


def heartbeats(store: StateStore, now: datetime) -> list[Beat]:
    """Every component's last heartbeat, by component name, with its age in seconds at ``now``."""
    with store.session() as s:
        rows = list(s.scalars(select(Heartbeat).order_by(Heartbeat.component)))
    return [
        Beat(r.component, _utc(r.ts), (now - _utc(r.ts)).total_seconds(), dict(r.detail or {})) for r in rows
    ]


def leases(store: StateStore, now_epoch: float) -> list[dict[str, Any]]:
    """Account leases: holder, host/pid, seconds since its heartbeat, whether it has expired."""
    with store.session() as s:
        rows = list(s.scalars(select(LeaseRow).order_by(LeaseRow.account)))
    return [
        {
            "account": r.account,
            "holder": r.holder,
            "where": f"{r.host}:{r.pid}",
            "beat_age_s": now_epoch - r.heartbeat_at,
            "expired": now_epoch > r.expires_at,
        }
        for r in rows
    ]


@dataclass
class FlowRuns:
    """Prefect flow runs read from the API at ``api``; ``reachable`` False (with ``error``) when it did not
    answer."""

    reachable: bool
    api: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def flow_runs(api: str | None = None, limit: int = 10, timeout: float = PREFECT_TIMEOUT_S) -> FlowRuns:
    """The newest flow runs from the Prefect REST API (``PREFECT_API_URL``); never raises."""
    import httpx

    url = (api or os.environ.get("PREFECT_API_URL") or DEFAULT_PREFECT_API).rstrip("/")
    try:
        with httpx.Client(timeout=timeout) as c:
            r = c.post(f"{url}/flow_runs/filter", json={"limit": limit, "sort": "START_TIME_DESC"})
            r.raise_for_status()
            runs = r.json()
            ids = sorted({x["flow_id"] for x in runs if x.get("flow_id")})
            names: dict[str, str] = {}
            if ids:
                f = c.post(f"{url}/flows/filter", json={"flows": {"id": {"any_": ids}}})
                f.raise_for_status()
                names = {x["id"]: x["name"] for x in f.json()}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return FlowRuns(False, url, error=f"{type(exc).__name__}: {exc}")
    out = [
        {
            "flow": names.get(x.get("flow_id", ""), "?"),
            "name": x.get("name"),
            "state": x.get("state_name") or x.get("state_type"),
            "start": x.get("start_time"),
            "end": x.get("end_time"),
            "seconds": x.get("total_run_time"),
        }
        for x in runs
    ]
    return FlowRuns(True, url, out)


@dataclass
class HealthView:
    """Everything the health page shows: the stop state, why the controls are disabled (None: enabled),
    data staleness with a note, heartbeats, leases and Prefect flow runs."""

    stop: StopState
    control_disabled: str | None
    staleness: list[Any]
    staleness_note: str | None
    heartbeats: list[Beat]
    leases: list[dict[str, Any]]
    flows: FlowRuns


def staleness(src: Sources, now: datetime) -> tuple[list[Any], str | None]:
    """Per-ticker data freshness of the configured venue and timeframe at ``now``, and a note when no bars
    are stored yet (else None)."""
    from cappuccino_core.data.freshness import data_window
    from cappuccino_core.data.store import BarStore

    d = src.settings.data
    rows = data_window(BarStore(src.settings.paths.data_root), d.venue, d.tickers, d.timeframe,
                       d.stale_after_bars, now=now)  # fmt: skip
    note = None if any(r.last for r in rows) else "no stored bars yet (cappuccino data ingest stores them)"
    return rows, note


def health_view(src: Sources, now: datetime | None = None) -> HealthView:
    """Build the health page's view at ``now`` (default: the current UTC time)."""
    now = now or datetime.now(UTC)
    rows, note = staleness(src, now)
    return HealthView(
        stop=stop_state(src.store),
        control_disabled=control_disabled_reason(),
        staleness=rows,
        staleness_note=note,
        heartbeats=heartbeats(src.store, now),
        leases=leases(src.store, time.time()),
        flows=flow_runs(),
    )
