"""`cappuccino gates run|show <model>`: run the validation gates for a model, or show its stored verdicts.

<model> is an MLflow run id, a role alias (champion, ...), name@alias or name/version.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_core.config import Settings

app = typer.Typer(no_args_is_help=True)
ModelArg = typer.Argument(..., help="MLflow run id, role alias, name@alias or name/version")


def _run_id(settings: Settings, model: str) -> str:
    if re.fullmatch(r"[0-9a-f]{32}", model.strip()):
        return model.strip()  # a run id already: no registry lookup
    from cappuccino_core.registry import Tracking, resolve_model_uri

    resolved = resolve_model_uri(model, Tracking.from_settings(settings))
    if resolved.run_id is None:
        raise fail(f"{model} does not name a model with a run id")
    return resolved.run_id


@app.command("run")
def run(model: str = ModelArg, config: Path | None = ConfigOption) -> None:
    """Run every enabled gate for <model>; exit 1 when one fails."""
    from cappuccino_core.gates import run_all_gates

    settings = settings_or_exit(config)
    try:
        rid = _run_id(settings, model)
        out = run_all_gates(rid, settings)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    for text in out.pop("explanations").values():
        console.print(f"{rid[:8]} {text}")
    for gate, res in out.items():
        console.print(f"  {gate}: {res}")
    if any(v is False for v in out.values()):
        raise typer.Exit(1)


@app.command("show")
def show(model: str = ModelArg, config: Path | None = ConfigOption) -> None:
    """The stored verdicts of <model>, newest last, with the failed checks."""
    from cappuccino_core.state import StateStore

    settings = settings_or_exit(config)
    try:
        rid = _run_id(settings, model)
    except ValueError as exc:
        raise fail(str(exc)) from None
    rows = StateStore(settings.paths.state_url).verdicts(rid)
    if not rows:
        console.print(f"{rid}: no gate verdicts yet")
        return
    for v in sorted(rows, key=lambda r: r.ts):
        state = "PASSED" if v.passed else "FAILED"
        console.print(f"{v.ts:%Y-%m-%d %H:%M} {v.gate:9} {state}  {v.figures.get('explanation', '')}")
