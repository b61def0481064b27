"""Validation gates: backtest on held-out real data, CGE stress, paper-trading grade.

* :func:`run_backtest_gate` (backtest_gate.py), :func:`run_stress_gate` (stress.py, input from
  stress_data.py), :func:`grade_paper` over a :class:`PaperRecord` (paper.py): each returns a
  :class:`Verdict` (verdict.py) whose failed checks name the figure and the threshold.
* :func:`run_all_gates` (pipeline.py): the entry point of the gates flow, a loop over ``gates.enabled``
  looked up by name in ``base.GATES`` (the built-in three in builtin.py; a new gate is one new file here);
  verdicts are stored in the state database and mirrored to MLflow (record.py). Thresholds:
  ``cappuccino_core.config.gates.GatesConfig``.
"""

from cappuccino_core.gates.backtest_gate import backtest_checks, run_backtest_gate, tier_for
from cappuccino_core.gates.paper import PaperRecord, grade_paper
from cappuccino_core.gates.pipeline import count_complete_trials, held_out_dataset, run_all_gates
from cappuccino_core.gates.record import mirror_to_mlflow, save_verdict
from cappuccino_core.gates.stress import run_stress, run_stress_gate, scenario_table
from cappuccino_core.gates.stress_data import ScenarioBatch, load_batch, stress_dataset
from cappuccino_core.gates.verdict import Check, Verdict, check

__all__ = [
    "Check",
    "PaperRecord",
    "ScenarioBatch",
    "Verdict",
    "backtest_checks",
    "check",
    "count_complete_trials",
    "grade_paper",
    "held_out_dataset",
    "load_batch",
    "mirror_to_mlflow",
    "run_all_gates",
    "run_backtest_gate",
    "run_stress",
    "run_stress_gate",
    "save_verdict",
    "scenario_table",
    "stress_dataset",
    "tier_for",
]
