"""`cappuccino pipeline promote|demote|gate|auto-promotion|audit`: audited manual overrides.

Each override is an audit-log row naming who (``--who``, default ``$USER``), when and why (``--reason``,
required). Live is never given here: it needs the green light (``cappuccino arena go-live``).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit

Reason = typer.Option(..., "--reason", help="why (kept in the audit log)")


def _who(who: str | None) -> str:
    if who:
        return who
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "operator"


Who = typer.Option(None, "--who", help="who is overriding (default: the login name)")


def _referee(config: Path | None, who: str):
    from cappuccino_core.arena import MlflowRoleBook, Referee
    from cappuccino_core.notify import notifier_from_settings
    from cappuccino_core.registry import Tracking
    from cappuccino_core.state import StateStore

    s = settings_or_exit(config)
    roles = MlflowRoleBook(Tracking.from_settings(s))
    return Referee(
        StateStore(s.paths.state_url), roles, f"operator:{who}", notifier=notifier_from_settings(s)
    )


def _move(
    override: Callable[..., list[Any]],
    run_id: str,
    role: str,
    reason: str,
    who: str | None,
    config: Path | None,
    *,
    no_role: str,
) -> None:
    """Run a role override (promote or demote) through the referee and print its transitions."""
    from cappuccino_core.arena.overrides import OverrideRefused

    name = _who(who)
    try:
        done = override(_referee(config, name), run_id, role, name, reason)
    except OverrideRefused as exc:
        raise fail(str(exc)) from None
    for t in done:
        console.print(f"{t.action}: {t.run_id} -> {t.role or no_role} ({t.reason})")


def promote(
    run_id: str = typer.Argument(..., help="MLflow run id of the model"),
    role: str = typer.Option(..., "--role", help="challenger | champion | sandbox | production"),
    reason: str = Reason,
    who: str | None = Who,
    config: Path | None = ConfigOption,
) -> None:
    """Give a model a role by hand (not live: live needs the green light)."""
    from cappuccino_core.arena.overrides import promote as do_promote

    _move(do_promote, run_id, role, reason, who, config, no_role="-")


def demote(
    run_id: str = typer.Argument(..., help="MLflow run id of the model"),
    role: str = typer.Option(
        ..., "--role", help="paper (off live) | challenger | champion | sandbox | eliminated | retired"
    ),
    reason: str = Reason,
    who: str | None = Who,
    config: Path | None = ConfigOption,
) -> None:
    """Move a model down by hand (production moves only by promoting another model)."""
    from cappuccino_core.arena.overrides import demote as do_demote

    _move(do_demote, run_id, role, reason, who, config, no_role="paper")


def gate(
    run_id: str = typer.Argument(..., help="MLflow run id of the candidate"),
    gate_name: str = typer.Option(..., "--gate", help="backtest | stress | paper"),
    mark: str = typer.Option(..., "--mark", help="failed | skipped (skipped waives the gate)"),
    reason: str = Reason,
    who: str | None = Who,
    config: Path | None = ConfigOption,
) -> None:
    """Mark a candidate's gate failed or skipped, with the reason."""
    from cappuccino_core.arena.overrides import OverrideRefused, override_gate
    from cappuccino_core.state import StateStore

    s = settings_or_exit(config)
    if gate_name not in s.gates.enabled and gate_name not in ("backtest", "stress", "paper"):
        raise fail(f"unknown gate {gate_name!r}: backtest, stress or paper")
    try:
        override_gate(StateStore(s.paths.state_url), run_id, gate_name, mark, _who(who), reason)
    except OverrideRefused as exc:
        raise fail(str(exc)) from None
    console.print(f"gate {gate_name} of {run_id}: {mark} ({reason})")


def auto_promotion(
    state: str = typer.Argument(..., help="on | off"),
    reason: str = Reason,
    who: str | None = Who,
    config: Path | None = ConfigOption,
) -> None:
    """Pause (off) or resume (on) the arena's automatic promotions to sandbox and production."""
    from cappuccino_core.arena.overrides import OverrideRefused, set_auto_promotion
    from cappuccino_core.state import StateStore

    if state not in ("on", "off"):
        raise fail(f"auto-promotion takes on or off, got {state!r}")
    s = settings_or_exit(config)
    try:
        set_auto_promotion(StateStore(s.paths.state_url), state == "on", _who(who), reason)
    except OverrideRefused as exc:
        raise fail(str(exc)) from None
    console.print(f"auto-promotion {state}")


def audit(
    limit: int = typer.Option(20, "--limit", min=1, help="rows to show"),
    subject: str | None = typer.Option(None, "--subject", help="only rows about this model or flag"),
    config: Path | None = ConfigOption,
) -> None:
    """The newest audit-log rows: when, who, what, about what, why."""
    from cappuccino_core.state import StateStore

    s = settings_or_exit(config)
    for r in StateStore(s.paths.state_url).audit_log(subject=subject, limit=limit):
        console.print(f"{r.ts:%Y-%m-%d %H:%M:%S}  {r.actor:<20} {r.action:<28} {r.subject}  {r.reason}")


def register(app: typer.Typer) -> None:
    """Add the override commands to ``cappuccino pipeline``."""
    app.command()(promote)
    app.command()(demote)
    app.command()(gate)
    app.command("auto-promotion")(auto_promotion)
    app.command()(audit)
