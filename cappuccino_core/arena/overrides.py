"""Manual overrides by an operator: promote or demote a model to a role, mark a candidate's gate failed or
skipped, pause or resume auto-promotion. Each is an audit-log row (actor ``operator:<who>``, time, action
``override:...``, reason) besides the change itself; role changes go through the :class:`Referee` like the
arena's own (standing, registry alias and tag, audit row, notification).

Rules kept by hand as by the arena: live is never given here (it needs the green light: ``cappuccino arena
go-live``), production is never left empty (demote it by promoting another model to production), and the
previous production is retired (and loses live) when another model is promoted to production.
"""

from __future__ import annotations

from cappuccino_core.arena.referee import (
    CHALLENGER,
    CHAMPION,
    ELIMINATED,
    LIVE,
    PRODUCTION,
    RETIRED,
    SANDBOX,
    Referee,
    Transition,
    standing,
)
from cappuccino_core.state.store import StateStore

AUTO_PROMOTION_PAUSED = "auto_promotion_paused"
PROMOTE_ROLES = (CHALLENGER, CHAMPION, SANDBOX, PRODUCTION)
DEMOTE_ROLES = (CHALLENGER, CHAMPION, SANDBOX, ELIMINATED, RETIRED)
ALIASED = (CHALLENGER, CHAMPION, SANDBOX, PRODUCTION)
GATE_OVERRIDES = ("failed", "skipped")


class OverrideRefused(ValueError):
    """An override that would break a rule (live without green light, no production, unknown role)."""


def _why(reason: str) -> str:
    if not reason.strip():
        raise OverrideRefused("an override needs a reason (--reason)")
    return reason.strip()


def _current(referee: Referee, run_id: str) -> str | None:
    row = standing(referee.store, run_id)
    if row is not None:
        return row.role
    if referee.roles is not None:
        return next((r for r in ALIASED if referee.roles.holder(r) == run_id), None)
    return None


def promote(referee: Referee, run_id: str, role: str, who: str, reason: str) -> list[Transition]:
    """Give ``run_id`` the ``role`` (not live); returns the transitions applied."""
    why = _why(reason)
    if role == LIVE:
        raise OverrideRefused("live needs the green light: `cappuccino arena go-live --confirm-live`")
    if role not in PROMOTE_ROLES:
        raise OverrideRefused(f"cannot promote to {role!r}; roles: {', '.join(PROMOTE_ROLES)}")
    ev = {"who": who, "manual": True, "from": _current(referee, run_id)}
    done: list[Transition] = []
    prev = referee.roles.holder(PRODUCTION) if referee.roles is not None and role == PRODUCTION else None
    if prev is not None and prev != run_id:
        if referee.roles is not None and referee.roles.holder(LIVE) == prev:
            done.append(Transition(prev, "demote", None, f"{who}: production moved to {run_id}: {why}",
                                   {**ev, "capital_fraction": 0.0}, clear_alias=LIVE))  # fmt: skip
        done.append(Transition(prev, "override_demote", RETIRED, f"{who}: replaced by {run_id}: {why}", ev))
    old = ev["from"]
    clear = old if old in ALIASED and old not in (role, PRODUCTION) else None
    done.append(Transition(run_id, "promote", role, f"{who}: {why}", ev, alias=role, clear_alias=clear))
    for t in done:
        referee.apply(t)
    return done


def demote(referee: Referee, run_id: str, role: str, who: str, reason: str) -> list[Transition]:
    """Move ``run_id`` down to ``role`` (or withdraw live with ``role='paper'``); returns the transitions."""
    why = _why(reason)
    is_live = referee.roles is not None and referee.roles.holder(LIVE) == run_id
    ev = {"who": who, "manual": True, "from": _current(referee, run_id)}
    if role == "paper":
        if not is_live:
            raise OverrideRefused(f"{run_id} is not live: nothing to withdraw")
        t = Transition(
            run_id, "demote", None, f"{who}: {why}", {**ev, "capital_fraction": 0.0}, clear_alias=LIVE
        )
        referee.apply(t)
        return [t]
    if role not in DEMOTE_ROLES:
        raise OverrideRefused(
            f"cannot demote to {role!r}; roles: paper (off live), {', '.join(DEMOTE_ROLES)}"
        )
    if ev["from"] == PRODUCTION or (referee.roles is not None and referee.roles.holder(PRODUCTION) == run_id):
        raise OverrideRefused(
            f"{run_id} is production and exactly one production is kept: promote another model to production"
        )
    old = ev["from"]
    clear = old if old in ALIASED and old != role else None
    t = Transition(run_id, "override_demote", role, f"{who}: {why}", ev,
                   alias=role if role in ALIASED else None, clear_alias=clear)  # fmt: skip
    referee.apply(t)
    return [t]


def override_gate(store: StateStore, run_id: str, gate: str, status: str, who: str, reason: str) -> None:
    """Record an operator's verdict for ``gate``: ``failed`` (the candidate is out) or ``skipped`` (the
    gate is waived: it counts as passed for arena entry). Both name the operator and the reason."""
    why = _why(reason)
    if status not in GATE_OVERRIDES:
        raise OverrideRefused(f"gate override must be one of {', '.join(GATE_OVERRIDES)}, got {status!r}")
    figures = {"status": status, "override": True, "who": who, "explanation": f"{status} by {who}: {why}"}
    store.record_verdict(run_id, gate, status == "skipped", {"override": True}, figures,
                         {} if status == "skipped" else {"override": why})  # fmt: skip
    store.audit(f"operator:{who}", f"override:gate_{status}", run_id, why, gate=gate)


def set_auto_promotion(store: StateStore, enabled: bool, who: str, reason: str) -> None:
    """Pause (``enabled=False``) or resume the arena's automatic promotions (to sandbox, to production)."""
    why = _why(reason)
    store.set_flag(AUTO_PROMOTION_PAUSED, not enabled, f"operator:{who}", why)
    store.audit(f"operator:{who}", f"override:auto_promotion={'on' if enabled else 'off'}", "arena", why)


def auto_promotion_paused(store: StateStore) -> bool:
    """True while an operator has paused automatic promotions."""
    return store.flag(AUTO_PROMOTION_PAUSED)
