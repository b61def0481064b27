"""The monthly loop: fresh bars from the venue, fresh CGE scenarios, a new study on the new data window,
gates, arena against the current production model; the last log line says what came of it."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.arena import arena
from flows.augment import augment
from flows.gates import gates
from flows.ingest import ingest
from flows.train import train
from tasks.common import emergency_stopped, logger, settings_for


@flow(name="retrain")
def retrain(
    config: str | None = None,
    source: str | None = None,
    phase1_trials: int | None = None,
    phase2_trials: int | None = None,
    workers: int | None = None,
    max_splits: int | None = None,
    skip_augment: bool = False,
    dry_run: bool = False,
    shards: int | None = None,
) -> dict:
    """Retrain on the newest data and let the new models challenge production.

    Args:
        config: Path of the TOML configuration; empty for the documented defaults.
        source: Where new bars come from. Empty: download from `data.venue` (alpaca or coinbase) and refuse
            stale data. "sample": the bundled sample (an offline rehearsal).
        phase1_trials: Trial limit of phase 1 (timeframe x lookback); empty: `training.phase1_trials`.
        phase2_trials: Trial limit of phase 2 (PPO hyperparameters); empty: `training.phase2_trials`.
        workers: Optuna worker processes per phase; empty: `training.workers`.
        max_splits: Train on at most this many CPCV splits per trial (a quick run); empty: all.
        skip_augment: Reuse the stored CGE scenario set instead of regenerating it.
        dry_run: The arena decides and reports but changes no role.
        shards: Scale out the training: each phase's trials run in this many `train-shard/shard` flow
            runs on the pool's `training` queue, sharing the study (PostgreSQL storage); empty: local only.
    """
    from cappuccino_core.training.retrain_naming import existing_studies, previous_prefix, window_study_prefix

    settings = settings_for(config)
    if emergency_stopped(settings):
        return {"halted": "emergency stop"}
    out: dict = {"ingest": ingest(config, source)}
    out["augment"] = "skipped" if skip_augment else augment(config, force=True)
    first, last = out["ingest"]["first"], out["ingest"]["last"]
    study = warm = None
    if first and last:  # a new study per retrain, named by its data window, warm-started from the last one
        names = existing_studies(settings)
        study = window_study_prefix(
            settings.training.experiment, datetime.fromisoformat(first), datetime.fromisoformat(last), names
        )
        warm = previous_prefix(settings.training.experiment, names, study)
    out["train"] = train(
        config, phase1_trials, phase2_trials, workers, max_splits, study=study, warm_start_from=warm,
        shards=shards,
    )  # fmt: skip
    out["gates"] = gates(config)
    out["arena"] = arena(config, dry_run=dry_run)
    gated = len(out["gates"])
    champion = next(
        (line for line in out["arena"] if "champion" in line), out["arena"][0] if out["arena"] else ""
    )
    if gated and any("no candidate passed the gates" in line for line in out["arena"]):
        logger().warning(
            "retrain: the gates rejected every candidate (%d gated); production unchanged (study %s)",
            gated,
            study,
        )
    else:
        vs = [line for line in out["arena"] if " vs production " in line]
        beat = sum("challenger wins" in line for line in vs)
        versus = f"{beat} of {len(vs)} challengers beat production" if vs else "no production bout"
        logger().info(
            "retrain: %d candidates gated (study %s); arena: %s; %s", gated, study, champion.strip(), versus
        )
    return out
