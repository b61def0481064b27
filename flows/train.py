"""Train: phase 1 (timeframe x lookback, small budget) then phase 2 (full study with the best phase-1 config).
Each phase runs one process per Optuna worker; the flow retries a phase whose workers failed."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.common import record_stage, settings_for
from tasks.stages import train_phase


@flow(name="train", retries=1, retry_delay_seconds=30)
def train(
    config: str | None = None,
    phase1_trials: int | None = None,
    phase2_trials: int | None = None,
    workers: int | None = None,
    max_splits: int | None = None,
    inject_failures: int = 0,
) -> dict:
    """``inject_failures``: fault injection for tests and drills -- the first ``inject_failures`` attempts
    of this flow run fail in their first training task (the flow-level retry must recover)."""
    settings = settings_for(config)
    fault = inject_failures > 0 and int(flow_run.get_run_count() or 1) <= inject_failures
    p1 = train_phase(settings, 1, phase1_trials, workers, max_splits, inject_failure=fault)
    p2 = train_phase(settings, 2, phase2_trials, workers, max_splits)
    if any(p.get("exit_codes") and any(c not in (0, None) for c in p["exit_codes"]) for p in (p1, p2)):
        raise RuntimeError(f"a training worker failed: {p1['exit_codes']} {p2['exit_codes']} (flow retries)")
    record_stage(settings, "train", "done", phase1=p1["states"], phase2=p2["states"])
    return {"phase1": p1, "phase2": p2}
