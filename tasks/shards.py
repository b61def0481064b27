"""Scale-out training: a phase's Optuna workers as flow runs of the `train-shard/shard` deployment, run by
whichever Prefect workers poll its work queue (`training` on the `cappuccino-process` pool), on any machine
that reaches the same study storage (PostgreSQL), data root and MLflow tracking.

The parent (the `train` flow, `shards=N`) prepares the phase's study, starts N shard runs and waits for
them, then summarizes the study once. Each shard joins the prepared study and runs trials until the
study's shared budget is spent; it then drains (waits while other shards' trials run, and retries a lost
one), so every shard ends on the same finished study and reports the same best trial.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from cappuccino_core.config import Settings

SHARD_DEPLOYMENT = "train-shard/shard"
SHARD_QUEUE = "training"


def dispatch_shards(
    config: str | None,
    study_prefix: str,
    phase: int,
    shards: int,
    workers: int | None = None,
    max_splits: int | None = None,
    poll_s: float = 2.0,
) -> list[int | None]:
    """Start ``shards`` runs of the shard deployment on the prepared ``<study_prefix>-phase<phase>`` and wait
    until every one is final. Returns an exit code per shard: 0 for Completed, 1 otherwise (the train flow
    then fails and retries). Linked to the calling flow/task run as subflows in the UI."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    params: dict[str, Any] = {"config": config, "study": study_prefix, "phase": phase}
    params.update({k: v for k, v in (("workers", workers), ("max_splits", max_splits)) if v is not None})
    try:
        runs: list[Any] = [
            run_deployment(
                SHARD_DEPLOYMENT,
                parameters=params,
                timeout=0,
                flow_run_name=f"{study_prefix}-phase{phase}-shard{i}",
            )
            for i in range(shards)
        ]
    except ObjectNotFound as exc:
        raise RuntimeError(
            f"no deployment {SHARD_DEPLOYMENT!r} on the Prefect server: run `prefect deploy --all` (shards "
            "need it) and start workers on the pool's `training` queue"
        ) from exc
    final: dict[Any, bool] = {}
    with get_client(sync_client=True) as client:
        while len(final) < len(runs):
            time.sleep(poll_s)
            for run in runs:
                state = client.read_flow_run(run.id).state
                if run.id not in final and state is not None and state.is_final():
                    final[run.id] = state.is_completed()
    return [0 if final[r.id] else 1 for r in runs]


@task(name="train-shard", retries=0, timeout_seconds=24 * 3600, cache_policy=NO_CACHE)
def shard_phase(
    settings: Settings, phase: int, workers: int | None, max_splits: int | None, shard: str
) -> dict[str, Any]:
    """This shard's workers on the prepared phase study, up to its budget; what the shard ran and the
    study's best when it finished. Not retried here: a lost trial is retried inside the study."""
    import optuna

    from cappuccino_core.training.storage import settings_storage
    from cappuccino_core.training.study import study_name
    from cappuccino_core.training.workers import run_workers

    name = study_name(settings.training, phase)
    try:
        study = optuna.load_study(study_name=name, storage=settings_storage(settings))
    except KeyError as exc:
        where = settings.paths.optuna_storage.split("@")[-1]  # no credentials in the message
        raise RuntimeError(
            f"shard {shard}: no study {name!r} in the storage {where!r} (every worker must reach the "
            "parent's storage)"
        ) from exc
    if "trial_limit" not in study.user_attrs or "datasets" not in study.user_attrs:
        raise RuntimeError(f"shard {shard}: study {name!r} is not prepared (the train flow prepares it)")
    limit = int(study.user_attrs["trial_limit"])
    codes = run_workers(settings, phase, workers or settings.training.workers, limit, max_splits=max_splits,
                        shard=shard)  # fmt: skip
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    best = max(done, key=lambda t: float(t.value)) if done else None  # type: ignore[arg-type]
    return {
        "shard": shard,
        "study": name,
        "trials": sorted(t.number for t in trials if t.user_attrs.get("shard") == shard),
        "study_trials": len(trials),
        "best_number": None if best is None else best.number,
        "best_value": None if best is None else float(best.value),  # type: ignore[arg-type]
        "exit_codes": codes,
    }


def shard_markdown(out: dict[str, Any]) -> str:
    """The `train-shard` artifact: the trials this shard ran, and the study's best when it finished."""
    best = (
        "none yet" if out["best_number"] is None else f"trial {out['best_number']} ({out['best_value']:.4f})"
    )
    return (
        f"Shard `{out['shard']}` on study `{out['study']}` ran {len(out['trials'])} of its "
        f"{out['study_trials']} trials: {out['trials']}.\n\nStudy best when this shard finished: {best}.\n\n"
        f"Worker process exit codes: {out['exit_codes']}."
    )
