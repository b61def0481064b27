"""The referee: the one place arena decisions become changes.

A decision is a :class:`Transition` (a model moves from one role to another, with the reason and the
evidence). :meth:`Referee.apply` makes it real, in this order: the arena standing in the state store, the
MLflow registry alias and a version tag (``arena.<action>`` = UTC time and reason), then the audit-log row
(actor, time, action, subject, reason, evidence). With ``dry_run=True`` it only records the transition in
:attr:`Referee.planned`; nothing in the state store or the registry changes.

Roles live in two places on purpose: MLflow aliases (one holder per alias) name the model a role loads,
and the ``arena_standings`` table keeps the tournament's bookkeeping (consecutive wins, matches,
elimination) and allows several sandbox models, of which the alias ``sandbox`` names the newest entrant.
Strategy contenders (ids ``strategy:...``, see :mod:`.contenders`) and the supervised ensemble
(``ensemble:...``, see :mod:`.ensemble_entry`) have standings and audit rows but no registry model: the
referee gives them no alias and no tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from cappuccino_core.state.schema import ArenaStanding
from cappuccino_core.state.store import StateStore

if TYPE_CHECKING:
    from cappuccino_core.registry.tracking import Tracking

CHALLENGER, CHAMPION, SANDBOX, PRODUCTION, LIVE = "challenger", "champion", "sandbox", "production", "live"
ELIMINATED, RETIRED = "eliminated", "retired"  # standing roles only (no alias)
DEMOTED = "demoted"  # a production model the monitor demoted (it keeps the alias until replaced)


class RoleBook(Protocol):
    """Who holds each role in the model registry (run ids)."""

    def holder(self, role: str) -> str | None:
        """The run id holding ``role``, or None."""
        ...

    def assign(self, run_id: str, role: str) -> None:
        """Give ``role`` to ``run_id``."""
        ...

    def clear(self, role: str) -> None:
        """Take ``role`` from its holder."""
        ...

    def tag(self, run_id: str, key: str, value: str) -> None:
        """Tag the run's registered model version."""
        ...


class MlflowRoleBook:
    """:class:`RoleBook` over the MLflow registry (``cappuccino_core.registry.roles``)."""

    def __init__(self, tracking: Tracking) -> None:
        self.tracking = tracking

    def holder(self, role: str) -> str | None:
        """The run id holding ``role`` (its MLflow alias), or None."""
        from cappuccino_core.registry.roles import get_role

        info = get_role(role, tracking=self.tracking)
        return None if info is None else info.run_id

    def assign(self, run_id: str, role: str) -> None:
        """Point the ``role`` alias at the run's model version."""
        from cappuccino_core.registry.roles import set_role

        set_role(run_id, role, tracking=self.tracking)

    def clear(self, role: str) -> None:
        """Remove the ``role`` alias."""
        from cappuccino_core.registry.roles import clear_role

        clear_role(role, tracking=self.tracking)

    def tag(self, run_id: str, key: str, value: str) -> None:
        """Tag the run's model version (values cut to 5000 characters, MLflow's limit)."""
        from cappuccino_core.registry.roles import find_version

        info = find_version(run_id, tracking=self.tracking)
        client = self.tracking.activate()
        client.set_model_version_tag(info.name, info.version, key, value[:5000])


@dataclass(frozen=True)
class Transition:
    """One change of a model's standing: the new role, why, the evidence, and the aliases to set or clear."""

    run_id: str
    action: str  # crown | win | eliminate | to_sandbox | replace_production | go_live | ramp | demote | ...
    role: str | None  # the standing role after the transition (None: unchanged)
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None  # MLflow alias to give run_id
    clear_alias: str | None = None  # MLflow alias to remove from its holder
    wins: int | None = None  # consecutive wins after the transition (None: unchanged)
    matched: bool = False  # count one more match


# --- standings ---------------------------------------------------------------------------------------
def standing(store: StateStore, run_id: str) -> ArenaStanding | None:
    """A model's standing row, or None."""
    with store.session() as s:
        return s.get(ArenaStanding, run_id)


def standings(store: StateStore, role: str | None = None) -> list[ArenaStanding]:
    """Every standing row (of ``role``, when given), oldest update first."""
    with store.session() as s:
        q = select(ArenaStanding).order_by(ArenaStanding.updated)
        if role is not None:
            q = q.where(ArenaStanding.role == role)
        return list(s.scalars(q))


def holders(store: StateStore, role: str) -> list[str]:
    """Run ids holding ``role`` in the state store, oldest update first."""
    return [r.run_id for r in standings(store, role)]


def production_holder(store: StateStore, roles: RoleBook | None) -> str | None:
    """The current production model: its arena standing, else the registry alias (a production model set
    outside the arena, e.g. by hand). More than one production standing is an error."""
    prods = holders(store, PRODUCTION)
    if len(prods) > 1:
        raise RuntimeError(f"state store holds {len(prods)} production models {prods}; exactly one allowed")
    if prods:
        return prods[0]
    return roles.holder(PRODUCTION) if roles is not None else None


class Referee:
    """Applies transitions: the standing row, the audit log and the registry aliases; ``dry_run`` only
    records."""

    def __init__(
        self,
        store: StateStore,
        roles: RoleBook | None,
        actor: str = "arena",
        dry_run: bool = False,
        notifier: Any = None,
    ):
        self.store, self.roles, self.actor, self.dry_run = store, roles, actor, dry_run
        self.notifier = notifier  # a cappuccino_core.notify.Notifier: promotions and demotions
        self.planned: list[Transition] = []
        self.applied: list[Transition] = []

    def apply(self, t: Transition) -> None:
        """Apply one transition (or, in a dry run, only record it in ``planned``)."""
        self.planned.append(t)
        if self.dry_run:
            return
        with self.store.session() as s:
            row = s.get(ArenaStanding, t.run_id)
            if row is None:
                row = ArenaStanding(run_id=t.run_id, role=t.role or CHALLENGER, consecutive_wins=0, matches=0)
                s.add(row)
            if t.role is not None:
                row.role = t.role
                row.eliminated = t.role == ELIMINATED
            if t.wins is not None:
                row.consecutive_wins = t.wins
            if t.matched:
                row.matches = (row.matches or 0) + 1
        unregistered = t.run_id.startswith(("strategy:", "ensemble:"))  # no registry model to alias or tag
        if self.roles is not None and not unregistered:
            if t.clear_alias is not None and self.roles.holder(t.clear_alias) == t.run_id:
                self.roles.clear(t.clear_alias)
            if t.alias is not None:
                self.roles.assign(t.run_id, t.alias)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            self.roles.tag(t.run_id, f"arena.{t.action}", f"{now} {t.reason}")
        self.store.audit(self.actor, f"arena:{t.action}", t.run_id, t.reason, **t.evidence)
        self.applied.append(t)
        if self.notifier is not None:
            from cappuccino_core.notify.events import role_change

            event = role_change(t.run_id, t.action, t.role or t.alias, t.reason)
            if event is not None:
                self.notifier.notify(event)
