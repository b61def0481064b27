"""Train: phase 1 (timeframe x lookback, small budget) then phase 2 (full study with the best phase-1 config).
Each phase runs one process per Optuna worker; the flow retries a phase whose workers failed. Publishes the
`train-study` artifact (trials by state, best objective, PBO, DSR per study)."""

from __future__ import annotations

from prefect import flow

from tasks.common import record_stage, settings_for
from tasks.evidence import publish, study_markdown
from tasks.stages import train_phase


@flow(name="train", retries=1, retry_delay_seconds=30)
def train(
    config: str | None = None,
    phase1_trials: int | None = None,
    phase2_trials: int | None = None,
    workers: int | None = None,
    max_splits: int | None = None,
    study: str | None = None,
    warm_start_from: str | None = None,
    shards: int | None = None,
) -> dict:
    """Both Optuna phases; a phase whose worker processes failed fails the flow, which retries once.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        phase1_trials: Trial limit of phase 1 (timeframe x lookback); empty: `training.phase1_trials`.
        phase2_trials: Trial limit of phase 2 (PPO hyperparameters); empty: `training.phase2_trials`.
        workers: Optuna worker processes per phase; empty: `training.workers`.
        max_splits: Train on at most this many CPCV splits per trial (a quick run); empty: all.
        study: Prefix of this training's two studies ('<study>-phase1|2'); empty: `training.experiment`
            (an existing study of that name is resumed up to its limit).
        warm_start_from: Prefix of an earlier training's studies: its best phase-2 trial is this phase 2's
            first trial (the monthly retrain passes the last retrain's); empty: `training.warm_start_from`.
        shards: Scale out: each phase's trials run in this many `train-shard/shard` flow runs on the work
            pool's `training` queue (any machine sharing the study storage); empty: local processes only.
    """
    settings = settings_for(config)
    if study:
        settings.training.experiment = study
    if warm_start_from:
        settings.training.warm_start_from = warm_start_from
    p1 = train_phase(settings, 1, phase1_trials, workers, max_splits, shards, config)
    p2 = train_phase(settings, 2, phase2_trials, workers, max_splits, shards, config)
    if any(p.get("exit_codes") and any(c not in (0, None) for c in p["exit_codes"]) for p in (p1, p2)):
        raise RuntimeError(f"a training worker failed: {p1['exit_codes']} {p2['exit_codes']} (flow retries)")
    publish("train-study", "Training studies", study_markdown([p1, p2]), f"{p1['study']}, {p2['study']}")
    record_stage(settings, "train", "done", phase1=p1["states"], phase2=p2["states"])
    return {"phase1": p1, "phase2": p2}
