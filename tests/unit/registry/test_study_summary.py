"""Per-study PBO and DSR, computed by cappuccino_core.metrics, logged to MLflow; best trials registered;
the report shows them beside the top trials."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from rich.console import Console

from cappuccino_core.metrics.deflated import deflated_sharpe_ratio
from cappuccino_core.metrics.pbo import probability_of_backtest_overfitting
from cappuccino_core.metrics.ratios import sharpe_per_bar
from cappuccino_core.registry import get_role, study_report, summarize_study, trial_run

STUDY = "summary-study"
T = 320


@pytest.fixture()
def study_runs(tracking, tiny_ppo, spec) -> dict:
    """5 complete trials (returns logged; the best two with a policy), one pruned, one failed."""
    rng = np.random.default_rng(11)
    objectives = [0.2, 0.9, -0.1, 0.5, 0.05]
    returns = {}
    for n, obj in enumerate(objectives):
        r = rng.normal(0.0002 * (n + 1), 0.01, T)
        with trial_run(tracking, STUDY, n) as run:
            run.log_params({"net_arch": ["64x64", "128x128"][n % 2], "learning_rate": 1e-4 * (n + 1)})
            run.log_spec(spec)
            run.log_metrics({"test/sharpe": 1.0 + obj, "test/ew_sharpe": 1.0})
            run.log_test_returns(r)
            if obj >= 0.5:
                run.log_policy(tiny_ppo, spec)
            run.log_objective(obj)
        returns[run.run_id] = (n, obj, r)
    with pytest.raises(optuna.TrialPruned), trial_run(tracking, STUDY, 5):
        raise optuna.TrialPruned("pruned at split 2")
    with pytest.raises(RuntimeError), trial_run(tracking, STUDY, 6):
        raise RuntimeError("OOM")
    return returns


def test_summary_logs_pbo_and_dsr_from_the_metrics_module(tracking, study_runs) -> None:
    s = summarize_study(STUDY, tracking, register_top_k=3)
    # Recompute with the metrics module directly: the registry only wires it up.
    run_ids = [rid for rid, (n, _, _) in sorted(study_runs.items(), key=lambda kv: -kv[1][1])]
    matrix = np.stack([study_runs[rid][2] for rid in run_ids], axis=1)
    assert s.n_complete == 5 and s.n_pruned == 1 and s.n_failed == 1
    assert s.n_trials == 6  # COMPLETE + PRUNED count for the deflation
    assert s.best_trial == 1 and s.best_objective == 0.9
    expected_pbo = probability_of_backtest_overfitting(matrix, n_partitions=16).pbo
    sharpes = sharpe_per_bar(matrix.T)
    expected_dsr = deflated_sharpe_ratio(study_runs[s.best_run_id][2], sharpes, n_trials=6)
    assert s.pbo == pytest.approx(expected_pbo) and 0.0 <= s.pbo <= 1.0
    assert s.dsr == pytest.approx(expected_dsr) and 0.0 <= s.dsr <= 1.0

    client = tracking.activate()
    run = client.get_run(s.summary_run_id)
    assert run.data.tags["run_type"] == "study_summary" and run.data.tags["best_run_id"] == s.best_run_id
    assert run.data.metrics["pbo"] == pytest.approx(expected_pbo)
    assert run.data.metrics["dsr"] == pytest.approx(expected_dsr)
    assert run.data.metrics["n_trials"] == 6

    # The best trials that logged a policy are registered, tagged; the best is the challenger.
    assert [v.tags["trial"] for v in s.registered] == ["1", "3"]
    best = s.registered[0]
    assert best.run_id == s.best_run_id and "challenger" in best.aliases
    for v in s.registered:
        assert v.tags["study"] == STUDY
        assert float(v.tags["pbo"]) == pytest.approx(expected_pbo)
        assert float(v.tags["dsr"]) == pytest.approx(expected_dsr)
        assert "objective" in v.tags and "feature_spec_hash" in v.tags
    assert get_role("challenger", tracking=tracking).run_id == s.best_run_id


def test_summary_accepts_a_returns_matrix(tracking, study_runs) -> None:
    ids = list(study_runs)
    matrix = np.stack([study_runs[i][2] for i in ids], axis=1)
    s = summarize_study(STUDY, tracking, returns=matrix, return_run_ids=ids, n_trials=40, register_top_k=0)
    assert s.n_trials == 40 and s.registered == []
    assert s.pbo == pytest.approx(probability_of_backtest_overfitting(matrix).pbo)
    with pytest.raises(ValueError, match="return_run_ids"):
        summarize_study(STUDY, tracking, returns=matrix, return_run_ids=ids[:2])


def test_summary_of_a_study_too_small_for_pbo(tracking) -> None:
    with trial_run(tracking, "tiny", 0) as run:
        run.log_test_returns(np.full(50, 0.001))
        run.log_objective(0.1)
    s = summarize_study("tiny", tracking)
    assert s.pbo is None and any("at least 2" in n for n in s.notes)
    metrics = tracking.activate().get_run(s.summary_run_id).data.metrics
    assert "pbo" not in metrics and metrics["n_trials"] == 1


def test_report_shows_top_trials_beside_pbo_and_dsr(tracking, study_runs) -> None:
    empty = study_report(STUDY, tracking)
    assert empty.pbo is None and empty.summary_run_id is None and len(empty.trials) == 5
    s = summarize_study(STUDY, tracking, register_top_k=2)
    rep = study_report(STUDY, tracking, top=3)
    assert rep.pbo == pytest.approx(s.pbo) and rep.dsr == pytest.approx(s.dsr) and rep.n_trials == 6
    rows = rep.rows()
    assert [r["trial"] for r in rows] == [1, 3, 0]  # best objective first
    assert rows[0]["sharpe_minus_ew"] == pytest.approx(0.9)
    assert rows[0]["params"]["net_arch"] == "128x128" and "learning_rate" in rows[0]["params"]
    assert rows[0]["version"] is not None and rows[0]["roles"] == ["challenger"]
    console = Console(record=True, width=200)
    console.print(rep)
    text = console.export_text()
    assert "PBO" in text and "DSR" in text and f"{s.pbo:.3f}" in text
    assert "net_arch=128x128" in text and "7 (5 complete, 1 pruned, 1 failed)" in text
