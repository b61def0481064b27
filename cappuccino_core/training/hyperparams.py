"""A trial's hyperparameters: one frozen dataclass from the search space to the agent and the registry.

:class:`Hyperparams` is what a trial is made of. Optuna samples it (training/space.py reads the search
space off its fields), the trial child builds the PPO agent (:meth:`Hyperparams.ppo_kwargs`) and the env
configuration (:meth:`Hyperparams.env_config`) from it, and the registry logs it as the trial run's params,
by value. Each field is declared once, with its doc line and a :class:`Search` that says

- its group: ``data`` (which prepared dataset; phase 1 searches it, phase 2 holds phase 1's choice),
  ``ppo`` (a PPO constructor argument, passed as it is), ``policy`` (the policy network) or ``env``;
- its search range: numbers, or read from ``[training]`` (the choice lists, ``net_depth_max``,
  ``log_std_low``/``log_std_high``); an empty choice list (``action_mode_choices``' default) is no
  dimension: phase 2 holds the field at its phase-1 value;
- its phase-1 value (phase 1 holds the agent and env fixed: SB3's defaults where they fit a small budget,
  the middle of a configured choice list, the configured env values, ``training.log_std_init``).

The fields' order is the order phase 2 samples them in (the sampler's seeded sequence depends on it).
A ``Hyperparams`` reads like the mapping Optuna and MLflow hold: ``hp["gamma"]``, ``dict(hp)``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.training import TrainingConfig

Group = Literal["data", "ppo", "policy", "env"]
Kind = Literal["float", "int", "cat"]
Bound = float | Callable[[TrainingConfig], float]
Choices = tuple[Any, ...] | Callable[[TrainingConfig], Sequence[Any]]
Phase1 = Any  # a value, or a function of (training config, env config); None: phase 1 samples the field

REWARDS: tuple[str, ...] = typing.get_args(EnvConfig.model_fields["reward"].annotation)


@dataclass(frozen=True)
class Dim:
    """One search dimension with its range resolved against the configuration."""

    name: str
    kind: str  # "float" | "int" | "cat"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """Sample this dimension on an Optuna trial (categoricals store their values, never indices)."""
        if self.kind == "cat":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class Search:
    """How the study samples one field of :class:`Hyperparams`, and the value phase 1 holds it at."""

    group: Group
    kind: Kind
    low: Bound = 0.0
    high: Bound = 0.0
    log: bool = False
    choices: Choices = ()
    phase1: Phase1 = None

    def dim(self, name: str, cfg: TrainingConfig) -> Dim:
        """The dimension of field ``name`` under the configuration ``cfg``."""
        choices = self.choices(cfg) if callable(self.choices) else self.choices
        low = self.low(cfg) if callable(self.low) else self.low
        high = self.high(cfg) if callable(self.high) else self.high
        return Dim(name, self.kind, float(low), float(high), self.log, tuple(choices))

    def phase1_value(self, cfg: TrainingConfig, env: EnvConfig) -> Any:
        """The value phase 1 holds the field at (None for the fields phase 1 samples)."""
        return self.phase1(cfg, env) if callable(self.phase1) else self.phase1


def _float(group: Group, low: Bound, high: Bound, phase1: Phase1, *, log: bool = False) -> Any:
    return field(metadata={"search": Search(group, "float", low, high, log=log, phase1=phase1)})


def _int(group: Group, low: Bound, high: Bound, phase1: Phase1) -> Any:
    return field(metadata={"search": Search(group, "int", low, high, phase1=phase1)})


def _cat(group: Group, choices: Choices, phase1: Phase1) -> Any:
    return field(metadata={"search": Search(group, "cat", choices=choices, phase1=phase1)})


def _data(choices: Choices) -> Any:
    return field(default=None, metadata={"search": Search("data", "cat", choices=choices)})


def _middle(values: Sequence[Any]) -> Any:
    return sorted(values)[len(values) // 2]


@dataclass(frozen=True, kw_only=True)
class Hyperparams(Mapping[str, Any]):
    """Everything one trial varies: the dataset choice, the PPO agent and the env (module docstring).

    Each field reads ``name: type = _<kind>(group, <range or choices>, <phase-1 value>)``, then its doc
    line; a range, a choice list or a phase-1 value given as a function reads the configuration
    (``c``: ``[training]``, ``e``: ``[env]``).
    """

    # -- the dataset (phase 1) ----------------------------------------------------------------------
    timeframe: str | None = _data(lambda c: c.phase1_timeframes)
    """bar timeframe of the trial's dataset ("1h", "4h"); None only for an agent built outside a study"""
    lookback: int | None = _data(lambda c: c.phase1_lookbacks)
    """bars per observation; None only for an agent built outside a study"""
    # -- the agent and the env (phase 2) -------------------------------------------------------------
    learning_rate: float = _float("ppo", 1e-5, 1e-3, 3e-4, log=True)
    """Adam step size of policy and value updates"""
    n_steps: int = _cat("ppo", lambda c: c.n_steps_choices, lambda c, e: _middle(c.n_steps_choices))
    """env steps per env and rollout (a rollout is n_steps x n_envs transitions)"""
    batch_size: int = _cat("ppo", lambda c: c.batch_size_choices, lambda c, e: _middle(c.batch_size_choices))
    """minibatch size of one gradient step (at most one rollout: capped at n_steps x n_envs)"""
    n_epochs: int = _int("ppo", 3, 15, 10)
    """passes over each rollout"""
    gamma: float = _float("ppo", 0.9, 0.9999, 0.99)
    """discount factor of future rewards"""
    gae_lambda: float = _float("ppo", 0.8, 1.0, 0.95)
    """bias/variance trade-off of the generalized advantage estimate"""
    clip_range: float = _float("ppo", 0.1, 0.4, 0.2)
    """clip of the policy probability ratio (PPO's trust region)"""
    ent_coef: float = _float("ppo", 1e-8, 0.05, 0.0, log=True)
    """weight of the entropy bonus in the loss"""
    vf_coef: float = _float("ppo", 0.2, 1.0, 0.5)
    """weight of the value loss in the loss"""
    max_grad_norm: float = _float("ppo", 0.3, 5.0, 0.5, log=True)
    """gradient norm clip"""
    net_width: int = _cat("policy", lambda c: c.net_width_choices, lambda c, e: _middle(c.net_width_choices))
    """hidden units per layer of the policy and value networks (tanh)"""
    net_depth: int = _int("policy", 1, lambda c: c.net_depth_max, lambda c, e: min(2, c.net_depth_max))
    """hidden layers of the policy and value networks"""
    policy_arch: str = _cat("policy", lambda c: c.policy_arch_choices, lambda c, e: c.policy_arch)
    """the policy network: mlp (the whole observation through one MLP) or asset_shared (one MLP applied to
    every asset alike, training/asset_shared_policy.py)"""
    reward: str = _cat("env", REWARDS, lambda c, e: e.reward)
    """the env's reward (env/rewards.py)"""
    reward_scale: float = _float("env", 1.0, 1000.0, lambda c, e: e.reward_scale, log=True)
    """multiplier of the reward"""
    cash_reserve: float = _float("env", 0.0, 0.2, lambda c, e: e.cash_reserve)
    """share of equity always held in cash"""
    hold_band: float = _float("env", 0.0, 0.3, lambda c, e: e.hold_band)
    """action region read as "hold" (env/actions.py): turnover control"""
    rebalance_band: float = _float("env", 0.0, 0.1, lambda c, e: e.rebalance_band)
    """no-trade band on target weights (held under half the position cap): turnover control"""
    log_std_init: float = _float(
        "policy", lambda c: c.log_std_low, lambda c: c.log_std_high, lambda c, e: c.log_std_init
    )
    """initial log std of the policy's Gaussian (SB3's 0, a std of 1, trades at random and pays its fees)"""
    decision_every: int = _cat("env", lambda c: c.decision_every_choices, lambda c, e: e.decision_every)
    """decision interval in bars (orders only on bars whose absolute index is a multiple): turnover control"""
    action_mode: str = _cat("env", lambda c: c.action_mode_choices, lambda c, e: e.action_mode)
    """action mapping (env/actions.py: target_weight, trade_fraction, signal); no choices: held at env's"""

    # -- a read-only mapping of name -> value (what Optuna's trial.params and MLflow's params hold) -----
    def __getitem__(self, name: str) -> Any:
        if name not in FIELD_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(FIELD_NAMES)

    def __len__(self) -> int:
        return len(FIELD_NAMES)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Hyperparams:
        """Validated from name -> value (Optuna params, MLflow params as strings, a dict): every agent and
        env field present, no unknown name, each value converted to its field's type."""
        unknown = sorted(set(values) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(f"unknown hyperparameters {unknown}; known: {list(FIELD_NAMES)}")
        missing = [n for n in FIELD_NAMES if n not in values and n not in DATA_KEYS]
        if missing:
            raise ValueError(f"hyperparameters {missing} are missing")
        return cls(**{name: _convert(name, value) for name, value in values.items()})

    def replace(self, **changes: Any) -> Hyperparams:
        """A copy with ``changes`` applied (validated like :meth:`from_mapping`)."""
        return Hyperparams.from_mapping({**self, **changes})

    def ppo_kwargs(self, n_envs: int) -> dict[str, Any]:
        """The PPO constructor's arguments (the ``ppo`` fields as they are, batch size at most one rollout,
        the ``policy`` fields as ``policy_kwargs``)."""
        import torch

        kwargs: dict[str, Any] = {name: self[name] for name in PPO_ARGS}
        kwargs["batch_size"] = min(int(self.batch_size), int(self.n_steps) * n_envs)
        width, depth = int(self.net_width), int(self.net_depth)
        kwargs["policy_kwargs"] = {
            "net_arch": {"pi": [width] * depth, "vf": [width] * depth},
            "activation_fn": torch.nn.Tanh,
            "log_std_init": float(self.log_std_init),
        }
        return kwargs

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The trial's env configuration: ``base`` with this trial's env fields (:func:`env_config`)."""
        return env_config(self, base)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Hyperparams))
SEARCH: dict[str, Search] = {f.name: f.metadata["search"] for f in dataclasses.fields(Hyperparams)}
_TYPES = typing.get_type_hints(Hyperparams)


def group(*groups: Group) -> tuple[str, ...]:
    """The names of the fields in ``groups``, in field order."""
    return tuple(name for name, s in SEARCH.items() if s.group in groups)


DATA_KEYS = group("data")
PPO_ARGS = group("ppo")
PPO_KEYS = group("ppo", "policy")
ENV_KEYS = group("env")


def _convert(name: str, value: Any) -> Any:
    """``value`` as field ``name``'s type (None kept for the optional dataset fields)."""
    if value is None and name in DATA_KEYS:
        return None
    kinds = [t for t in typing.get_args(_TYPES[name]) if t is not type(None)] or [_TYPES[name]]
    kind = kinds[0]
    try:
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError("not an integer")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"hyperparameter {name}={value!r} is not of type {kind.__name__}: {exc}") from None


def env_config(values: Mapping[str, Any], base: EnvConfig) -> EnvConfig:
    """``base`` with the env fields present in ``values`` (a :class:`Hyperparams` holds them all), validated
    (unlike ``model_copy``). A sampled no-trade band is held under half the position cap, which the
    configuration requires it to be below."""
    update = {k: values[k] for k in ENV_KEYS if k in values}
    if "rebalance_band" in update:
        update["rebalance_band"] = min(float(update["rebalance_band"]), 0.5 * base.position_cap)
    return EnvConfig.model_validate({**base.model_dump(), **update})


def phase1_hyperparams(
    cfg: TrainingConfig, env: EnvConfig, timeframe: str | None = None, lookback: int | None = None
) -> Hyperparams:
    """The agent and env phase 1 holds fixed (each field's declared phase-1 value), on one dataset."""
    values = {n: s.phase1_value(cfg, env) for n, s in SEARCH.items() if s.group != "data"}
    return Hyperparams.from_mapping({**values, "timeframe": timeframe, "lookback": lookback})
