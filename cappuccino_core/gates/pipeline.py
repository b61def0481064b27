"""``run_all_gates(run_id, settings)``: what the gates flow calls for one candidate model.

For the model (MLflow run id): load the policy against its own FeatureSpec, count the COMPLETE trials of
its study (maturity tier), build the held-out real window (bars from ``training.data.holdout_time`` on,
features per the model's spec), run gate 1; build the stress dataset from the newest scenario set, run
gate 2; read the paper record from the state store, grade it (gate 3: pending until long enough). Each
verdict goes to the state store and, when configured, to MLflow. Every input can be passed in instead
(tests, the CLI). Returns ``{gate: True | False | "pending" | "skipped"}`` plus ``"explanations"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cappuccino_core.config import Settings
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.gates.backtest_gate import run_backtest_gate
from cappuccino_core.gates.paper import PaperRecord, grade_paper
from cappuccino_core.gates.record import mirror_to_mlflow, save_verdict
from cappuccino_core.gates.stress import run_stress_gate
from cappuccino_core.gates.stress_data import ScenarioBatch, latest_set, load_batch, stress_dataset
from cappuccino_core.gates.verdict import Verdict
from cappuccino_core.state.store import StateStore


def count_complete_trials(run_id: str, tracking: Any) -> int:
    """COMPLETE trial runs in the experiment (study) of ``run_id``."""
    from cappuccino_core.registry.tracking import as_tracking

    client = as_tracking(tracking).activate()
    exp = client.get_run(run_id).info.experiment_id
    runs = client.search_runs(
        [exp], "tags.run_type = 'trial' and tags.trial_state = 'COMPLETE'", max_results=50_000
    )
    return len(runs)


def held_out_dataset(settings: Settings, spec: Any) -> MarketDataset:
    """The real bars from the holdout start on (plus the lookback's history), features per ``spec``."""
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.builder import apply_spec
    from cappuccino_core.training.data import holdout_time

    sub = settings.model_copy(
        update={"data": settings.data.model_copy(update={"tickers": list(spec.tickers)})}
    )
    aligned = load_aligned(sub, spec.timeframe)
    data = apply_spec(aligned.frames, spec, segments=aligned.segments)
    start_ns = holdout_time(sub, settings.data.timeframe)
    if start_ns is None:
        raise ValueError("training.holdout_fraction is 0: there is no held-out window for the backtest gate")
    lo = int(np.searchsorted(data.times, start_ns, side="left"))
    if data.n_bars - lo < 2:
        raise ValueError(f"the held-out window from {np.datetime64(start_ns, 'ns')} holds < 2 bars")
    return data.slice(max(0, lo - (spec.lookback - 1)), data.n_bars)


def _out_dir(settings: Settings, run_id: str, gate: str) -> Path:
    return Path(settings.paths.reports_dir) / settings.gates.reports_subdir / run_id / gate


def _finish(v: Verdict, settings: Settings, store: StateStore, tracking: Any, mirror: bool) -> Verdict:
    save_verdict(v, store, _out_dir(settings, v.run_id, v.gate))
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
    failed = False
    for gate in cfg.enabled:
        if failed and cfg.stop_on_failure:
            out[gate] = "skipped"
            continue
        if gate == "backtest":
            data = held_out if held_out is not None else held_out_dataset(settings, spec)
            n = (
                n_complete_trials
                if n_complete_trials is not None
                else count_complete_trials(run_id, tracking)
            )
            v, _ = run_backtest_gate(policy, data, settings.env, settings.costs, cfg, n, run_id=run_id)
        elif gate == "stress":
            batch = scenarios
            if batch is None:
                batch = load_batch(cfg.stress_scenario_set or latest_set(settings.cge.output_dir))
            tickers = spec.tickers if spec is not None else batch.tickers
            batch = batch.subset(tuple(tickers), cfg.stress_max_scenarios, cfg.stress_max_hours)
            sdata = stress_dataset(batch, spec, cfg.stress_bars_seed)
            v, _ = run_stress_gate(
                policy, sdata, batch.ids, batch.regimes, settings.env, settings.costs, cfg,
                run_id=run_id, out_dir=_out_dir(settings, run_id, gate),
                inputs={"scenario_set": batch.source}, progress=progress,
            )  # fmt: skip
        else:
            rec = paper if paper is not None else PaperRecord.from_store(store, run_id)
            v = grade_paper(rec, cfg)
            if v.status == "pending":
                out[gate] = "pending"
                explanations[gate] = v.explain()
                continue
        _finish(v, settings, store, tracking, mirror)
        if notifier is not None:
            from cappuccino_core.notify.events import gate_result

            notifier.notify(gate_result(run_id, gate, v.passed, v.explain()))
        out[gate] = v.passed
        explanations[gate] = v.explain()
        failed = failed or not v.passed
    out["explanations"] = explanations
    return out
