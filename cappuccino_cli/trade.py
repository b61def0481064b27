"""`cappuccino trade` commands: paper replays, live (guarded), the emergency stop and resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from cappuccino_cli.common import ConfigOption, console, fail, settings_or_exit

app = typer.Typer(no_args_is_help=True)


@app.command()
def paper(
    broker: str = typer.Option("sim", help="sim | local | alpaca | coinbase"),
    days: float = typer.Option(7.0, min=0.1, help="days of the most recent bars to replay"),
    model: str = typer.Option(
        "baseline",
        help="a model run id / registry reference; several comma-separated: their ensemble weighted by "
        "validation Sharpe; 'mtf:TACTICAL,STRATEGIC': the multi-timeframe ensemble (trades where both "
        "agree); or 'baseline'",
    ),
    venue: str | None = typer.Option(
        None, help="--broker local: alpaca | coinbase (default trading.local_venue)"
    ),
    exchange_url: str | None = typer.Option(None, help="alpaca/coinbase: another endpoint (e.g. a loopback)"),
    ca_cert: str | None = typer.Option(None, help="coinbase: CA certificate the client trusts"),
    ensemble: str | None = typer.Option(
        None,
        help="the supervised ensemble instead of --model: 'lstm,transformer[,rl=<run id or registry ref>]' "
        "(newest registered versions; lstm/3 pins version 3), weighted by [supervised] weight_*",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Replay the last DAYS of the sample's bars through the full bar loop on a paper broker (local: the real
    SDK against an in-process loopback exchange); print the report and write it under paths.reports_dir."""
    if ensemble is not None:
        if model != "baseline":
            raise fail("give --model or --ensemble, not both")
        _ensemble_paper(ensemble, broker, days, venue, exchange_url, ca_cert, config)
        return
    from cappuccino_core.trading.loop.session import run_paper, summary

    s = settings_or_exit(config)
    with _paper_errors(broker):
        report = run_paper(s, broker, days, model, venue=venue, exchange_url=exchange_url, ca_cert=ca_cert)
    console.print_json(json.dumps(summary(report), default=str).replace("NaN", "null"))
    console.print(f"report: {report['report_path']}")


@contextmanager
def _paper_errors(broker: str) -> Iterator[None]:
    """A paper session's expected failures as one-line CLI errors (refused live endpoint, missing keys or
    files, bad input, broker and network errors, an account lease held elsewhere)."""
    from cappuccino_core.state.lease import LeaseHeld, LeaseLost
    from cappuccino_core.trading.brokers.base import BrokerError
    from cappuccino_core.trading.brokers.factory import LiveRefused, MissingCredentials

    try:
        yield
    except LiveRefused as exc:
        raise fail(f"paper refused: {exc}") from None
    except (MissingCredentials, FileNotFoundError, ValueError, LeaseHeld, LeaseLost) as exc:
        raise fail(str(exc)) from None
    except (BrokerError, OSError) as exc:
        raise fail(f"broker {broker}: {exc}") from None


def _ensemble_paper(
    members: str,
    broker: str,
    days: float,
    venue: str | None,
    exchange_url: str | None,
    ca_cert: str | None,
    config: Path | None,
) -> None:
    """`trade paper --ensemble`: the supervised members from MLflow (and the RL member), one paper session."""
    from cappuccino_core.notify import notifier_from_settings
    from cappuccino_core.supervised.members import load_members, parse_members
    from cappuccino_core.supervised.paper import ensemble_paper_session

    s = settings_or_exit(config)
    with _paper_errors(broker):
        picked = parse_members(members)
        models = load_members(s, picked)
        report = ensemble_paper_session(
            s, models, days=days, broker=broker, rl_model=picked.rl, notifier=notifier_from_settings(s),
            venue=venue, exchange_url=exchange_url, ca_cert=ca_cert,
        )  # fmt: skip
    keys = ("broker", "model", "members", "weights", "session", "bars_replayed", "fills", "win_rate", "fees",
            "total_return", "seconds")  # fmt: skip
    head = {k: report.get(k) for k in keys} | {"high_tier_signals": len(report["high_tier_signals"])}
    console.print_json(json.dumps(head, default=str).replace("NaN", "null"))
    console.print(f"report: {report['report_path']}")


