"""`cappuccino pipeline status|once|run|stop|resume`: the orchestrator from a terminal."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from cappuccino_cli import pipeline_overrides
from cappuccino_cli.common import ConfigOption, console, settings_or_exit

app = typer.Typer(no_args_is_help=True, help="The pipeline tick: status, one tick, a loop, stop and resume.")
pipeline_overrides.register(app)  # promote, demote, gate, auto-promotion, audit
DryRun = typer.Option(False, "--dry-run", help="decide and report; change nothing")


def _store(config: Path | None):
    from cappuccino_core.state import StateStore

    settings = settings_or_exit(config)
    return settings, StateStore(settings.paths.state_url)


@app.command()
def status(config: Path | None = ConfigOption) -> None:
    """Emergency stop, arena standings by role, recent pipeline stages."""
    from sqlalchemy import select

    from cappuccino_core.arena import standings
    from cappuccino_core.state.schema import PipelineStage

    _, store = _store(config)
    console.print(f"emergency stop: {'SET' if store.emergency_stopped() else 'off'}")
    from cappuccino_core.arena.overrides import auto_promotion_paused

    console.print(f"auto-promotion: {'PAUSED' if auto_promotion_paused(store) else 'on'}")
    for row in standings(store):
        if row.role not in ("eliminated", "retired"):
            console.print(
                f"  {row.role:<11} {row.run_id}  wins {row.consecutive_wins}  matches {row.matches}"
            )
    with store.session() as s:
        rows = list(s.scalars(select(PipelineStage).order_by(PipelineStage.id.desc()).limit(10)))
    for r in rows:
        console.print(f"  {r.ts:%Y-%m-%d %H:%M} {r.stage:<8} {r.status}")


@app.command()
def once(config: Path | None = ConfigOption, dry_run: bool = DryRun) -> None:
    """Run one pipeline tick now."""
    from flows.tick import pipeline_tick

    for line in pipeline_tick(str(config) if config else None, dry_run=dry_run):
        console.print(line)


@app.command()
def monitor(config: Path | None = ConfigOption, dry_run: bool = DryRun) -> None:
    """One monitor pass now: every live and paper model against its backtest, heartbeats, stale data,
    retrain triggers (a retrain starts through the Prefect API), the daily summary."""
    from flows.monitor import monitor as monitor_flow

    for line in monitor_flow(str(config) if config else None, dry_run=dry_run):
        console.print(line)


@app.command()
def run(
    config: Path | None = ConfigOption,
    dry_run: bool = DryRun,
    every: int = typer.Option(1800, "--every", min=1, help="seconds between ticks"),
    ticks: int = typer.Option(0, "--ticks", min=0, help="stop after this many ticks (0: until stopped)"),
) -> None:
    """Tick every ``--every`` seconds until the emergency stop is set (or ``--ticks`` ticks)."""
    from flows.tick import pipeline_tick

    _, store = _store(config)
    n = 0
    while not store.emergency_stopped():
        for line in pipeline_tick(str(config) if config else None, dry_run=dry_run):
            console.print(line)
        n += 1
        if ticks and n >= ticks:
            return
        time.sleep(every)
    console.print("emergency stop set: pipeline halted")


@app.command()
def stop(config: Path | None = ConfigOption, reason: str = typer.Option("operator stop", "--reason")) -> None:
    """Set the emergency stop: every loop halts within one tick."""
    from cappuccino_core.notify import notifier_from_settings
    from cappuccino_core.notify.stop import set_emergency_stop

    settings, store = _store(config)
    set_emergency_stop(store, True, "cli", reason, notifier_from_settings(settings))
    console.print("emergency stop SET")


@app.command()
def resume(
    config: Path | None = ConfigOption, reason: str = typer.Option("operator resume", "--reason")
) -> None:
    """Clear the emergency stop."""
    from cappuccino_core.notify import notifier_from_settings
    from cappuccino_core.notify.stop import set_emergency_stop

    settings, store = _store(config)
    set_emergency_stop(store, False, "cli", reason, notifier_from_settings(settings))
    console.print("emergency stop cleared")
