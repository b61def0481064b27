"""Manual overrides: promote/demote with the registry's rules (live needs the green light, one production),
gate verdicts failed/skipped, auto-promotion paused in the hill and the sandbox; every one audited; and the
`cappuccino pipeline` commands on a real (temp SQLite) MLflow registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cappuccino_core.arena import Transition, holders, review_sandbox
from cappuccino_core.arena.overrides import (
    OverrideRefused,
    auto_promotion_paused,
    demote,
    override_gate,
    promote,
    set_auto_promotion,
)
from cappuccino_core.gates.record import passed_gates

from .conftest import write_record


def test_promote_to_production_retires_the_old_one_and_withdraws_its_live(referee, store, roles) -> None:
    referee.apply(Transition("old", "to_production", "production", "t", alias="production"))
    roles.assign("old", "live")
    referee.actor = "operator:ana"
    done = promote(referee, "new", "production", "ana", "paper record beats it")
    assert [t.action for t in done] == ["demote", "override_demote", "promote"]
    assert roles.holder("production") == "new" and roles.holder("live") is None
    assert holders(store, "production") == ["new"] and holders(store, "retired") == ["old"]
    row = store.audit_log(subject="new")[0]
    assert (row.actor, row.action, row.reason) == (
        "operator:ana",
        "arena:promote",
        "ana: paper record beats it",
    )
    assert row.evidence["who"] == "ana" and row.evidence["manual"] is True


def test_rules_live_production_and_reason(referee, roles) -> None:
    with pytest.raises(OverrideRefused, match="green light"):
        promote(referee, "m", "live", "ana", "why not")
    with pytest.raises(OverrideRefused, match="needs a reason"):
        promote(referee, "m", "sandbox", "ana", "  ")
    referee.apply(Transition("p", "to_production", "production", "t", alias="production"))
    with pytest.raises(OverrideRefused, match="exactly one production"):
        demote(referee, "p", "sandbox", "ana", "bad week")
    with pytest.raises(OverrideRefused, match="not live"):
        demote(referee, "p", "paper", "ana", "bad week")
    roles.assign("p", "live")
    [t] = demote(referee, "p", "paper", "ana", "venue outage")
    assert roles.holder("live") is None and t.evidence["capital_fraction"] == 0.0


def test_demote_sandbox_to_challenger_moves_the_alias(referee, store, roles) -> None:
    promote(referee, "m", "sandbox", "ana", "try it")
    assert roles.holder("sandbox") == "m"
    demote(referee, "m", "challenger", "ana", "needs more bouts")
    assert roles.holder("sandbox") is None and roles.holder("challenger") == "m"
    assert holders(store, "challenger") == ["m"]


def test_gate_failed_and_skipped(store) -> None:
    override_gate(store, "c", "stress", "skipped", "ana", "scenario set being rebuilt")
    override_gate(store, "c", "backtest", "failed", "ana", "look-ahead found in a feature")
    assert not passed_gates(store, "c", ("backtest", "stress"))
    assert passed_gates(store, "c", ("stress",))
    v = {r.gate: r for r in store.verdicts("c")}
    assert v["backtest"].failures == {"override": "look-ahead found in a feature"}
    assert v["stress"].figures["status"] == "skipped" and v["stress"].figures["who"] == "ana"
    acts = [(r.actor, r.action) for r in store.audit_log(subject="c")]
    assert acts == [("operator:ana", "override:gate_failed"), ("operator:ana", "override:gate_skipped")]
    with pytest.raises(OverrideRefused, match="failed, skipped"):
        override_gate(store, "c", "stress", "passed", "ana", "x")


def test_paused_auto_promotion_holds_the_sandbox(referee, store, roles, cfg) -> None:
    from .test_sandbox_live import FALLING, RISING

    referee.apply(Transition("prod", "to_production", "production", "t", alias="production"))
    referee.apply(Transition("good", "to_sandbox", "sandbox", "t", alias="sandbox"))
    t0 = datetime.now(UTC)
    write_record(store, "prod", t0, FALLING, trades=3)
    write_record(store, "good", t0, RISING, trades=3)
    set_auto_promotion(store, False, "ana", "holiday week")
    assert auto_promotion_paused(store)
    held = review_sandbox(referee, cfg, now=t0 + timedelta(days=3))
    assert held.decisions == ["auto-promotion paused by an operator: sandbox decisions held"]
    assert roles.holder("production") == "prod"
    set_auto_promotion(store, True, "ana", "back")
    assert review_sandbox(referee, cfg, now=t0 + timedelta(days=3)).production == "good"
    acts = [r.action for r in store.audit_log(subject="arena")]
    assert acts == ["override:auto_promotion=on", "override:auto_promotion=off"]


def test_paused_auto_promotion_holds_the_hill(referee, store, roles, data) -> None:
    from cappuccino_core.arena import ArenaConfig, run_hill, windows

    from .conftest import ConstPolicy

    cfg = ArenaConfig(min_trades=0, wins_to_sandbox=1, window_bars=40)
    pols = {"champ": ConstPolicy(1.0), "weak": ConstPolicy(-1.0)}
    set_auto_promotion(store, False, "ana", "hold")
    from cappuccino_core.config.costs import CostsConfig
    from cappuccino_core.config.env import EnvConfig
    from tests.env_presets import NO_BAND

    env = EnvConfig(**NO_BAND)
    rep = run_hill(
        ["champ", "weak"], pols.__getitem__, data, windows(data, 40), env, CostsConfig(), cfg, referee
    )
    assert rep.promoted == [] and holders(store, "sandbox") == []
    set_auto_promotion(store, True, "ana", "go")
    again = run_hill(
        ["champ", "weak"], pols.__getitem__, data, windows(data, 40), env, CostsConfig(), cfg, referee
    )
    assert again.promoted == ["champ"]  # the same contest promotes once resumed
