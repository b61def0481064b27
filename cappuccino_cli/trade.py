"""`cappuccino trade` commands: paper replays, the emergency stop and resume."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit

app = typer.Typer(no_args_is_help=True)
TICKERS = ("BTC", "ETH", "SOL", "LINK", "LTC", "ADA")


@app.command()
def paper(
    broker: str = typer.Option("sim", help="sim | local | alpaca"),
    days: float = typer.Option(7.0, min=0.1, help="days of the most recent bars to replay"),
    model: str = typer.Option("baseline", help="a model run id / registry reference, or 'baseline'"),
    config: Path | None = ConfigOption,
) -> None:
    """Replay the last DAYS of the sample's 1h bars through the bar loop on a paper broker; print a report."""
    from cappuccino_core.state.store import StateStore
    from cappuccino_core.trading.brokers.sim import SimBroker
    from cappuccino_core.trading.loop.replay import conviction_hook, load_closes, run_replay, trend_baseline
    from cappuccino_core.trading.loop.trader import BarLoop
    from cappuccino_core.trading.risk import RiskManager

    s = settings_or_exit(config)
    if broker != "sim":
        raise fail(f"--broker {broker}: only 'sim' is wired into the loop so far (local and alpaca pending)")
    files = {t: Path(s.paths.sample_dir) / f"BINANCE_{t}USDT_1h.parquet" for t in TICKERS}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise fail(f"bar files missing: {missing}")
    bars = load_closes(files)
    paper_broker = SimBroker(s.costs, s.env.initial_cash)
    if model == "baseline":
        decide, run_id = trend_baseline(bars.close), "baseline"
    else:
        from cappuccino_core.features.builder import build_dataset
        from cappuccino_core.registry import load_policy
        from cappuccino_core.trading.loop.policy import PolicyDecider

        expected = build_dataset(bars.frames, s.features, "1h").spec  # what this data looks like
        policy = load_policy(model, expected)  # refuses (FeatureSpecMismatch) when the model saw other data
        decide, run_id = PolicyDecider(policy, bars, paper_broker, "1h"), policy.run_id or model
    store = StateStore(s.paths.state_url)
    loop = BarLoop(
        paper_broker, store, RiskManager.from_config(s.risk), s.env, bars.tickers, decide,
        run_id=run_id, bar_ns=3_600 * 10**9, max_age_s=s.risk.max_bar_age_s, equity_flush_bars=24,
        assets=tuple(f"{t}/USDT" for t in bars.tickers),
        conviction=conviction_hook(s.risk.conviction, bars) if s.risk.conviction.enabled else None,
    )  # fmt: skip
    report = run_replay(loop, bars, "1h", days)
    console.print_json(json.dumps(report, default=str))


@app.command()
def stop(
    flatten: bool = typer.Option(False, help="also sell every position on the next tick"),
    reason: str = typer.Option("operator", help="why (kept in the audit log)"),
    config: Path | None = ConfigOption,
) -> None:
    """Emergency stop: no new orders from the next tick on."""
    from cappuccino_core.state.store import EMERGENCY_STOP, StateStore

    store = StateStore(settings_or_exit(config).paths.state_url)
    store.set_flag(EMERGENCY_STOP, True, set_by="cli", reason=reason)
    store.set_flag("emergency_flatten", flatten, set_by="cli", reason=reason)
    console.print(f"emergency stop ON{' (flatten)' if flatten else ''}")


@app.command()
def resume(config: Path | None = ConfigOption) -> None:
    """Lift the emergency stop."""
    from cappuccino_core.state.store import EMERGENCY_STOP, StateStore

    store = StateStore(settings_or_exit(config).paths.state_url)
    store.set_flag(EMERGENCY_STOP, False, set_by="cli", reason="resume")
    store.set_flag("emergency_flatten", False, set_by="cli", reason="resume")
    console.print("emergency stop OFF")
