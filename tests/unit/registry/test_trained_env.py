"""A registered model carries the env it was trained with: its model fields (the action mapping) stored as
the ``env_config`` artifact, applied over the configured env's deployment fields; older models fall back to
their run's ``env.*`` params, else to the configured env with a warning naming the model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.env.observation import observation_size
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.registry import load_policy
from cappuccino_core.registry.model_env import (
    DEPLOYMENT_FIELDS,
    MODEL_FIELDS,
    ORDER_FIELDS,
    apply_trained,
    load_env,
    save_env,
)
from cappuccino_core.training.hyperparams import ENV_KEYS, phase1_hyperparams

from .trained_models import log_model

TRAINED = {"hold_band": 0.25, "decision_every": 3, "cash_reserve": 0.15, "reward": "log_return"}


@pytest.fixture()
def data() -> Any:
    return toy_dataset(n_bars=60, n_assets=2, n_features=1, lookback=3, seed=1)


def _obs(data: Any) -> int:
    return observation_size(data.n_assets, data.spec.n_features, data.spec.lookback)


def test_the_fields_split_into_the_models_and_the_deployments() -> None:
    model, deploy = set(MODEL_FIELDS), set(DEPLOYMENT_FIELDS)
    assert not model & deploy
    assert model | deploy == set(EnvConfig.model_fields)  # a new [env] field must be given a side
    assert set(ENV_KEYS) <= model  # every env hyperparameter a trial samples travels with its model
    assert set(ORDER_FIELDS) == model - {
        "reward",
        "reward_scale",
        "dsr_eta",
        "action_repeat",
        "turnover_penalty",
    }


def test_applied_over_a_base_keeps_the_deployments_fields() -> None:
    base = EnvConfig(initial_cash=5_000.0, min_order_value=1.0, lot_size={"BTC/USDT": 1e-5})
    env = apply_trained({**EnvConfig().model_dump(include=set(MODEL_FIELDS)), **TRAINED}, base)
    assert (env.hold_band, env.decision_every, env.cash_reserve, env.reward) == (0.25, 3, 0.15, "log_return")
    assert (env.initial_cash, env.min_order_value, env.lot_size) == (5_000.0, 1.0, {"BTC/USDT": 1e-5})


def test_a_deployment_field_or_an_invalid_value_is_refused_naming_the_model() -> None:
    with pytest.raises(ValueError, match=r"m-1: env fields \['initial_cash'\] are not a model's"):
        apply_trained({"initial_cash": 1.0}, EnvConfig(), model="m-1")
    with pytest.raises(ValueError, match="m-2: its trained env does not validate"):
        apply_trained({"hold_band": 1.5}, EnvConfig(), model="m-2")


def test_the_stored_file_holds_exactly_the_model_fields(tmp_path: Path) -> None:
    hp = phase1_hyperparams(TrainingConfig(), EnvConfig()).replace(hold_band=0.25, decision_every=3)
    stored = load_env(save_env(hp.env_config(EnvConfig(initial_cash=1.0)), tmp_path / "env_config.json"))
    assert set(stored) == set(MODEL_FIELDS)
    assert stored["hold_band"] == 0.25 and stored["decision_every"] == 3
    (tmp_path / "bad.json").write_text('{"initial_cash": 5}')
    with pytest.raises(ValueError, match=r"bad.json: \['initial_cash'\] are not model env fields"):
        load_env(tmp_path / "bad.json")


def test_a_registered_model_loads_with_the_env_it_was_trained_with(
    tracking: Any, settings: Any, data: Any
) -> None:
    trained = apply_trained(TRAINED, settings.env)
    run_id = log_model(tracking, data.spec, _obs(data), 0.2, env=trained)
    policy = load_policy(run_id, data.spec, tracking=tracking)
    assert policy.env_source == "artifact"
    base = settings.env.model_copy(update={"initial_cash": 777.0})
    env = policy.env_config(base)
    assert (env.hold_band, env.decision_every, env.cash_reserve, env.reward) == (0.25, 3, 0.15, "log_return")
    assert env.initial_cash == 777.0  # the account's capital stays the configured one
    np.testing.assert_allclose(policy.predict(np.zeros((2, _obs(data)), np.float32)), 0.2, atol=1e-6)


def test_a_model_logged_before_the_artifact_takes_its_runs_env_params(
    tracking: Any, settings: Any, data: Any
) -> None:
    run_id = log_model(tracking, data.spec, _obs(data), 0.2, run_env=apply_trained(TRAINED, settings.env))
    policy = load_policy(run_id, data.spec, tracking=tracking)
    assert policy.env_source == "run params"
    env = policy.env_config(settings.env)
    assert (env.hold_band, env.decision_every, env.cash_reserve, env.reward) == (0.25, 3, 0.15, "log_return")


def test_a_model_with_no_env_anywhere_runs_under_the_configured_env_with_a_warning(
    tracking: Any, settings: Any, data: Any, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = log_model(tracking, data.spec, _obs(data), 0.2)
    with caplog.at_level(logging.WARNING, logger="cappuccino_core.registry.model_env"):
        policy = load_policy(run_id, data.spec, tracking=tracking)
    assert policy.env_source == "none" and policy.trained_env is None
    assert policy.env_config(settings.env) == settings.env
    assert any(
        run_id in r.getMessage() and "carries no trained env" in r.getMessage() for r in caplog.records
    )
