"""One live guard, in the broker factory: every entry point that could reach a real-money broker is refused
without trading.live_enabled, the explicit confirmation and the live role (finding 1)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.brokers.factory import MissingCredentials, make_broker
from cappuccino_core.trading.brokers.live_guard import LiveGrant, LiveRefused, issue_grant, live_endpoint

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials present: a refusal below is the guard's, not a missing key's."""
    for k in ("COINBASE_API_KEY", "COINBASE_API_SECRET", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        monkeypatch.setenv(k, "x" * 24)


def live_on(settings: Any) -> Any:
    return settings.model_copy(update={"trading": settings.trading.model_copy(update={"live_enabled": True})})


def test_endpoints_classified(settings) -> None:  # type: ignore[no-untyped-def]
    assert live_endpoint(settings, "coinbase") == "api.coinbase.com"  # the production host by default
    assert live_endpoint(settings, "coinbase", "127.0.0.1:8443") is None  # a loopback exchange
    assert live_endpoint(settings, "coinbase", "api-sandbox.coinbase.com") is None
    assert live_endpoint(settings, "alpaca-paper") is None  # alpaca-py paper=True: the paper host
    assert live_endpoint(settings, "alpaca-paper", "https://api.alpaca.markets") == "api.alpaca.markets"
    assert live_endpoint(settings, "alpaca-paper", "http://localhost:9000") is None
    assert live_endpoint(settings, "sim") is None and live_endpoint(settings, "local") is None
    declared = settings.model_copy(
        update={"trading": settings.trading.model_copy(update={"paper_hosts": ["exchange"]})}
    )
    assert live_endpoint(declared, "coinbase", "exchange:8443") is None


def test_factory_refuses_real_money_before_reading_credentials(settings, creds) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LiveRefused, match=r"coinbase at api\.coinbase\.com trades real money.*live_enabled"):
        make_broker(settings, "coinbase")
    with pytest.raises(LiveRefused, match=r"api\.alpaca\.markets"):
        make_broker(settings, "alpaca", exchange_url="https://api.alpaca.markets")
    on = live_on(settings)
    with pytest.raises(LiveRefused, match="grant"):  # enabled, but nobody confirmed
        make_broker(on, "coinbase")
    with pytest.raises(LiveRefused, match="grant"):  # a hand-made grant is not the guard's
        make_broker(on, "coinbase", grant=LiveGrant("m1", 1.0))
    with pytest.raises(LiveRefused, match="live_enabled"):  # an issued grant, but live was switched off
        make_broker(settings, "coinbase", grant=issue_grant("m1", 0.25))


def test_paper_endpoints_need_no_grant(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COINBASE_API_KEY", raising=False)
    with pytest.raises(MissingCredentials):  # past the guard: a loopback host is paper
        make_broker(settings, "coinbase", exchange_url="127.0.0.1:1")


def _out(r: Any) -> str:
    return " ".join(r.output.split())  # rich wraps long lines


def test_cli_trade_paper_with_a_live_broker_is_refused(settings, creds) -> None:  # type: ignore[no-untyped-def]
    from cappuccino_cli.main import app

    r = CliRunner().invoke(app, ["trade", "paper", "--broker", "coinbase", "--days", "1"])
    assert r.exit_code == 2 and "paper refused" in _out(r) and "real money" in _out(r)
    r = CliRunner(env={"CAPPUCCINO_TRADING__LIVE_ENABLED": "true"}).invoke(
        app, ["trade", "paper", "--broker", "coinbase", "--days", "1"]
    )
    assert r.exit_code == 2 and "paper sessions never trade live" in _out(r)
    r = CliRunner().invoke(
        app, ["trade", "paper", "--broker", "alpaca", "--exchange-url", "https://api.alpaca.markets"]
    )
    assert r.exit_code == 2 and "api.alpaca.markets trades real money" in _out(r)


def test_cli_trade_live_is_refused(settings, creds) -> None:  # type: ignore[no-untyped-def]
    from cappuccino_cli.main import app

    r = CliRunner().invoke(app, ["trade", "live", "--confirm-live"])
    assert r.exit_code == 2 and "live_enabled" in _out(r)
    r = CliRunner(env={"CAPPUCCINO_TRADING__LIVE_ENABLED": "true"}).invoke(app, ["trade", "live"])
    assert r.exit_code == 2 and "--confirm-live" in _out(r)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, settings) -> StateStore:  # type: ignore[no-untyped-def]
    """m1 is the production model and holds the live role at 25% (no MLflow needed)."""
    import cappuccino_core.registry as registry
    from cappuccino_core.arena.referee import MlflowRoleBook

    monkeypatch.setattr(registry, "get_role", lambda role, tracking=None: SimpleNamespace(run_id="m1"))
    monkeypatch.setattr(MlflowRoleBook, "holder", lambda self, role: "m1")
    store = StateStore(settings.paths.state_url)
    store.audit("arena", "arena:go_live", "m1", "green light", capital_fraction=0.25)
    return store


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """live_tick replaced by a recorder that builds the broker the way live_tick does (the factory)."""
    import cappuccino_core.trading.loop.session as session

    calls: list[dict[str, Any]] = []

    def fake(settings: Any, run_id: str, fraction: float, broker: str = "coinbase", **kw: Any) -> str:
        from cappuccino_core.trading.brokers.live_guard import require_grant

        require_grant(settings, broker, None, kw.get("grant"))  # what make_broker does first
        calls.append({"broker": broker, "fraction": fraction, **kw})
        return "traded"

    monkeypatch.setattr(session, "live_tick", fake)
    return calls


