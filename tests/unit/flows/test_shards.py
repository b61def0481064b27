"""Training shards: the artifact text, argument checks, and the trial tag each shard's workers record."""

from __future__ import annotations

import optuna
import pytest

from cappuccino_core.training.workers import _tagged
from tasks.shards import dispatch_shards, shard_markdown


def test_shard_markdown_names_its_trials_and_the_study_best() -> None:
    out = {"shard": "abc", "study": "s-phase2", "trials": [1, 3], "study_trials": 4, "best_number": 3,
           "best_value": 0.12345, "exit_codes": [0]}  # fmt: skip
    md = shard_markdown(out)
    assert md.startswith("Shard `abc` on study `s-phase2` ran 2 of its 4 trials: [1, 3].")
    assert "Study best when this shard finished: trial 3 (0.1235)." in md
    assert "none yet" in shard_markdown({**out, "best_number": None, "best_value": None})


def test_dispatch_needs_a_positive_shard_count() -> None:
    with pytest.raises(ValueError, match="shards must be >= 1, got 0"):
        dispatch_shards(None, "s", 2, 0)


def test_tagged_objective_records_the_shard_on_each_trial() -> None:
    study = optuna.create_study(direction="maximize")
    study.optimize(_tagged(lambda t: t.suggest_float("x", 0.0, 1.0), "shard-1"), n_trials=2)
    assert [t.user_attrs["shard"] for t in study.trials] == ["shard-1", "shard-1"]
    assert [t.value for t in study.trials] == [t.params["x"] for t in study.trials]
