"""`cappuccino trade live` refuses without every condition; the capital fraction caps the loop's equity."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from cappuccino_core.config.trading import TradingConfig
from cappuccino_core.state.store import EMERGENCY_STOP, StateStore
from cappuccino_core.trading.loop.live import CappedBroker, LiveRefused, check_live
from cappuccino_core.venues.sim.broker import SimBroker

ON = TradingConfig(live_enabled=True)


@dataclass
class Roles:
    live: str | None = None

    def holder(self, role: str) -> str | None:
        return self.live if role == "live" else None


@dataclass
class FakeReferee:
    store: StateStore
    roles: Roles


@pytest.fixture
def referee(tmp_path) -> FakeReferee:  # type: ignore[no-untyped-def]
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.audit("arena", "arena:go_live", "m1", "green light", capital_fraction=0.25)
    return FakeReferee(store, Roles("m1"))


def test_default_config_is_paper_only_and_the_referee_is_not_even_asked() -> None:
    assert TradingConfig().live_enabled is False

    def never() -> None:
        raise AssertionError("the role book must not be consulted when live is disabled")

    with pytest.raises(LiveRefused, match="live_enabled"):
        check_live(TradingConfig(), never, confirm=True)


def test_needs_the_confirmation_flag(referee) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LiveRefused, match="--confirm-live"):
        check_live(ON, referee, confirm=False)


def test_refuses_without_a_live_model_or_for_another_model(referee) -> None:  # type: ignore[no-untyped-def]
    referee.roles.live = None
    with pytest.raises(LiveRefused, match="no model holds the live role"):
        check_live(ON, referee, confirm=True)
    referee.roles.live = "m1"
    with pytest.raises(LiveRefused, match="m2 does not hold the live role"):
        check_live(ON, referee, confirm=True, model="m2")


def test_refuses_on_emergency_stop_and_after_demotion(referee) -> None:  # type: ignore[no-untyped-def]
    referee.store.set_flag(EMERGENCY_STOP, True, set_by="test")
    with pytest.raises(LiveRefused, match="emergency stop"):
        check_live(ON, referee, confirm=True)
    referee.store.set_flag(EMERGENCY_STOP, False, set_by="test")
    referee.store.audit("arena", "arena:demote", "m1", "degraded", capital_fraction=0.0)
    with pytest.raises(LiveRefused, match="capital fraction 0"):
        check_live(ON, referee, confirm=True)


def test_grant_carries_the_ramp_fraction(referee) -> None:  # type: ignore[no-untyped-def]
    g = check_live(ON, lambda: referee, confirm=True, model="m1")
    assert (g.run_id, g.capital_fraction) == ("m1", 0.25)
    referee.store.audit("arena", "arena:ramp", "m1", "ramp", capital_fraction=0.5)
    assert check_live(ON, referee, confirm=True).capital_fraction == 0.5


def test_capped_broker_hides_the_rest_of_the_account(settings) -> None:  # type: ignore[no-untyped-def]
    sim = SimBroker(settings.costs, 100_000.0)
    capped = CappedBroker(sim, 0.25)
    assert capped.cash() == pytest.approx(25_000.0)  # 100k - 0.75 * 100k held back
    assert capped.positions() == {} and capped.name == "sim"
    with pytest.raises(ValueError, match="capital fraction"):
        CappedBroker(sim, 0.0)


def test_cli_refusals(settings) -> None:  # type: ignore[no-untyped-def]
    from cappuccino_cli.main import app

    r = CliRunner().invoke(app, ["trade", "live", "--confirm-live"])
    assert r.exit_code == 2 and "live_enabled" in r.output
    r = CliRunner(env={"CAPPUCCINO_TRADING__LIVE_ENABLED": "true"}).invoke(app, ["trade", "live"])
    assert r.exit_code == 2 and "--confirm-live" in r.output


def test_live_tick_is_capped_and_refuses_stale_bars(settings) -> None:  # type: ignore[no-untyped-def]
    import polars as pl
    from sqlalchemy import select

    from cappuccino_core.data.store import BarStore
    from cappuccino_core.state.schema import FillRow
    from cappuccino_core.trading.brokers.factory import sample_files
    from cappuccino_core.trading.loop.session import live_tick

    bars = BarStore(settings.paths.data_root)
    for t, path in sample_files(settings).items():
        bars.write(settings.data.venue, t, "1h", pl.read_parquet(path).sort("time").tail(100))
    last = pl.read_parquet(sample_files(settings)["BTC/USDT"])["time"].max()
    close_ns = int(last.timestamp() * 10**9) + 3_600 * 10**9  # type: ignore[union-attr]
    stale = live_tick(settings, "baseline", 0.25, "local", now_ns=close_ns + 10 * 3_600 * 10**9)
    assert stale["skipped"].startswith("stale") and stale["orders"] == []
    out = live_tick(settings, "baseline", 0.05, "local", now_ns=close_ns + 60 * 10**9)
    assert out["skipped"] is None and out["orders"]
    with StateStore(settings.paths.state_url).session() as s:
        spent = sum(f.qty * f.price + f.fee for f in s.scalars(select(FillRow)))
    # uncapped, this bar buys ~19k of 100k; at 5% the loop sees (and may spend) at most 5k
    assert 0 < spent <= 0.05 * settings.env.initial_cash + 1e-6
