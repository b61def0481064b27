"""A trial hands its model to the registry with the env it trained it under (the trial's sampled env fields
over the configured env), so the model carries it (registry/model_env.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.training.hyperparams import phase1_hyperparams
from cappuccino_core.training.objective import _log_result


class _Run:
    """Records what the trial logs; every call but log_policy is a no-op here."""

    def __init__(self) -> None:
        self.policies: list[tuple[Any, ...]] = []

    def log_policy(
        self, model: Any, spec: Any, algo: str | None = None, env: EnvConfig | None = None
    ) -> None:
        self.policies.append((model, spec, env))

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def test_the_trials_model_is_logged_with_the_trials_env(tmp_path: Path) -> None:
    base = EnvConfig(initial_cash=50_000.0)
    hp = phase1_hyperparams(TrainingConfig(), base).replace(
        hold_band=0.25, decision_every=3, cash_reserve=0.15
    )
    env = hp.env_config(base)
    spec = toy_dataset(n_bars=20, n_assets=2, n_features=1, lookback=3).spec
    spec.save(tmp_path / "feature_spec.json")
    np.savez(tmp_path / "r.npz", agent=np.zeros(4), bench=np.zeros(4), lengths=np.array([4]))
    result = {
        "splits": [{"index": 0}],
        "objective": 0.1,
        "model_path": str(tmp_path / "m.zip"),
        "spec_path": str(tmp_path / "feature_spec.json"),
        "returns_path": str(tmp_path / "r.npz"),
    }
    run = _Run()
    _log_result(run, result, env)
    ((model, logged_spec, logged_env),) = run.policies
    assert model == str(tmp_path / "m.zip") and logged_spec == spec
    assert logged_env is not None
    assert (logged_env.hold_band, logged_env.decision_every, logged_env.cash_reserve) == (0.25, 3, 0.15)
    assert logged_env.initial_cash == 50_000.0
