"""`cappuccino train`: the two-phase Optuna study (phase 1: timeframe x lookback; phase 2: full search)."""

from __future__ import annotations

from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit
from cappuccino_cli.train_supervised import supervised
from cappuccino_core.config import Settings

app = typer.Typer(no_args_is_help=False)


@app.callback(invoke_without_command=True)
def train(
    ctx: typer.Context,
    phase: int = typer.Option(
        1, "--phase", "-p", min=1, max=2, help="1: timeframe x lookback; 2: full study"
    ),
    trials: int | None = typer.Option(
        None, "--trials", "-n", min=1, help="the study's trial limit (default: training.phase1/2_trials)"
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="worker processes on the study (default: training.workers)"
    ),
    report: bool = typer.Option(
        False, "--report", help="show the study's best trials, PBO and DSR; train nothing"
    ),
    ablation: bool = typer.Option(
        False,
        "--ablation",
        help="run the two-phase study with 0% and 30% synthetic windows and compare their best trials on "
        "the held-out window and the bear and crisis scenarios",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Run (or resume) the phase's study up to its trial limit with K worker processes."""
    if ctx.invoked_subcommand is not None:  # `cappuccino train supervised` runs on its own
        return
    from cappuccino_core.training import run_phase, study_name

    settings = settings_or_exit(config)
    name = study_name(settings.training, phase)
    if report:
        from cappuccino_core.registry import Tracking, study_report

        console.print(study_report(name, Tracking.from_settings(settings)))
        return
    if ablation:
        _ablation(settings, workers)
        return
    from cappuccino_core.progress import rich_callback

    try:
        with rich_callback(console) as progress:  # trials finished / limit, ETA, newest trial, best
            result = run_phase(settings, phase, trials=trials, workers=workers, progress=progress)
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    states = ", ".join(f"{k} {v}" for k, v in sorted(result.states.items()))
    console.print(f"[bold]{name}[/bold]: limit {result.limit}; {states}")
    reasons: dict[str, int] = {}
    for t in result.trials:
        if t["state"] != "COMPLETE":
            reasons[t["reason_kind"] or "none"] = reasons.get(t["reason_kind"] or "none", 0) + 1
    if reasons:
        console.print("not completed: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    if result.best:
        console.print(f"best trial {result.best['number']}: objective {result.best['value']:.4f}")
        console.print(f"  params {result.best['params']}")
    if result.summary is not None:
        s = result.summary
        console.print(
            f"PBO {s.pbo}  DSR {s.dsr}  (N={s.n_trials}; see `cappuccino train --phase {phase} --report`)"
        )
    if not result.all_terminal_with_reason:
        raise fail("some trials did not end COMPLETE, PRUNED or FAIL with a reason")


def _ablation(settings: Settings, workers: int | None) -> None:
    """The augmentation ablation (training/ablation.py): printed, and saved as JSON under the reports."""
    import json

    from cappuccino_core.training.ablation import augmentation_ablation

    try:
        rep = augmentation_ablation(settings, workers=workers)
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    for line in rep.lines():
        console.print(line, highlight=False)
    out = Path(settings.paths.reports_dir) / "ablation" / "augmentation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep.to_dict(), indent=2, default=str))
    console.print(f"saved {out}")


app.command("supervised")(supervised)
