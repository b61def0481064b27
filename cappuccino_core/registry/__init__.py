"""MLflow tracking and the model registry.

* :mod:`.tracking`      -- :class:`Tracking` (URIs from configuration), one experiment per study.
* :mod:`.trial_run`     -- :func:`trial_run`: one MLflow run per Optuna trial (params by value, metrics,
                           FeatureSpec, config, policy, equity plot, test returns); the run id is the
                           model's identity everywhere after training.
* :mod:`.pyfunc_model`  -- the pyfunc wrapper of an SB3 zip (``predict(obs) -> actions``, deterministic).
* :mod:`.models`        -- :func:`log_policy`, :func:`load_policy` (refuses a FeatureSpec mismatch).
* :mod:`.roles`         -- registration and roles (aliases challenger/champion/sandbox/production/live).
* :mod:`.trials`        -- a study's trial runs read back from MLflow, their test-return matrix.
* :mod:`.study_summary` -- PBO/DSR and the selection gate per study, logged (:func:`summarize`).
* :mod:`.registration`  -- the study's registration step: its best eligible trials registered
                           (:func:`register_candidates`); :func:`summarize_study` runs both.
* :mod:`.report`        -- :func:`study_report` for ``cappuccino train --report``.
* :mod:`.redact`        -- keeps environment secrets out of params, tags and JSON artifacts.
"""

from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.registry.models import (
    LoadedPolicy,
    LoggedPolicy,
    load_policy,
    log_policy,
    model_spec,
    resolve_model_uri,
)
from cappuccino_core.registry.registration import register_candidates
from cappuccino_core.registry.report import StudyReport, study_report
from cappuccino_core.registry.roles import (
    ROLES,
    ModelVersionInfo,
    RoleError,
    all_roles,
    clear_role,
    find_version,
    get_role,
    list_versions,
    register_policy,
    set_role,
    tag_version,
)
from cappuccino_core.registry.study_summary import StudySummary, summarize, summarize_study
from cappuccino_core.registry.tracking import Tracking, log_run_artifact, tag_run
from cappuccino_core.registry.trial_run import TrialRun, sampled_values, trial_run
from cappuccino_core.registry.trials import TrialRecord, collect_trials

__all__ = [
    "ROLES",
    "FeatureSpecMismatch",
    "LoadedPolicy",
    "LoggedPolicy",
    "ModelVersionInfo",
    "RoleError",
    "StudyReport",
    "StudySummary",
    "Tracking",
    "TrialRecord",
    "TrialRun",
    "all_roles",
    "clear_role",
    "collect_trials",
    "find_version",
    "get_role",
    "list_versions",
    "load_policy",
    "log_policy",
    "log_run_artifact",
    "model_spec",
    "register_candidates",
    "register_policy",
    "resolve_model_uri",
    "sampled_values",
    "set_role",
    "study_report",
    "summarize",
    "summarize_study",
    "tag_run",
    "tag_version",
    "trial_run",
]
