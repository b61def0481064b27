"""Registration, the step of a study after its summary: the best eligible trials become model versions.

A study's :func:`~.study_summary.summarize` judges its trials and keeps the eligible ones (completed, with
a policy, through the selection gate); :func:`register_candidates` registers the best ``top_k`` of them,
each tagged with the study's evidence (objective, PBO, DSR, number of trials, feature-spec hash, the
summary run), the best one under ``alias`` (``challenger``). Nothing eligible: nothing registered.
"""

from __future__ import annotations

import json
from typing import Any

from cappuccino_core.registry.roles import CHALLENGER, ModelVersionInfo, register_policy
from cappuccino_core.registry.study_summary import SUMMARY_ARTIFACT, StudySummary
from cappuccino_core.registry.tracking import TAG_SPEC_HASH, TAG_STUDY, TAG_TRIAL, Tracking, as_tracking
from cappuccino_core.registry.trials import TrialRecord


def candidate_tags(summary: StudySummary, rec: TrialRecord) -> dict[str, Any]:
    """The model version tags of trial ``rec``: the study's evidence beside the trial's own figures."""
    tags: dict[str, Any] = {
        TAG_STUDY: summary.study,
        TAG_TRIAL: rec.trial,
        "objective": rec.objective,
        "pbo": "nan" if summary.pbo is None else summary.pbo,
        "dsr": "nan" if summary.dsr is None else summary.dsr,
        "n_trials": summary.n_trials,
        "candidate": "true",
        "summary_run_id": summary.summary_run_id,
    }
    if rec.spec_hash:
        tags[TAG_SPEC_HASH] = rec.spec_hash
    return tags


def register_candidates(
    summary: StudySummary,
    tracking: Tracking | Any | None = None,
    *,
    top_k: int = 3,
    alias: str | None = CHALLENGER,
    name: str | None = None,
) -> list[ModelVersionInfo]:
    """Register the best ``top_k`` eligible trials of a summarized study (module docstring).

    The versions are also kept in ``summary.registered``, and the summary run records ``register_top_k``
    and its ``study_summary.json`` again with them. ``name``: the registered model (default: configured).
    """
    trk = as_tracking(tracking)
    client = trk.activate()
    registered = [
        register_policy(
            rec.run_id,
            tags=candidate_tags(summary, rec),
            alias=alias if i == 0 else None,
            tracking=trk,
            name=name,
        )
        for i, rec in enumerate(summary.eligible[: max(top_k, 0)])
    ]
    summary.registered = registered
    if summary.summary_run_id is not None:
        client.log_param(summary.summary_run_id, "register_top_k", str(top_k))
        text = json.dumps(summary.to_dict(), indent=2, default=str)
        client.log_text(summary.summary_run_id, text, SUMMARY_ARTIFACT)
    return registered
