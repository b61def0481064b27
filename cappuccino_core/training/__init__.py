"""Stage 3: the two-phase Optuna study over CPCV splits (PPO on the step kernel), robust trials.

Entry point: :func:`run_phase` (``cappuccino train --phase 1|2``). Modules: cv (CPCV), hyperparams (the
one typed record of a trial's hyperparameters, its search space declared on its fields), space (the search
read off it), data (datasets per timeframe/lookback), trainer (one trial, in a child process),
trial_runner (child process, limits), guards (NaN/inf), objective (the Optuna objective class + MLflow run),
storage (journal/RDB with heartbeats), study (phases), workers (K processes on one study).
"""

from cappuccino_core.training.hyperparams import Hyperparams
from cappuccino_core.training.study import PhaseReport, prepare_phase, run_phase, study_name

__all__ = ["Hyperparams", "PhaseReport", "prepare_phase", "run_phase", "study_name"]
