"""main_job (`make run`): the whole lifecycle on the embedded default with small budgets, then a summary."""

from __future__ import annotations

from prefect import flow

from flows.arena import arena
from flows.gates import gates
from flows.ingest import ingest
from flows.train import train
from tasks.common import settings_for


@flow(name="main-job")
def main_job(config: str | None = None, trials: int = 2, max_splits: int = 1) -> str:
    settings = settings_for(config)
    parts = [f"ingest: {ingest(config)}"]
    tr = train(config, phase1_trials=trials, phase2_trials=trials, workers=1, max_splits=max_splits)
    parts.append(f"trained: phase 1 {tr['phase1']['states']}, phase 2 {tr['phase2']['states']}")
    g = gates(config)
    parts.append("gates: " + (", ".join(f"{k[:8]} {v}" for k, v in g.items()) or "not available (skipped)"))
    parts += arena(config)
    from cappuccino_core.registry import Tracking, get_role

    prod = get_role("production", tracking=Tracking.from_settings(settings))
    parts.append(f"production model: {prod.run_id if prod else 'none yet'}")
    parts.append(
        f"look: mlflow ui --backend-store-uri {settings.paths.mlflow_tracking_uri}; prefect server start"
    )
    summary = "\n".join(parts)
    print(summary)
    return summary
