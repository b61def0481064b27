"""Arena page: the current champion and its win streak, bout history, roles over time and the audit log
(from the ``arena_standings`` table and the audit rows the referee writes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cappuccino_core.state.schema import ArenaStanding, AuditLog
from cappuccino_core.state.store import StateStore

# The role an arena action leaves its subject in (the referee's transitions, arena/*.py).
ACTION_ROLE = {
    "crown": "champion",
    "defend": "champion",
    "eliminate": "eliminated",
    "to_sandbox": "sandbox",
    "to_production": "production",
    "replace_production": "production",
    "go_live": "live",
    "ramp": "live",
    "demote": "demoted",
    "retire": "retired",
}
ROLE_ORDER = ("challenger", "champion", "sandbox", "production", "live", "demoted", "eliminated", "retired")


@dataclass(frozen=True)
class Bout:
    """One arena bout from the ``arena:`` audit rows: the two run ids, the winner, their scores (None when
    not scored) and the rule that decided it."""

    ts: datetime
    incumbent: str
    challenger: str
    winner: str
    incumbent_score: float | None
    challenger_score: float | None
    rule: str


@dataclass(frozen=True)
class RoleChange:
    """One arena role change from the ``arena:`` audit rows: when, which run, the audit action, the role it
    now holds and why."""

    ts: datetime
    run_id: str
    action: str
    role: str
    reason: str


@dataclass
class ArenaView:
    """Everything the arena page shows: the current champion with its win streak and matches, the standings
    (by role, then win streak), bouts, role changes and the newest audit rows."""

    champion: str | None
    champion_wins: int
    champion_matches: int
    standings: list[ArenaStanding]
    bouts: list[Bout]
    roles: list[RoleChange]
    audit: list[AuditLog]

    @property
    def empty(self) -> bool:
        """True when there are neither standings nor audit rows (nothing to show yet)."""
        return not self.standings and not self.audit


def _score(side: dict[str, Any]) -> float | None:
    v = side.get("score")
    return float(v) if isinstance(v, int | float) else None


def bouts(rows: list[AuditLog]) -> list[Bout]:
    """One bout per ``arena:defend`` (the champion won) or ``arena:crown`` carrying bout evidence (the
    challenger won); rows in time order."""
    out = []
    for r in rows:
        ev = r.evidence or {}
        if r.action not in ("arena:defend", "arena:crown") or "incumbent" not in ev:
            continue
        inc, chal = ev.get("incumbent") or {}, ev.get("challenger") or {}
        out.append(
            Bout(
                r.ts,
                str(inc.get("model", "")),
                str(chal.get("model", "")),
                str(ev.get("winner", r.subject)),
                _score(inc),
                _score(chal),
                str(ev.get("rule", r.reason)),
            )
        )
    return out


def role_changes(rows: list[AuditLog]) -> list[RoleChange]:
    """Every arena transition with the role it left its model in, in time order."""
    out = []
    for r in rows:
        if not r.action.startswith("arena:"):
            continue
        action = r.action.removeprefix("arena:")
        out.append(RoleChange(r.ts, r.subject, action, ACTION_ROLE.get(action, action), r.reason))
    return out


def arena_view(store: StateStore, audit_limit: int = 200) -> ArenaView:
    """Build the arena page's view from the state store: standings, bouts and role changes from the
    ``arena:`` audit rows, and the newest ``audit_limit`` audit rows."""
    with store.session() as s:
        standing_rows = list(s.scalars(select(ArenaStanding).order_by(ArenaStanding.updated)))
        arena_rows = list(
            s.scalars(select(AuditLog).where(AuditLog.action.like("arena:%")).order_by(AuditLog.id))
        )
        audit = list(s.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(audit_limit)))
    champs = [r for r in standing_rows if r.role == "champion"]
    champ = champs[-1] if champs else None
    return ArenaView(
        champion=champ.run_id if champ else None,
        champion_wins=champ.consecutive_wins if champ else 0,
        champion_matches=champ.matches if champ else 0,
        standings=sorted(
            standing_rows,
            key=lambda r: (ROLE_ORDER.index(r.role) if r.role in ROLE_ORDER else 99, -r.consecutive_wins),
        ),
        bouts=bouts(arena_rows),
        roles=role_changes(arena_rows),
        audit=audit,
    )
