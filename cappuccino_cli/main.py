"""`cappuccino`: one entry point; each lifecycle stage owns a sub-command module."""

from __future__ import annotations

import typer

from cappuccino_cli import backtest, cge, dashboard, data, gates, pipeline, run, trade, train

app = typer.Typer(
    name="cappuccino",
    help="Crypto trading models from data to live trading, with evidence at every step.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data", help="Download, update, import, check and featurise market data.")
app.add_typer(cge.app, name="cge", help="CGE macro scenarios: generate, describe, plot.")
app.add_typer(backtest.app, name="backtest", help="Backtest a saved policy or a baseline.")
app.add_typer(pipeline.app, name="pipeline", help="The orchestrator: status, once, run, stop, resume.")
app.add_typer(trade.app, name="trade", help="Paper/live trading, emergency stop and resume.")
app.add_typer(gates.app, name="gates", help="Validation gates: run them for a model, show its verdicts.")
app.add_typer(
    train.app,
    name="train",
    help="Run or resume the two-phase Optuna study (phase 1: timeframe x lookback; phase 2: full search); "
    "`train supervised`: the LSTM and Transformer forecasters.",
)
app.command("run", help="The main job: the whole pipeline on the embedded default.")(run.run)
app.command("dashboard", help="The local web dashboard: training, gates, arena, trading, health.")(
    dashboard.dashboard
)

if __name__ == "__main__":
    app()
