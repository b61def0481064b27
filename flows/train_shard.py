"""A training shard: one flow run of the `train-shard/shard` deployment joins a prepared study phase and runs
trials until the study's budget is spent. The `train` flow starts N of them (`shards=N`); any worker on the
pool's `training` queue runs them, on any machine that reaches the same study storage. Publishes the
`train-shard` artifact (the trials this shard ran, the study's best when it finished)."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.common import logger, settings_for
from tasks.evidence import publish
from tasks.shards import shard_markdown, shard_phase


@flow(name="train-shard")
def train_shard(
    config: str | None = None,
    study: str | None = None,
    phase: int = 2,
    workers: int | None = None,
    max_splits: int | None = None,
) -> dict:
    """Run trials on the prepared study `<study>-phase<phase>` until its trial limit is used.

    Args:
        config: Path of the TOML configuration (on the worker); empty for the documented defaults.
        study: Prefix of the training's studies (the parent train flow passes its own); empty:
            `training.experiment`.
        phase: 1 (timeframe x lookback) or 2 (PPO hyperparameters).
        workers: Optuna worker processes in this shard; empty: `training.workers`.
        max_splits: Train on at most this many CPCV splits per trial (a quick run); empty: all.
    """
    settings = settings_for(config)
    if study:
        settings.training.experiment = study
    shard = str(flow_run.get_id() or "local")  # recorded on each trial this shard runs
    out = shard_phase(settings, phase, workers, max_splits, shard)
    publish("train-shard", "Training shard", shard_markdown(out), f"{len(out['trials'])} trials")
    logger().info(
        "shard %s: %d trials of %s; study best trial %s (%s)",
        shard, len(out["trials"]), out["study"], out["best_number"], out["best_value"],
    )  # fmt: skip
    return out
