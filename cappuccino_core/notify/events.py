"""Notification events: one small value per thing worth telling an operator, built where it happens.

An :class:`Event` has a kind (one of :data:`cappuccino_core.config.notify.EVENT_KINDS`), a key (what makes
two events "the same" for deduplication: e.g. the run id and gate), a title, a body and a severity. The
constructors below are the one place each event's wording lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cappuccino_core.config.notify import EVENT_KINDS

SEVERITIES = ("info", "success", "warning", "failure")


@dataclass(frozen=True)
class Event:
    """One notification-worthy event."""

    kind: str
    key: str
    title: str
    body: str
    severity: str = "info"
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind {self.kind!r} is not one of {', '.join(EVENT_KINDS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")


def gate_result(run_id: str, gate: str, passed: bool, explanation: str = "") -> Event:
    """A gate verdict for a candidate model."""
    word = "passed" if passed else "failed"
    return Event(
        "gate_passed" if passed else "gate_failed",
        f"{run_id}:{gate}:{word}",
        f"Gate {gate} {word}: {run_id}",
        explanation[:1500],
        "success" if passed else "warning",
        {"run_id": run_id, "gate": gate, "passed": passed},
    )


PROMOTING = ("to_sandbox", "to_production", "replace_production", "go_live", "ramp", "promote")
DEMOTING = ("demote", "retire", "override_demote")


def role_change(run_id: str, action: str, role: str | None, reason: str) -> Event | None:
    """A promotion or demotion (referee transitions); None for bookkeeping moves (bouts, eliminations)."""
    if action in PROMOTING:
        kind, sev = "promotion", "success"
    elif action in DEMOTING:
        kind, sev = "demotion", "warning"
    else:
        return None
    to = f" -> {role}" if role else ""
    return Event(
        kind, f"{run_id}:{action}:{role}", f"{kind.capitalize()} ({action}{to}): {run_id}", reason, sev,
        {"run_id": run_id, "action": action, "role": role},
    )  # fmt: skip


def emergency_stop(active: bool, who: str, reason: str) -> Event:
    """The emergency stop set (or cleared)."""
    word = "SET" if active else "cleared"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return Event(
        "emergency_stop", f"{word}:{stamp}", f"Emergency stop {word} by {who}", reason,
        "failure" if active else "info", {"active": active, "who": who},
    )  # fmt: skip


def degradation(run_id: str, venue: str, findings: dict[str, str]) -> Event:
    """A model trading worse than its backtest (the monitor's findings, one line each)."""
    names = ",".join(sorted(findings))
    body = "\n".join(f"- {k}: {v}" for k, v in sorted(findings.items()))
    return Event(
        "degradation", f"{run_id}:{venue}:{names}", f"Degradation of {run_id} ({venue}): {names}", body,
        "warning", {"run_id": run_id, "venue": venue, "findings": findings},
    )  # fmt: skip


def trader_error(component: str, error: str) -> Event:
    """The trader failed (an exception or a refused order)."""
    return Event(
        "trader_error", f"{component}:{error[:120]}", f"Trader error in {component}", error[:1500], "failure",
        {"component": component},
    )  # fmt: skip


def missed_heartbeat(component: str, last: datetime | None, max_age_s: float) -> Event:
    """A component's heartbeat is older than allowed (or missing)."""
    seen = "never" if last is None else last.isoformat(timespec="seconds")
    return Event(
        "missed_heartbeat", f"{component}:{seen}", f"Missed heartbeat: {component}",
        f"last heartbeat {seen}; allowed age {max_age_s:g} s", "failure",
        {"component": component, "last": seen},
    )  # fmt: skip


def stale_data(symbol: str, venue: str, last: datetime | None, age_h: float | None) -> Event:
    """A data feed whose newest bar is too old."""
    seen = "no bars" if last is None else f"last bar {last:%Y-%m-%d %H:%M} UTC, {age_h:.1f} h old"
    return Event(
        "stale_data", f"{venue}:{symbol}:{last}", f"Stale data: {venue} {symbol}", seen, "warning",
        {"symbol": symbol, "venue": venue, "age_h": age_h},
    )  # fmt: skip


def retrain_triggered(trigger: str, reason: str, flow_run: str | None) -> Event:
    """A retrain started by a trigger (degradation, account growth, data drift)."""
    return Event(
        "retrain_triggered", f"{trigger}:{flow_run}", f"Retrain triggered: {trigger}",
        f"{reason}\nflow run: {flow_run}", "info", {"trigger": trigger, "flow_run": flow_run},
    )  # fmt: skip


def daily_summary(day: str, lines: list[str]) -> Event:
    """The daily summary (one per UTC day: deduplicated on the date)."""
    return Event("daily_summary", day, f"Cappuccino daily summary {day}", "\n".join(lines), "info")


def high_tier_signal(asset: str, direction: int, confidence: float, bar_time_ns: int) -> Event:
    """A supervised forecaster's high-tier signal (deduplicated per asset and bar)."""
    when = datetime.fromtimestamp(bar_time_ns / 1e9, UTC).isoformat(timespec="minutes")
    word = "up" if direction > 0 else "down"
    return Event(
        "high_tier_signal", f"{asset}:{bar_time_ns}", f"High-tier signal: {asset} {word} ({confidence:.0%})",
        f"bar {when}: {asset} {word} with confidence {confidence:.3f}", "info",
        {"asset": asset, "direction": int(direction), "confidence": float(confidence),
         "time": int(bar_time_ns)},
    )  # fmt: skip
