"""``run_all_gates(run_id, settings)``: what the gates flow calls for one candidate model.

For the model (MLflow run id): load the policy against its own FeatureSpec, count the COMPLETE trials of
its study (maturity tier), build the held-out real window (bars from ``training.data.holdout_time`` on,
features per the model's spec), run gate 1; build the stress dataset from the newest scenario set, run
gate 2; read the paper record from the state store, grade it (gate 3: pending until long enough). Each
verdict goes to the state store and, when configured, to MLflow. Every input can be passed in instead
(tests, the CLI). The gates are looked up by name in ``base.GATES`` (builtin.py holds the three built-in
ones; a new gate is one new file in this package). Returns ``{gate: True | False | "pending" |
"skipped"}`` plus ``"explanations"``.
"""

from __future__ import annotations

from typing import Any

from cappuccino_core.config import Settings
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.gates.base import GATES, GateInputs
from cappuccino_core.gates.inputs import count_complete_trials, held_out_dataset
from cappuccino_core.gates.paper import PaperRecord
from cappuccino_core.gates.record import mirror_to_mlflow, save_verdict
from cappuccino_core.gates.stress_data import ScenarioBatch
from cappuccino_core.gates.verdict import Verdict
from cappuccino_core.state.store import StateStore

__all__ = ["count_complete_trials", "held_out_dataset", "run_all_gates"]


def _finish(v: Verdict, inputs: GateInputs, mirror: bool) -> Verdict:
    save_verdict(v, inputs.store, inputs.out_dir(v.gate))
    settings, tracking = inputs.settings, inputs.tracking
    if mirror and settings.gates.mirror_to_mlflow:
        mirror_to_mlflow(v, tracking)
    return v


def run_all_gates(
    run_id: str,
    settings: Settings,
    *,
    store: StateStore | None = None,
    tracking: Any = None,
    policy: Any = None,
    held_out: MarketDataset | None = None,
    n_complete_trials: int | None = None,
    scenarios: ScenarioBatch | None = None,
    paper: PaperRecord | None = None,
    mirror: bool = True,
    notifier: Any = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Run the enabled gates for ``run_id``; store every verdict; return ``{gate: outcome, ...}``.
    ``notifier`` (a :class:`cappuccino_core.notify.Notifier`) hears every decided verdict; ``progress`` (a
    :data:`cappuccino_core.progress.ProgressCallback`) follows the stress run."""
    cfg = settings.gates
    store = store or StateStore(settings.paths.state_url)
    if tracking is None and (policy is None or n_complete_trials is None or mirror):
        from cappuccino_core.registry import Tracking

        tracking = Tracking.from_settings(settings)
    out: dict[str, Any] = {}
    explanations: dict[str, str] = {}
    spec = None
    if policy is None:
        from cappuccino_core.registry import load_policy
        from cappuccino_core.registry.models import model_spec

        # The model's own spec: load it against itself, then build data with it.
        spec = model_spec(run_id, tracking)
        policy = load_policy(run_id, spec, tracking)
    spec = spec or getattr(policy, "spec", None) or (held_out.spec if held_out is not None else None)
    if spec is None:
        raise ValueError(f"no FeatureSpec for {run_id}: pass a policy with .spec or a held_out dataset")
    inputs = GateInputs(run_id, settings, store, tracking, policy, spec, held_out, n_complete_trials,
                        scenarios, paper, progress)  # fmt: skip
    gates = [GATES.get(name) for name in cfg.enabled]  # an unknown name fails before any gate runs
    failed = False
    for gate in gates:
        if failed and cfg.stop_on_failure:
            out[gate.name] = "skipped"
            continue
        v = gate.run(inputs)
        explanations[gate.name] = v.explain()
        if v.status == "pending":
            out[gate.name] = "pending"
            continue
        _finish(v, inputs, mirror)
        if notifier is not None:
            from cappuccino_core.notify.events import gate_result

            notifier.notify(gate_result(run_id, gate.name, v.passed, v.explain()))
        out[gate.name] = v.passed
        failed = failed or not v.passed
    out["explanations"] = explanations
    return out
