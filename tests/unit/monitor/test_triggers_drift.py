"""Retrain triggers (each with its evidence in the audit log, one launch per cooldown) and the drift
statistics (PSI and KS against hand-computed values)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cappuccino_core.config.monitor import RetrainTriggerConfig
from cappuccino_core.monitor import feature_drift, fire_retrain, ks, psi
from cappuccino_core.monitor.triggers import degradation_trigger, drift_trigger, growth_trigger

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_psi_by_hand() -> None:
    train = np.arange(100, dtype=float)  # deciles: 10 values per bin
    assert psi(train, train) == pytest.approx(0.0)
    # every recent value in the top bin: q = (eps, ..., eps, 1), p = 0.1 each
    eps = 1e-4
    want = 9 * (eps - 0.1) * math.log(eps / 0.1) + (1 - 0.1) * math.log(1 / 0.1)
    assert psi(train, np.full(50, 1_000.0)) == pytest.approx(want)


def test_ks_by_hand_and_bad_input() -> None:
    assert ks(np.array([0.0, 1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0, 5.0])) == pytest.approx(0.5)
    assert ks(np.arange(10.0), np.arange(10.0)) == 0.0
    with pytest.raises(ValueError, match="recent sample holds NaN"):
        ks(np.arange(10.0), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="F = 2 names"):
        feature_drift(np.zeros((10, 3)), np.zeros((10, 3)), ["a", "b"])


def test_feature_drift_names_the_shifted_feature() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(2_000, 2))
    recent = np.column_stack([rng.normal(size=500), rng.normal(loc=1.5, size=500)])
    stats = feature_drift(train, recent, ["calm", "shifted"])
    assert stats["calm"] < 0.1 < 0.25 < stats["shifted"]
    t = drift_trigger(RetrainTriggerConfig(), stats)
    assert t.fired and "shifted" in t.reason and list(t.evidence["drifted"]) == ["shifted"]


def test_growth_and_degradation_triggers() -> None:
    cfg = RetrainTriggerConfig()
    assert not growth_trigger(cfg, 100_000.0, 110_000.0).fired  # exactly 10%: not over
    g = growth_trigger(cfg, 100_000.0, 110_001.0)
    assert g.fired and g.evidence["growth"] == pytest.approx(0.10001)
    assert not growth_trigger(cfg.model_copy(update={"on_account_growth": False}), 1.0, 2.0).fired
    assert not degradation_trigger(cfg, "p", {}).fired
    assert degradation_trigger(cfg, "p", {"paper.sharpe": "low"}).fired


def test_one_retrain_per_cooldown_each_trigger_audited(settings) -> None:
    from cappuccino_core.state import StateStore

    store = StateStore(settings.paths.state_url)
    cfg = RetrainTriggerConfig(cooldown_hours=24, parameters={"skip_augment": True})
    launched: list[tuple[str, dict]] = []

    def launch(name: str, params: dict) -> str:
        launched.append((name, params))
        return f"run-{len(launched)}"

    fired = [growth_trigger(cfg, 100.0, 120.0), degradation_trigger(cfg, "p", {"paper.sharpe": "low"})]
    assert fire_retrain(store, cfg, fired, launch, T0) == "run-1"
    assert fire_retrain(store, cfg, fired, launch, T0 + timedelta(hours=23)) is None  # cooldown
    assert launched == [("retrain/monthly", {"skip_augment": True})]
    rows = {(r.action, r.subject) for r in store.audit_log(limit=20)}
    assert ("retrain:started", "account_growth,degradation") in rows
    assert ("retrain:cooldown", "account_growth,degradation") in rows
    trig = [r for r in store.audit_log(subject="account_growth") if r.action == "retrain:trigger"]
    assert len(trig) == 2 and trig[0].evidence["growth"] == pytest.approx(0.2)
    started = next(r for r in store.audit_log(limit=20) if r.action == "retrain:started")
    assert started.evidence["flow_run"] == "run-1" and started.evidence["deployment"] == "retrain/monthly"


def test_a_second_decider_holding_the_lease_starts_nothing(settings) -> None:
    from cappuccino_core.monitor.triggers import LEASE
    from cappuccino_core.state import StateStore
    from cappuccino_core.state.lease import Lease

    store = StateStore(settings.paths.state_url)
    cfg = RetrainTriggerConfig()
    fired = [growth_trigger(cfg, 100.0, 120.0)]
    with Lease(store, LEASE, holder="other-monitor"):
        assert fire_retrain(store, cfg, fired, lambda n, p: "run-x", T0) is None
    assert store.audit_log(limit=1)[0].action == "retrain:busy"
    assert fire_retrain(store, cfg, fired, lambda n, p: "run-y", T0) == "run-y"  # released: decides again
