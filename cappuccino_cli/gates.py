"""`cappuccino gates run|show <model>`: run the validation gates for a model, or show its stored verdicts;
`cappuccino gates stress-ensemble <members>`: the CGE stress gate for the supervised ensemble.

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


@app.command("stress-ensemble")
def stress_ensemble(
    members: str = typer.Argument(
        ..., help="'lstm,transformer[,rl=<run id or registry ref>]' (lstm/3: version 3 of the LSTMs)"
    ),
    config: Path | None = ConfigOption,
) -> None:
    """The CGE stress gate for the supervised ensemble (same scenarios, bars and thresholds as the RL
    stress gate); the verdict is stored for every member's run. Exit 1 when it fails."""
    from cappuccino_core.supervised.members import check_rl, load_members, parse_members
    from cappuccino_core.supervised.stress import GATE, record_ensemble_verdict, run_ensemble_stress

    settings = settings_or_exit(config)
    try:
        picked = parse_members(members)
        models = load_members(settings, picked)
        rl_run = check_rl(settings, picked.rl) if picked.rl is not None else ""
        out = Path(settings.paths.reports_dir) / settings.gates.reports_subdir / models[0].run_id / GATE
        v = run_ensemble_stress(settings, models, rl_ref=picked.rl, out_dir=out)
        stored = record_ensemble_verdict(v, settings, [m.run_id for m in models] + [rl_run])
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    f = v.figures
    console.print(f"{v.inputs['ensemble']} over {f['scenarios']} scenarios ({v.inputs['scenario_set']})")
    w = v.inputs["weights"]
    edges = ", ".join(f"{k} {e:+.3f}" for k, e in w["edges"].items())
    console.print(f"weights: {w['source']}" + (f" (held-out accuracy edge: {edges})" if edges else ""))
    console.print(v.explain(), highlight=False)
    console.print(
        f"  profitable {f['profitable_share']:.2f}, median Sharpe {f['median_sharpe']:.2f}, worst drawdown "
        f"{f['worst_max_drawdown'] + 0.0:.2f}, worst loss {f['worst_loss'] + 0.0:.2f}; {f['signals']} of "
        f"{f['forecasts']} forecasts reached the threshold ({f['high_tier_signals']} high tier)",
        highlight=False,
    )
    console.print(f"stored for {', '.join(stored)}; outputs in {out}")
    if not v.passed:
        raise typer.Exit(1)
