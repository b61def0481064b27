"""Registration is the study's own step after its summary; a trial's Hyperparams come back from MLflow."""

from __future__ import annotations

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.registry import collect_trials, get_role, register_candidates, summarize, trial_run
from cappuccino_core.training.hyperparams import Hyperparams
from cappuccino_core.training.space import phase1_defaults

STUDY = "registration-study"


def test_summarize_registers_nothing_then_register_candidates_does(tracking, tiny_ppo, spec) -> None:
    hp = phase1_defaults(TrainingConfig(), EnvConfig()).replace(timeframe="1h", lookback=3)
    rng = np.random.default_rng(3)
    for n, obj in enumerate([0.2, 0.7]):
        with trial_run(tracking, STUDY, n) as run:
            run.log_params(hp.replace(gamma=0.9 + 0.01 * n))
            run.log_spec(spec)
            run.log_test_returns(rng.normal(0.001 * n, 0.01, 64))
            run.log_policy(tiny_ppo, spec)
            run.log_objective(obj)

    summary = summarize(STUDY, tracking)  # no gate: every trial with a policy is eligible, best first
    assert summary.registered == [] and get_role("challenger", tracking=tracking) is None
    assert [r.trial for r in summary.eligible] == [1, 0]

    versions = register_candidates(summary, tracking, top_k=1)
    assert [v.tags["trial"] for v in versions] == ["1"] and summary.registered == versions
    assert versions[0].aliases == ("challenger",)
    assert versions[0].tags["summary_run_id"] == summary.summary_run_id
    challenger = get_role("challenger", tracking=tracking)
    assert challenger is not None and challenger.run_id == summary.best_run_id
    summary_run = tracking.activate().get_run(summary.summary_run_id)
    assert summary_run.data.params["register_top_k"] == "1"

    # The registry holds each trial's hyperparameters by value: they read back as the same Hyperparams.
    best = next(r for r in collect_trials(STUDY, tracking) if r.trial == 1)
    assert Hyperparams.from_mapping(best.params) == hp.replace(gamma=0.91)