def _settings_from_env(monkeypatch: pytest.MonkeyPatch, tmp_settings: Any, **env: str) -> Any:
    from cappuccino_core.config import load_settings

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return load_settings(paths=tmp_settings.paths.model_dump())


def test_hourly_trade_task_with_coinbase_env_override_is_refused(  # type: ignore[no-untyped-def]
    settings, registry, ticks, creds, monkeypatch
) -> None:
    from tasks.stages import trade_tick

    s = _settings_from_env(monkeypatch, settings, CAPPUCCINO_TRADING__BROKER="coinbase")
    assert s.trading.broker == "coinbase" and not s.trading.live_enabled
    with pytest.raises(LiveRefused, match="live_enabled"):
        trade_tick.fn(s)
    s = _settings_from_env(monkeypatch, settings, CAPPUCCINO_TRADING__LIVE_ENABLED="true")
    with pytest.raises(LiveRefused, match="--confirm-live"):  # enabled + live role, but not confirmed
        trade_tick.fn(s)
    assert "live refused" in trade_tick.fn(s, dry_run=True)
    assert ticks == []  # nothing reached a broker
    assert trade_tick.fn(s, confirm_live=True) == "traded"  # every condition: the guard's grant
    (call,) = ticks
    assert call["broker"] == "coinbase" and call["grant"].issued and call["fraction"] == 0.25


def test_hourly_trade_task_paper_broker_needs_no_grant(settings, registry, ticks) -> None:  # type: ignore[no-untyped-def]
    from tasks.stages import trade_tick

    assert settings.trading.broker == "alpaca-paper"
    assert trade_tick.fn(settings) == "traded"
    assert ticks[0]["grant"] is None and ticks[0]["fraction"] == 1.0


def test_deployments_of_the_trade_flow_are_refused(  # type: ignore[no-untyped-def]
    settings, registry, ticks, creds, monkeypatch
) -> None:
    """Every deployment of flows/trade.py (prefect.yaml and deployments/serve.py) runs the trade task with
    its parameters: with CAPPUCCINO_TRADING__BROKER=coinbase, each is refused."""
    import inspect

    from flows.trade import trade
    from tasks.stages import trade_tick

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deps = [d for d in spec["deployments"] if d["entrypoint"] == "flows/trade.py:trade"]
    assert deps, "prefect.yaml has no trade deployment"
    defaults = {k: p.default for k, p in inspect.signature(trade.fn).parameters.items()}
    assert defaults["confirm_live"] is False
    s = _settings_from_env(monkeypatch, settings, CAPPUCCINO_TRADING__BROKER="coinbase")
    for d in deps:
        params = {**defaults, **(d.get("parameters") or {})}
        with pytest.raises(LiveRefused):
            trade_tick.fn(s, params["dry_run"], params["confirm_live"])
    serve = (ROOT / "deployments" / "serve.py").read_text()
    assert "trade.to_deployment(" in serve and "confirm_live" not in serve  # defaults: refused as above
    assert ticks == []
