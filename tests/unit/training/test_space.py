"""No dead dimensions: every sampled hyperparameter changes the built agent, env or dataset; and Optuna
stores the sampled values themselves (never categorical indices)."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
import torch

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.registry.trial_run import sampled_values
from cappuccino_core.training import envs, space
from tests.env_presets import NO_BAND

torch.set_num_threads(1)
CFG = TrainingConfig(
    n_steps_choices=[16, 32],
    batch_size_choices=[8, 16],
    net_width_choices=[8, 16],
    decision_every_choices=[1, 4],
    action_mode_choices=["target_weight", "signal"],
    policy_arch_choices=["mlp", "asset_shared"],
)
ENV = EnvConfig(**NO_BAND, n_envs=2, episode_length=16, reward="log_return")
COSTS = CostsConfig()
DATA = toy_dataset(n_bars=120, n_assets=3, n_features=2, lookback=3, drift=0.001, seed=1)


def _two_values(d: space.Dim) -> tuple[Any, Any]:
    if d.kind == "cat":
        return d.choices[0], d.choices[-1]
    if d.kind == "int":
        return int(d.low), int(d.high)
    return float(d.low), float(d.high)


def _fingerprint(params: dict[str, Any]) -> dict[str, Any]:
    """What the built objects ARE and DO: PPO settings, network shapes, env config and env behaviour."""
    env_cfg = space.env_config(params, ENV)
    venv = envs.make_train_env(DATA, DATA.segments, env_cfg, COSTS, n_envs=2, seed=0)
    model = space.build_agent(params, venv, seed=0)
    venv.reset()
    rewards, holdings = [], []
    for k in range(6):  # a fixed action sequence: buy everything the rules allow, then half of it
        a = 1.0 if k < 3 else 0.35  # 0.35: a different target under each hold region
        _, r, _, _ = venv.step(np.full((2, DATA.n_assets), a, dtype=np.float32))
        rewards.append(r.copy())
        holdings.append(venv.kernel.holdings.copy())
    return {
        "lr": model.learning_rate,
        "n_steps": model.n_steps,
        "batch_size": model.batch_size,
        "n_epochs": model.n_epochs,
        "gamma": model.gamma,
        "gae_lambda": model.gae_lambda,
        "clip_range": model.clip_range(1.0),
        "ent_coef": model.ent_coef,
        "vf_coef": model.vf_coef,
        "max_grad_norm": model.max_grad_norm,
        "net": [tuple(p.shape) for p in model.policy.parameters()],
        "log_std": model.policy.log_std.detach().numpy().round(6).tolist(),
        "rewards": np.round(np.concatenate(rewards), 10).tolist(),
        "holdings": np.round(np.concatenate(holdings), 10).tolist(),
    }


@pytest.mark.parametrize("dim", space.phase2_dims(CFG), ids=lambda d: d.name)
def test_every_phase2_dimension_changes_the_built_agent_or_env(dim: space.Dim) -> None:
    base = space.phase1_defaults(CFG, ENV)
    a, b = _two_values(dim)
    assert a != b
    fa = _fingerprint({**base, dim.name: a})
    fb = _fingerprint({**base, dim.name: b})
    assert fa != fb, f"{dim.name}: values {a} and {b} build the same agent and env (dead dimension)"


def test_phase2_space_is_consumed_entirely() -> None:
    names = {d.name for d in space.phase2_dims(CFG)}
    assert names == set(space.PPO_KEYS) | set(space.ENV_KEYS)
    assert {d.name for d in space.phase1_dims(CFG)} == set(space.DATA_KEYS)


def test_phase1_dimensions_change_the_dataset(settings: Any, sample_dir: Any) -> None:
    from cappuccino_core.training.data import build_training_dataset

    two = settings.data.model_copy(update={"tickers": ["BTC/USDT", "ETH/USDT"]})
    cfg = settings.model_copy(update={"data": two})
    d1 = build_training_dataset(cfg, "1h", 3, None)
    d4 = build_training_dataset(cfg, "4h", 3, None)
    d1b = build_training_dataset(cfg, "1h", 7, None)
    assert (d1.spec.timeframe, d4.spec.timeframe) == ("1h", "4h")
    assert d4.n_bars < d1.n_bars / 3
    k1 = envs.make_train_env(d1, d1.segments, ENV, COSTS, 2, 0)
    k1b = envs.make_train_env(d1b, d1b.segments, ENV, COSTS, 2, 0)
    assert k1b.observation_space.shape[0] - k1.observation_space.shape[0] == 4 * 2 * d1.spec.n_features


def test_optuna_stores_values_not_indices() -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    fixed = {"timeframe": "4h", "lookback": 10}
    for _ in range(8):
        trial = study.ask()
        params = space.suggest(trial, 2, CFG, ENV, fixed)
        study.tell(trial, 0.0)
        stored = study.trials[-1].params
        for d in space.phase2_dims(CFG):
            assert stored[d.name] == params[d.name]
            if d.kind == "cat":
                assert stored[d.name] in d.choices
        assert params["timeframe"] == "4h" and "timeframe" not in stored  # fixed, not sampled
        assert sampled_values(study.trials[-1]) == stored
    assert {t.params["reward"] for t in study.trials} <= set(space.REWARDS)
    assert all(isinstance(t.params["n_steps"], int) for t in study.trials)


def test_without_action_mode_choices_phase2_holds_the_configured_mode() -> None:
    cfg = CFG.model_copy(update={"action_mode_choices": []})  # the default
    assert "action_mode" not in {d.name for d in space.phase2_dims(cfg)}
    env = ENV.model_copy(update={"action_mode": "signal"})
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    trial = study.ask()
    params = space.suggest(trial, 2, cfg, env, {"timeframe": "4h", "lookback": 10})
    assert params["action_mode"] == "signal" and "action_mode" not in trial.params
    assert space.env_config(params, ENV).action_mode == "signal"
    searched = space.suggest(study.ask(), 2, CFG, env, {"timeframe": "4h", "lookback": 10})
    assert searched["action_mode"] in ("target_weight", "signal")


def test_phase2_requires_phase1_choice() -> None:
    study = optuna.create_study()
    with pytest.raises(ValueError, match="phase 2 needs"):
        space.suggest(study.ask(), 2, CFG, ENV, {})


def test_env_config_is_validated() -> None:
    with pytest.raises(ValueError):
        space.env_config({"cash_reserve": 1.5}, ENV)


def test_phase1_point_is_phase1_moved_into_phase2_ranges() -> None:
    point = space.phase1_point(CFG, ENV)
    base = space.phase1_defaults(CFG, ENV)
    dims = {d.name: d for d in space.phase2_dims(CFG)}
    assert set(point) <= set(dims)
    assert point["ent_coef"] == dims["ent_coef"].low == 1e-8  # phase 1 holds 0; a log range has no 0
    assert point["gamma"] == base["gamma"] == 0.99 and point["learning_rate"] == 3e-4
    assert point["log_std_init"] == CFG.log_std_init == -1.0
    assert point["policy_arch"] == "mlp" and point["action_mode"] == ENV.action_mode
    # a categorical whose phase-1 value is not a choice is left to the sampler
    narrow = CFG.model_copy(update={"net_width_choices": [8, 32]})  # phase 1 holds the middle: 32
    assert space.phase1_point(narrow, ENV)["net_width"] == 32
    odd = CFG.model_copy(update={"decision_every_choices": [4, 8]})
    assert "decision_every" not in space.phase1_point(odd, ENV.model_copy(update={"decision_every": 1}))
