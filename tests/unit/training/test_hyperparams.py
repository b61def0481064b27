"""Hyperparams: one declaration per field, from the search space through the trial child to the agent."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import optuna
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig
from cappuccino_core.training import space
from cappuccino_core.training.hyperparams import FIELD_NAMES, SEARCH, Hyperparams
from cappuccino_core.training.objective import PhaseContext, TrialObjective
from cappuccino_core.training.trainer import TrialJob
from cappuccino_core.training.trial_runner import TrialEnded

CFG = TrainingConfig(
    n_steps_choices=[16, 32, 64], batch_size_choices=[8, 16], net_width_choices=[8, 16], net_depth_max=1
)
ENV = EnvConfig(reward="log_return", reward_scale=10.0, cash_reserve=0.1, hold_band=0.05, rebalance_band=0.01)


def test_phase1_values_are_declared_on_the_fields() -> None:
    hp = space.phase1_defaults(CFG, ENV)
    # By hand: SB3's defaults, the middle of each configured list, net depth min(2, max), the env's values.
    assert (hp.learning_rate, hp.n_epochs, hp.gamma, hp.gae_lambda, hp.clip_range) == (
        3e-4,
        10,
        0.99,
        0.95,
        0.2,
    )
    assert (hp.ent_coef, hp.vf_coef, hp.max_grad_norm) == (0.0, 0.5, 0.5)
    assert (hp.n_steps, hp.batch_size, hp.net_width, hp.net_depth) == (32, 16, 16, 1)
    assert (hp.reward, hp.reward_scale, hp.cash_reserve) == ("log_return", 10.0, 0.1)
    assert (hp.hold_band, hp.rebalance_band, hp.log_std_init) == (0.05, 0.01, CFG.log_std_init)
    assert hp.decision_every == ENV.decision_every == 1
    assert hp.action_mode == ENV.action_mode == "target_weight"
    assert hp.timeframe is None and hp.lookback is None


def test_every_field_is_searched_once_in_the_sampler_order() -> None:
    assert set(SEARCH) == set(FIELD_NAMES)
    # The seeded sampler's sequence depends on this order: it is the order the space always had.
    assert [d.name for d in space.phase2_dims(CFG)] == [
        "learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
        "ent_coef", "vf_coef", "max_grad_norm", "net_width", "net_depth", "reward", "reward_scale",
        "cash_reserve", "hold_band", "rebalance_band", "log_std_init", "decision_every",
    ]  # fmt: skip
    dims = {d.name: d for d in space.phase2_dims(CFG)}
    assert dims["n_steps"].choices == (16, 32, 64) and (dims["net_depth"].low, dims["net_depth"].high) == (
        1,
        1,
    )
    assert (dims["log_std_init"].low, dims["log_std_init"].high) == (CFG.log_std_low, CFG.log_std_high)
    assert dims["decision_every"].choices == (1,)  # default: trained at the k the gates and traders run
    assert "action_mode" not in dims  # default []: phase 2 holds env.action_mode, no dimension
    modes = CFG.model_copy(update={"action_mode_choices": ["target_weight", "signal"]})
    last = space.phase2_dims(modes)[-1]  # appended last: the sampler's sequence of the others is unchanged
    assert last == space.Dim("action_mode", "cat", choices=("target_weight", "signal"))
    searched = CFG.model_copy(update={"decision_every_choices": [1, 4, 12, 24]})
    assert {d.name: d for d in space.phase2_dims(searched)}["decision_every"].choices == (1, 4, 12, 24)
    assert [d.name for d in space.phase1_dims(CFG, ["4h"])] == ["timeframe", "lookback"]
    assert space.phase1_dims(CFG, ["4h"])[0].choices == ("4h",)


def test_from_mapping_converts_registry_strings_and_names_bad_input() -> None:
    hp = space.phase1_defaults(CFG, ENV).replace(timeframe="1h", lookback=5)
    as_logged = {k: str(v) for k, v in hp.items()}  # MLflow keeps params as strings
    assert Hyperparams.from_mapping(as_logged) == hp
    assert isinstance(Hyperparams.from_mapping(as_logged).n_steps, int)
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['lr'\]"):
        Hyperparams.from_mapping({**hp, "lr": 0.1})
    with pytest.raises(ValueError, match=r"\['gamma'\] are missing"):
        Hyperparams.from_mapping({k: v for k, v in hp.items() if k != "gamma"})
    with pytest.raises(ValueError, match=r"gamma='high' is not of type float"):
        hp.replace(gamma="high")
    with pytest.raises(ValueError, match=r"n_steps=16\.5 is not of type int"):
        hp.replace(n_steps=16.5)
    with pytest.raises(AttributeError):
        hp.gamma = 0.5  # type: ignore[misc]


def test_ppo_kwargs_cap_the_batch_at_one_rollout() -> None:
    hp = space.phase1_defaults(CFG, ENV).replace(n_steps=16, batch_size=64, net_width=8, net_depth=3)
    kw = hp.ppo_kwargs(n_envs=2)
    assert kw["batch_size"] == 32 and kw["n_steps"] == 16 and kw["learning_rate"] == 3e-4
    assert kw["policy_kwargs"]["net_arch"] == {"pi": [8, 8, 8], "vf": [8, 8, 8]}
    assert kw["policy_kwargs"]["log_std_init"] == CFG.log_std_init
    base = EnvConfig(position_cap=0.04, rebalance_band=0.01)
    assert hp.replace(rebalance_band=0.05).env_config(base).rebalance_band == 0.02  # half the cap


def _ctx(tmp_path: Path, settings: Any, target: str = "unused:fn") -> PhaseContext:
    s = settings.model_copy(update={"training": CFG.model_copy(update={"mlflow": False})})
    return PhaseContext(
        settings=s, phase=2, study_name="hp-test", fixed={"timeframe": "4h", "lookback": 10},
        holdout_ns=None, datasets={"4h/10": str(tmp_path / "d.npz")}, work_dir=tmp_path, target=target,
    )  # fmt: skip


def test_objective_hands_the_child_the_sampled_hyperparameters(tmp_path: Path, settings: Any) -> None:
    jobs: list[TrialJob] = []

    def child(target: str, kwargs: dict[str, Any], limits: Any, on_split: Any, stats: Any) -> Any:
        job = pickle.loads(pickle.dumps(kwargs["job"]))  # it crosses a process boundary as it is
        jobs.append(job)
        raise TrialEnded("timeout", "wall-time limit hit: 9 s > 1 s")

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(TrialObjective(_ctx(tmp_path, settings), run_child=child), n_trials=1, catch=(Exception,))
    trial = study.trials[0]
    (job,) = jobs
    assert trial.state.name == "FAIL" and trial.user_attrs["reason_kind"] == "timeout"
    # no action_mode_choices / policy_arch_choices: held at [env]'s and [training]'s, not sampled
    held = {"action_mode": settings.env.action_mode, "policy_arch": "mlp"}
    assert dict(job.hyperparams) == {"timeframe": "4h", "lookback": 10, **held, **trial.params}
    assert job.dataset_path == str(tmp_path / "d.npz") and isinstance(job.costs, CostsConfig)
    assert (job.env.reward, job.env.hold_band) == (trial.params["reward"], trial.params["hold_band"])
    assert not Path(job.checkpoint_dir).exists()


def test_objective_prunes_a_non_finite_trial(tmp_path: Path, settings: Any) -> None:
    def child(*a: Any) -> Any:
        raise TrialEnded("non_finite", "NonFiniteError: reward is nan")

    study = optuna.create_study(direction="maximize")
    study.optimize(TrialObjective(_ctx(tmp_path, settings), run_child=child), n_trials=1, catch=(Exception,))
    assert study.trials[0].state.name == "PRUNED"
    assert study.trials[0].user_attrs["reason"] == "NonFiniteError: reward is nan"
