"""The augmentation ablation at tiny budgets: two real studies (0% and 30% synthetic windows), each best
trial on the held-out real window and on the bear and crisis CGE scenarios; `cappuccino train --ablation`
writes the comparison."""

from __future__ import annotations

import json
import math

import pytest

from cappuccino_core.training.ablation import augmentation_ablation

pytestmark = pytest.mark.slow


def tiny(settings):
    return settings.model_copy(
        update={
            "training": settings.training.model_copy(
                update={
                    "experiment": "abl",
                    "phase1_trials": 1,
                    "phase2_trials": 2,
                    "phase1_timeframes": ["1h"],
                    "phase1_lookbacks": [5],
                    "cv_groups": 3,
                    "cv_test_groups": 1,
                    "timesteps_per_split": 256,
                    "phase1_timesteps_per_split": 256,
                    "n_steps_choices": [32],
                    "batch_size_choices": [64],
                    "net_width_choices": [8],
                    "net_depth_max": 1,
                    "n_envs": 2,
                    "workers": 1,
                    "pruner": "none",
                    "synthetic_window_bars": 300,
                }
            ),
            "cge": settings.cge.model_copy(
                update={
                    "n_scenarios": 10,
                    "regime_mix": {"normal": 4, "bull": 2, "bear": 2, "crisis": 2},
                    "hours": 400,
                }
            ),
            "gates": settings.gates.model_copy(update={"stress_max_hours": 300}),
        }
    )


def test_ablation_compares_both_arms_on_held_out_and_stress(settings) -> None:
    from cappuccino_core.cge.generate import generate, spec_from_settings

    s = tiny(settings)
    generate(spec_from_settings(s), s.cge.output_dir)
    rep = augmentation_ablation(s)
    assert [a.synthetic_share for a in rep.arms] == [0.0, 0.3]
    assert rep.arms[0].study != rep.arms[1].study  # separate studies, separate experiments
    for arm in rep.arms:
        assert arm.best_run_id is not None and math.isfinite(arm.held_out["sharpe"])
        assert set(arm.stress) == {"bear", "crisis"}
        assert arm.stress["bear"]["scenarios"] == 2 and arm.stress["crisis"]["scenarios"] == 2
    text = "\n".join(rep.lines())
    assert "bear: median Sharpe" in text and "(0% -> 30% synthetic)" in text
    assert json.loads(json.dumps(rep.to_dict(), default=str))["regimes"] == ["bear", "crisis"]
