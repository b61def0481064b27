"""Each extension point takes a new entry from ONE file: here a toy risk rule, gate, reward and indicator are
defined and registered in this test file only (no other project file touched) and shown in use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import Field

from cappuccino_core.config import load_settings
from cappuccino_core.config.features import FeaturesConfig, IndicatorConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.env.rewards import REWARDS, reward
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.features.dataset import SOURCE_REAL
from cappuccino_core.features.indicators import INDICATORS, BarArrays, Indicator, register_indicator
from cappuccino_core.gates import run_all_gates
from cappuccino_core.gates.base import GATES, GateInputs, gate
from cappuccino_core.gates.verdict import Verdict, check
from cappuccino_core.state.store import StateStore
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.trading.risk.base import RISK_RULES, ConfiguredRule, RuleSettings, risk_rule
from tests.unit.env.test_episodes_observation_rewards import _rewards
from tests.unit.features.helpers import make_frames
from tests.unit.gates.policies import Constant
from tests.unit.trading.test_risk_rules import OFF, ctx

# --- the four toy plugins, each what one new file would hold ------------------------------------------


class ToyCapSettings(RuleSettings):
    max_units: float = Field(2.0, gt=0)


@risk_rule
class ToyUnitCap(ConfiguredRule):
    """Buys of more than ``max_units`` units are vetoed outright (set to 0)."""

    name = "toy_unit_cap"
    stage = 95
    Settings = ToyCapSettings
    settings: ToyCapSettings

    def apply(self, qty: np.ndarray, ctx: object) -> np.ndarray:
        return np.where(qty > self.settings.max_units, 0.0, qty)


@gate
class ToyGate:
    """Passes when the policy is flat: reads the policy's first action on a zero observation."""

    name = "toy_flat"
    arena_entry = False

    def run(self, inputs: GateInputs) -> Verdict:
        action = float(np.abs(inputs.policy.predict(np.zeros((1, 1)))).max())
        checks = [check("max_abs_action", action, "<=", 0.0)]
        return Verdict.from_checks(self.name, inputs.run_id, checks, {"max_abs_action": action}, {})


@reward("toy_triple_excess")
class ToyTripleExcess:
    """R - 3 b: a harsher benchmark."""

    def __init__(self, env: object, n: int) -> None:
        self.steps = np.zeros(n, np.int64)

    def __call__(self, ret: np.ndarray, bench_ret: np.ndarray) -> np.ndarray:
        self.steps += 1
        return ret - 3.0 * bench_ret

    def reset(self, idx: np.ndarray) -> None:
        self.steps[idx] = 0


def _range_rel(b: BarArrays, p: dict[str, object]) -> tuple[np.ndarray, ...]:
    return ((b.high - b.low) / b.close,)


register_indicator(Indicator("toy_range_rel", {}, ("toy_range_rel",), (0.0,), _range_rel, lambda p: 0))


@pytest.fixture(scope="module", autouse=True)
def _forget_toys() -> Iterator[None]:
    yield
    RISK_RULES.remove("toy_unit_cap")
    GATES.remove("toy_flat")
    REWARDS.remove("toy_triple_excess")
    INDICATORS.remove("toy_range_rel")


# --- in use --------------------------------------------------------------------------------------------


def test_the_toy_rule_vetoes_large_buys_when_configured() -> None:
    rm = RiskManager.from_config(RiskConfig(**OFF, rules={"toy_unit_cap": {"max_units": 2.0}}))
    assert rm.apply(np.array([[1.5, 3.0]]), ctx([100.0, 10.0], 10_000.0, [0.0, 0.0])).tolist() == [[1.5, 0.0]]
    off = RiskManager.from_config(RiskConfig(**OFF))
    assert off.apply(np.array([[1.5, 3.0]]), ctx([100.0, 10.0], 10_000.0, [0.0, 0.0])).tolist() == [
        [1.5, 3.0]
    ]


def test_the_toy_gate_verdict_is_returned_and_stored(tmp_path: Path) -> None:
    s = load_settings(None, paths={"state_url": f"sqlite:///{tmp_path}/state.db", "reports_dir": tmp_path},
                      gates={"enabled": ["toy_flat"]})  # fmt: skip
    from cappuccino_core.env.toy import toy_dataset

    held_out = toy_dataset(50, 3, 2, 4, seed=1)
    assert held_out.source is not None
    held_out.source[:] = SOURCE_REAL
    store = StateStore(s.paths.state_url)
    out = run_all_gates("run-t", s, store=store, policy=Constant(3, 0.5), held_out=held_out, mirror=False,
                        n_complete_trials=0)  # fmt: skip
    assert out["toy_flat"] is False and "max_abs_action" in out["explanations"]["toy_flat"]
    [v] = store.verdicts("run-t")
    assert v.gate == "toy_flat" and not v.passed and "max_abs_action" in v.failures
    out = run_all_gates("run-u", s, store=store, policy=Constant(3, 0.0), held_out=held_out, mirror=False,
                        n_complete_trials=0)  # fmt: skip
    assert out["toy_flat"] is True


def test_an_unknown_gate_name_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match=r"unknown gate.*'no_such_gate'"):
        load_settings(None, gates={"enabled": ["backtest", "no_such_gate"]})


def test_the_toy_reward_is_computed_by_the_kernel() -> None:
    prices = [[100.0, 10.0], [110.0, 10.0], [110.0, 12.0]]
    r = _rewards("toy_triple_excess", prices, [[1.0, 0.0], [1.0, 0.0]])
    # All in asset 0 (+10%, then 0%); benchmark +5%, then +100/1050 (test_excess_over_equal_weight_reward).
    assert r == pytest.approx([0.10 - 3 * 0.05, 0.0 - 3 * 100 / 1050], rel=1e-7)


def test_the_toy_indicator_column_appears() -> None:
    frames = make_frames(120)
    cfg = FeaturesConfig(indicators=[IndicatorConfig(name="close"), IndicatorConfig(name="toy_range_rel")],
                         normalisation="none")  # fmt: skip
    ds = build_dataset(frames, cfg, "1h")
    assert ds.spec.feature_names == ("close_logret", "toy_range_rel")
    f = frames["BTC"]
    row = len(f) - 1
    expected = (f["high"][row] - f["low"][row]) / f["close"][row]
    assert ds.features[-1, 0, 1] == pytest.approx(expected, rel=1e-6)  # float32 features
