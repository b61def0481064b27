"""Sandbox vs production (exactly one production), the live green light, ramp and demotion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cappuccino_core.arena import (
    ArenaConfig,
    GreenLightRefused,
    Referee,
    Transition,
    green_light,
    holders,
    live_status,
    review_live,
    review_sandbox,
)

from .conftest import write_record

RISING = list(100.0 * np.cumprod(1 + np.tile([0.004, -0.001], 30)))  # 60 hourly points, steady gains
FALLING = list(100.0 * np.cumprod(1 + np.tile([-0.004, 0.001], 30)))


def _sandbox(referee: Referee, run_id: str) -> None:
    referee.apply(Transition(run_id, "to_sandbox", "sandbox", "test", alias="sandbox"))


def _production(referee: Referee, run_id: str) -> None:
    referee.apply(Transition(run_id, "to_production", "production", "test", alias="production"))


def test_sandbox_waits_then_beats_production(referee, store, roles, cfg) -> None:
    _production(referee, "prod")
    _sandbox(referee, "good")
    _sandbox(referee, "bad")
    t0 = datetime.now(UTC)
    for run_id, curve in (("prod", FALLING[:30] + RISING[:30]), ("good", RISING), ("bad", FALLING)):
        write_record(store, run_id, t0, curve, trades=3)
    early = review_sandbox(referee, cfg, now=t0 + timedelta(days=1))
    assert early.production == "prod" and all("not complete" in d for d in early.decisions)
    report = review_sandbox(referee, cfg, now=t0 + timedelta(days=2, hours=1))
    assert report.production == "good"
    assert holders(store, "production") == ["good"]  # exactly one
    assert roles.holder("production") == "good"
    assert set(holders(store, "eliminated")) == {"bad"} and holders(store, "retired") == ["prod"]
    assert holders(store, "sandbox") == []
    assert store.audit_log(subject="good")[0].action == "arena:replace_production"


def test_sandbox_needs_min_trades_and_margin(referee, store, roles) -> None:
    _production(referee, "prod")
    _sandbox(referee, "few")
    t0 = datetime.now(UTC)
    write_record(store, "prod", t0, FALLING, trades=6)
    write_record(store, "few", t0, RISING, trades=2)
    report = review_sandbox(referee, ArenaConfig(min_trades=5), now=t0 + timedelta(days=3))
    assert report.production == "prod" and holders(store, "eliminated") == ["few"]


def test_first_production_and_dry_run(store, roles, cfg) -> None:
    ref = Referee(store, roles)
    _sandbox(ref, "s1")
    t0 = datetime.now(UTC)
    write_record(store, "s1", t0, RISING, trades=3)
    dry = Referee(store, roles, dry_run=True)
    rep = review_sandbox(dry, cfg, now=t0 + timedelta(days=3))
    assert rep.production == "s1" and [t.action for t in rep.transitions] == ["to_production"]
    assert holders(store, "production") == [] and roles.holder("production") is None
    assert review_sandbox(ref, cfg, now=t0 + timedelta(days=3)).production == "s1"
    assert holders(store, "production") == ["s1"]


def test_green_light_needs_config_flag_and_production(referee, roles) -> None:
    on = ArenaConfig(live_enabled=True, ramp=[0.2, 0.5, 1.0])
    with pytest.raises(GreenLightRefused, match="no production"):
        green_light(referee, on, confirm=True)
    _production(referee, "prod")
    with pytest.raises(GreenLightRefused, match="live_enabled"):
        green_light(referee, ArenaConfig(), confirm=True)
    with pytest.raises(GreenLightRefused, match="confirmation"):
        green_light(referee, on, confirm=False)
    with pytest.raises(GreenLightRefused, match="only A or B"):
        green_light(referee, on, confirm=True, grade="C")
    assert roles.holder("live") is None
    green_light(referee, on, confirm=True, grade="B")
    st = live_status(referee)
    assert st.run_id == "prod" and st.capital_fraction == 0.2


def test_ramp_then_demotion(referee, store, roles) -> None:
    cfg = ArenaConfig(live_enabled=True, ramp_step_days=1.0, demote_max_drawdown=-0.05)
    _production(referee, "prod")
    green_light(referee, cfg, confirm=True)
    since = live_status(referee).since
    write_record(store, "prod", since, RISING, trades=4, step=timedelta(minutes=30))
    assert "holding" in review_live(referee, cfg, now=since + timedelta(hours=12))  # step not matured
    assert live_status(referee).capital_fraction == 0.25
    assert "ramped to 50%" in review_live(referee, cfg, now=since + timedelta(days=1, hours=6))
    since2 = live_status(referee).since
    write_record(store, "prod", since2 + timedelta(seconds=1), RISING, trades=4, step=timedelta(minutes=30))
    assert "ramped to 100%" in review_live(referee, cfg, now=since2 + timedelta(days=1, hours=6))
    assert live_status(referee).capital_fraction == 1.0
    # Degradation: a -8% drawdown at full capital demotes (limit -5%).
    since3 = live_status(referee).since
    write_record(store, "prod", since3 + timedelta(seconds=1), [100.0, 96.0, 92.0, 95.0], trades=2)
    assert "demoted" in review_live(referee, cfg, now=since3 + timedelta(hours=5))
    assert roles.holder("live") is None and roles.holder("production") == "prod"
    assert live_status(referee).capital_fraction == 0.0
    assert store.audit_log(subject="prod")[0].action == "arena:demote"


def test_emergency_stop_halts_sandbox_and_live(referee, store, cfg) -> None:
    _production(referee, "prod")
    _sandbox(referee, "s")
    store.set_flag("emergency_stop", True, "test")
    assert review_sandbox(referee, cfg, now=datetime.now(UTC) + timedelta(days=9)).halted
    assert review_live(referee, cfg).startswith("halted")
    with pytest.raises(GreenLightRefused, match="emergency"):
        green_light(referee, ArenaConfig(live_enabled=True), confirm=True)