@app.command()
def live(
    model: str = typer.Option("live", help="the run id that must hold the live role ('live': whoever does)"),
    confirm_live: bool = typer.Option(False, "--confirm-live", help="required: yes, trade real money"),
    broker: str = typer.Option("coinbase", help="coinbase | alpaca (venue of the live account)"),
    exchange_url: str | None = typer.Option(None, help="another endpoint (e.g. a loopback exchange)"),
    ca_cert: str | None = typer.Option(None, help="coinbase: CA certificate the client trusts"),
    config: Path | None = ConfigOption,
) -> None:
    """One live tick of the live model on the newest stored bar, capped at the arena's capital fraction.
    Refused unless trading.live_enabled, --confirm-live and a model holding the live role (green light)."""
    from cappuccino_core.state.lease import LeaseHeld, LeaseLost
    from cappuccino_core.trading.brokers.base import BrokerError
    from cappuccino_core.trading.brokers.factory import MissingCredentials
    from cappuccino_core.trading.loop.live import LiveRefused, check_live
    from cappuccino_core.trading.loop.session import live_tick

    s = settings_or_exit(config)

    def referee() -> object:
        from cappuccino_core.arena import MlflowRoleBook, Referee
        from cappuccino_core.registry import Tracking
        from cappuccino_core.state.store import StateStore

        roles = MlflowRoleBook(Tracking.from_settings(s))
        return Referee(StateStore(s.paths.state_url), roles, actor="cli:trade-live")

    try:
        grant = check_live(s.trading, referee, confirm=confirm_live, model=model)
    except LiveRefused as exc:
        raise fail(f"live refused: {exc}") from None
    console.print(f"live: {grant.run_id} at {grant.capital_fraction:.0%} of capital")
    try:
        out = live_tick(s, grant.run_id, grant.capital_fraction, broker, exchange_url=exchange_url,
                        ca_cert=ca_cert, grant=grant)  # fmt: skip
    except LiveRefused as exc:
        raise fail(f"live refused: {exc}") from None
    except (MissingCredentials, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    except (BrokerError, OSError) as exc:
        raise fail(f"broker {broker}: {exc}") from None
    except (LeaseHeld, LeaseLost) as exc:
        raise fail(str(exc)) from None
    console.print_json(json.dumps(out, default=str))


@app.command()
def stop(
    flatten: bool = typer.Option(False, help="also sell every position on the next tick"),
    reason: str = typer.Option("operator", help="why (kept in the audit log)"),
    config: Path | None = ConfigOption,
) -> None:
    """Emergency stop: no new orders from the next tick on."""
    from cappuccino_core.notify import notifier_from_settings
    from cappuccino_core.notify.events import emergency_stop
    from cappuccino_core.notify.stop import set_emergency_stop
    from cappuccino_core.state.store import StateStore

    settings = settings_or_exit(config)
    store = StateStore(settings.paths.state_url)
    set_emergency_stop(store, True, "cli", reason)
    store.set_flag("emergency_flatten", flatten, set_by="cli", reason=reason)
    notifier_from_settings(settings).notify(emergency_stop(True, "cli", reason))
    console.print(f"emergency stop ON{' (flatten)' if flatten else ''}")


@app.command()
def resume(config: Path | None = ConfigOption) -> None:
    """Lift the emergency stop."""
    from cappuccino_core.notify import notifier_from_settings
    from cappuccino_core.notify.stop import set_emergency_stop
    from cappuccino_core.state.store import StateStore

    settings = settings_or_exit(config)
    store = StateStore(settings.paths.state_url)
    set_emergency_stop(store, False, "cli", "resume", notifier_from_settings(settings))
    store.set_flag("emergency_flatten", False, set_by="cli", reason="resume")
    console.print("emergency stop OFF")
