"""run_all_gates: verdicts stored in the state database, explanations returned, later gates skipped."""

from __future__ import annotations

from cappuccino_core.config import load_settings
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.features.dataset import SOURCE_REAL
from cappuccino_core.gates import run_all_gates
from cappuccino_core.state.store import StateStore
from tests.unit.gates.policies import Alternate, Constant


def _settings(tmp_path, **gates):
    return load_settings(None, paths={"state_url": f"sqlite:///{tmp_path}/state.db", "reports_dir": tmp_path},
                         gates=gates)  # fmt: skip


def _held_out():
    data = toy_dataset(200, 3, 2, 4, seed=11)
    data.source[:] = SOURCE_REAL
    return data


def test_verdicts_are_stored_and_a_failure_skips_the_rest(tmp_path) -> None:
    s = _settings(tmp_path)
    store = StateStore(s.paths.state_url)
    out = run_all_gates("run-a", s, store=store, policy=Alternate(3), held_out=_held_out(),
                        n_complete_trials=0,
                        mirror=False)  # fmt: skip
    assert out["backtest"] is False and out["stress"] == "skipped" and out["paper"] == "skipped"
    assert "total_return" in out["explanations"]["backtest"]
    [v] = store.verdicts("run-a")
    assert v.gate == "backtest" and not v.passed and "total_return" in v.failures
    assert v.inputs["n_complete_trials"] == 0 and v.figures["status"] == "failed"
    assert (tmp_path / "gates" / "run-a" / "backtest" / "verdict.json").is_file()


def test_a_young_paper_period_is_pending_and_not_stored(tmp_path) -> None:
    s = _settings(tmp_path, enabled=["backtest", "paper"])
    store = StateStore(s.paths.state_url)
    out = run_all_gates("run-b", s, store=store, policy=Constant(3, -1.0), held_out=_held_out(),
                        n_complete_trials=5, mirror=False)  # fmt: skip
    assert out["backtest"] is True and out["paper"] == "pending"
    assert [v.gate for v in store.verdicts("run-b")] == ["backtest"]
