"""The study's selection gate: a trial becomes challenger only by beating the strategies on CPCV with a low
PBO and a high DSR; otherwise nothing is registered and the verdict says why, in numbers."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.metrics.deflated import deflated_sharpe_ratio
from cappuccino_core.metrics.ratios import sharpe_per_bar
from cappuccino_core.registry import get_role, summarize_study, trial_run
from cappuccino_core.registry.selection import SelectionRules, candidate_dsr, select
from cappuccino_core.registry.trials import TrialRecord

T = 400


def record(trial: int, objective: float, **metrics: float) -> TrialRecord:
    return TrialRecord(f"run{trial}", trial, "COMPLETE", objective, {}, dict(metrics), None, True)


def matrix(seed: int = 0, skill: float = 0.0) -> np.ndarray:
    """(T x 4) returns; column 0 has a per-bar mean of ``skill``."""
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0, 0.01, (T, 4))
    m[:, 0] += skill
    return m


def test_candidate_dsr_is_the_metrics_module_dsr_with_the_study_trial_count() -> None:
    m = matrix(1, 0.002)
    expected = deflated_sharpe_ratio(m[:, 0], sharpe_per_bar(m.T), n_trials=12)
    assert candidate_dsr(m, 0, 12) == pytest.approx(expected)


def test_a_skilled_trial_with_low_pbo_beating_the_strategies_is_selected() -> None:
    m = matrix(2, 0.003)  # Sharpe per bar ~0.3 over 400 bars: DSR ~1
    trials = [record(0, 1.5), record(1, 0.2)]
    sel = select(trials, m, ["run0", "run1", "x", "y"], 0.1, 4, SelectionRules(), {"trend": 1.0})
    assert [c.trial for c in sel.selected] == [0]
    assert sel.best_strategy == "trend" and sel.best_strategy_objective == 1.0
    assert sel.verdict().startswith("challenger: trial 0 (objective 1.500 > trend 1.000, PBO 0.100 < 0.5")
    failed = {c.name for c in sel.candidates[1].checks if not c.passed}
    assert failed == {"beats_strategies", "dsr"}


def test_each_check_can_fail_on_its_own_and_the_verdict_gives_the_numbers() -> None:
    skilled = matrix(3, 0.003)
    ids = ["run0", "a", "b", "c"]
    t = [record(0, 0.8, **{"test/turnover": 250.0, "test/cost_share": 0.42, "test/zero_cost_sharpe": 3.1})]
    # PBO too high.
    sel = select(t, skilled, ids, 0.6, 4, SelectionRules())
    assert not sel.selected and "PBO 0.600 >= 0.5" in sel.verdict()
    # PBO not computed.
    assert "PBO not computed" in select(t, skilled, ids, None, 4, SelectionRules()).verdict()
    # A strategy does better.
    v = select(t, skilled, ids, 0.1, 4, SelectionRules(), {"buy_and_hold_btc": 0.9}).verdict()
    assert "objective 0.800 <= buy_and_hold_btc 0.900" in v
    assert "turnover 250.0x/yr, costs 42.0% of equity per split, zero-cost Sharpe 3.10" in v
    # No skill: DSR low.
    sel = select(t, matrix(4, 0.0), ids, 0.1, 50, SelectionRules())
    assert sel.candidates[0].dsr is not None and sel.candidates[0].dsr < 0.9
    assert "DSR" in sel.verdict() and not sel.selected
    # Below equal weight (objective <= 0) fails even without strategies.
    assert (
        "equal_weight_hold 0.000"
        in select([record(0, -0.1)], skilled, ids, 0.1, 4, SelectionRules()).verdict()
    )


def test_summarize_study_registers_nothing_when_the_gate_fails(tracking, tiny_ppo, spec) -> None:
    rng = np.random.default_rng(5)
    for n in range(4):  # noise: no trial has skill
        with trial_run(tracking, "noise-study", n) as run:
            run.log_spec(spec)
            run.log_metrics(
                {"test/turnover": 120.0 + n, "test/cost_share": 0.3, "test/zero_cost_sharpe": 0.1}
            )
            run.log_test_returns(rng.normal(0.0, 0.01, T))
            run.log_policy(tiny_ppo, spec)
            run.log_objective(0.1 * n)
    s = summarize_study("noise-study", tracking, selection=SelectionRules(), strategies={"trend": 0.05})
    assert s.registered == [] and s.selection is not None and not s.selection.selected
    assert s.selection.verdict().startswith("no challenger: best trial 3 fails")
    assert get_role("challenger", tracking=tracking) is None
    run = tracking.activate().get_run(s.summary_run_id)
    assert run.data.tags["selection"] == s.selection.verdict()
    assert run.data.metrics["n_selected"] == 0 and run.data.metrics["best_strategy_objective"] == 0.05
