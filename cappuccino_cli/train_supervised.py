"""`cappuccino train supervised`: train, gate and register the LSTM (per coin) and Transformer forecasters."""

from __future__ import annotations

from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit

KindOption = typer.Option(
    ["lstm", "transformer"], "--kind", "-k", help="model kinds to train: lstm, transformer (repeatable)"
)


def supervised(
    kind: list[str] = KindOption,
    trials: int | None = typer.Option(
        None, "--trials", "-n", min=0, help="Optuna trials per kind (default: supervised.optuna_trials)"
    ),
    source: str = typer.Option("auto", "--source", help="bars from: auto | store | sample"),
    config: Path | None = ConfigOption,
) -> None:
    """Supervised direction forecasters: features, Optuna, early-stopped fit, accuracy / calibration /
    leakage gate, MLflow run and a new registered version per kind. Exit 1 when a gate fails."""
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.supervised.gate import verdict_lines
    from cappuccino_core.supervised.run import train_supervised

    settings = settings_or_exit(config)
    if source not in ("auto", "store", "sample"):
        raise fail(f"--source must be auto, store or sample; got {source!r}")
    unknown = [k for k in kind if k not in ("lstm", "transformer")]
    if unknown:
        raise fail(f"unknown model kind(s) {unknown}: --kind takes lstm or transformer")
    try:
        frames = load_aligned(settings, source=source).frames  # type: ignore[arg-type]
        out = train_supervised(settings, frames, kinds=kind, trials=trials)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    console.print(f"{out.data_bars} bars of {len(frames)} coins")
    for k in out.kinds:
        console.print(
            f"[bold]{k.kind}[/bold] run {k.run_id} version {k.version} ({k.seconds:.0f} s, "
            f"{k.samples_per_second:.0f} samples/s, {k.trials} Optuna trials)"
        )
        for line in verdict_lines(k.verdict):
            console.print(line, highlight=False)
        console.print(k.verdict.explain(), highlight=False)
    if not all(k.verdict.passed for k in out.kinds):
        raise typer.Exit(1)
