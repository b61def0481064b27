"""The monthly loop: fresh data and CGE scenarios, retrain, gates, arena vs production, promote if better."""

from __future__ import annotations

from prefect import flow

from flows.arena import arena
from flows.augment import augment
from flows.gates import gates
from flows.ingest import ingest
from flows.train import train
from tasks.common import emergency_stopped, settings_for


@flow(name="retrain")
def retrain(
    config: str | None = None,
    source: str = "sample",
    phase1_trials: int | None = None,
    phase2_trials: int | None = None,
    workers: int | None = None,
    max_splits: int | None = None,
    skip_augment: bool = False,
    dry_run: bool = False,
    inject_train_failures: int = 0,
) -> dict:
    settings = settings_for(config)
    if emergency_stopped(settings):
        return {"halted": "emergency stop"}
    out: dict = {"ingest": ingest(config, source)}
    out["augment"] = "skipped" if skip_augment else augment(config, force=True)
    out["train"] = train(
        config, phase1_trials, phase2_trials, workers, max_splits, inject_failures=inject_train_failures
    )
    out["gates"] = gates(config)
    out["arena"] = arena(config, dry_run=dry_run)
    return out
