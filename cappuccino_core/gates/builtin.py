"""The three built-in gates behind the :class:`~cappuccino_core.gates.base.Gate` interface.

``backtest``  gate 1 on the held-out real window (backtest_gate.py), graded by the study's maturity tier;
``stress``    gate 2 on CGE stress scenarios from the newest scenario set (stress.py, stress_data.py);
``paper``     gate 3, the paper-trading record's grade (paper.py), pending until long enough.
"""

from __future__ import annotations

from cappuccino_core.gates.backtest_gate import run_backtest_gate
from cappuccino_core.gates.base import GateInputs, gate
from cappuccino_core.gates.inputs import count_complete_trials, held_out_dataset
from cappuccino_core.gates.paper import PaperRecord, grade_paper
from cappuccino_core.gates.stress import run_stress_gate
from cappuccino_core.gates.stress_data import latest_set, load_batch, stress_dataset
from cappuccino_core.gates.verdict import Verdict


@gate
class BacktestGate:
    """Gate 1: backtest on the held-out real window."""

    name = "backtest"
    arena_entry = True

    def run(self, inputs: GateInputs) -> Verdict:
        """Build the window and the trial count unless given, then grade."""
        s, i = inputs.settings, inputs
        data = i.held_out if i.held_out is not None else held_out_dataset(s, i.spec)
        n = i.n_complete_trials
        if n is None:
            n = count_complete_trials(i.run_id, i.tracking)
        v, _ = run_backtest_gate(i.policy, data, s.env, s.costs, s.gates, n, run_id=i.run_id)
        return v


@gate
class StressGate:
    """Gate 2: CGE stress scenarios."""

    name = "stress"
    arena_entry = True

    def run(self, inputs: GateInputs) -> Verdict:
        """Load the scenario set unless given, cut it to the configured size, run the policy over it."""
        s, i, cfg = inputs.settings, inputs, inputs.settings.gates
        batch = i.scenarios
        if batch is None:
            batch = load_batch(cfg.stress_scenario_set or latest_set(s.cge.output_dir))
        tickers = i.spec.tickers if i.spec is not None else batch.tickers
        batch = batch.subset(tuple(tickers), cfg.stress_max_scenarios, cfg.stress_max_hours)
        sdata = stress_dataset(batch, i.spec, cfg.stress_bars_seed)
        v, _ = run_stress_gate(
            i.policy, sdata, batch.ids, batch.regimes, s.env, s.costs, cfg,
            run_id=i.run_id, out_dir=i.out_dir(self.name), inputs={"scenario_set": batch.source},
            progress=i.progress,
        )  # fmt: skip
        return v


@gate
class PaperGate:
    """Gate 3: the paper-trading record's grade (pending until long and busy enough)."""

    name = "paper"
    arena_entry = False

    def run(self, inputs: GateInputs) -> Verdict:
        """Grade the given record, or the one in the state store."""
        rec = (
            inputs.paper if inputs.paper is not None else PaperRecord.from_store(inputs.store, inputs.run_id)
        )
        return grade_paper(rec, inputs.settings.gates)
