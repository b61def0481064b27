"""Stage 3: the two-phase Optuna study over CPCV splits (PPO on the step kernel), robust trials.

Entry point: :func:`run_phase` (``cappuccino train --phase 1|2``). Modules: cv (CPCV), space (search
space -> agent/env), data (datasets per timeframe/lookback), trainer (one trial, in a child process),
trial_runner (child process, limits), guards (NaN/inf), objective (Optuna objective + MLflow run),
storage (journal/RDB with heartbeats), study (phases), workers (K processes on one study).
"""

from cappuccino_core.training.study import PhaseReport, prepare_phase, run_phase, study_name

__all__ = ["PhaseReport", "prepare_phase", "run_phase", "study_name"]
