"""Training: the two-phase Optuna study over CPCV splits, with per-trial limits and worker settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cappuccino_core.config.base import Section


class TrainingConfig(Section):
    """``[training]``: the two-phase study (trial limits, search spaces), budgets and walk-forward splits."""

    experiment: str = Field(
        "cappuccino", description="study / MLflow experiment prefix: studies are '<experiment>-phase1|2'"
    )
    # Trial limits: a study always stops at its limit (never unbounded).
    phase1_trials: int = Field(24, ge=1, description="phase 1 trial limit (timeframe x lookback search)")
    phase2_trials: int = Field(1000, ge=1, description="phase 2 trial limit (full hyperparameter study)")
    phase1_timeframes: list[str] = Field(
        default_factory=lambda: ["1h", "4h"],
        description="timeframes phase 1 tries (built by resampling the stored base timeframe)",
    )
    phase1_lookbacks: list[int] = Field(
        default_factory=lambda: [5, 10, 20], description="lookbacks (bars per observation) phase 1 tries"
    )
    # Combinatorial purged cross-validation, in bars of the trial's timeframe.
    cv_groups: int = Field(5, ge=3, description="CPCV: N contiguous groups of real bars")
    cv_test_groups: int = Field(2, ge=1, description="CPCV: k test groups per split (C(N,k) splits)")
    purge_bars: int = Field(
        24, ge=0, description="CPCV: training bars dropped on each side of a test block (>= lookback is wise)"
    )
    embargo_bars: int = Field(24, ge=0, description="CPCV: extra training bars dropped after a test block")
    holdout_fraction: float = Field(
        0.15, ge=0, lt=1, description="newest share of real bars no trial ever sees (left for the gates)"
    )
    synthetic_share: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="share of CGE synthetic windows among training windows (0.3 = the design's 70/30 mix; "
        "needs a scenario set from `cappuccino cge generate`); they join training folds only",
    )
    synthetic_window_bars: int = Field(720, ge=24, description="hourly bars per synthetic (and real) window")
    # Budget per trial.
    timesteps_per_split: int = Field(50_000, ge=1, description="PPO env steps per CPCV split (phase 2)")
    phase1_timesteps_per_split: int = Field(20_000, ge=1, description="PPO env steps per split (phase 1)")
    checkpoint_every_steps: int = Field(
        10_000, ge=1, description="save the agent every this many env steps so a retried trial resumes"
    )
    final_fit: bool = Field(
        True,
        description="after a trial completes, train its artefact model on all training bars "
        "(the model the registry and gates see); off: the last split's model is the artefact",
    )
    trial_timeout_s: float = Field(
        3600.0, gt=0, description="wall-time limit of one trial; hitting it ends the trial as FAIL"
    )
    trial_memory_mb: int = Field(
        4096, ge=64, description="RSS cap of one trial's child process; hitting it ends the trial as FAIL"
    )
    torch_threads: int = Field(1, ge=1, description="torch threads in a trial's child process")
    n_envs: int | None = Field(None, ge=1, description="parallel envs per trial; None: env.n_envs")
    # Search space sizing (the values themselves are sampled; these bound rollout size for small budgets).
    n_steps_choices: list[int] = Field(
        default_factory=lambda: [128, 256, 512, 1024], description="PPO n_steps (per env) candidates"
    )
    batch_size_choices: list[int] = Field(
        default_factory=lambda: [64, 128, 256, 512], description="PPO minibatch size candidates"
    )
    net_width_choices: list[int] = Field(
        default_factory=lambda: [64, 128, 256], description="hidden units per layer candidates"
    )
    net_depth_max: int = Field(3, ge=1, le=6, description="max hidden layers (1..max)")
    log_std_init: float = Field(
        -1.0,
        le=1.0,
        description="initial log std of the policy's Gaussian in phase 1 (SB3's default 0 = std 1 trades at "
        "random and loses ~100% of equity per episode to 1.2% fees); phase 2 searches it in "
        "[log_std_low, log_std_high]",
    )
    decision_every_choices: list[int] = Field(
        default_factory=lambda: [1],
        description="phase 2: decision intervals (env.decision_every, bars) searched; phase 1 holds "
        "env.decision_every. Default [1]: gates, arena and trading run the configured env.decision_every, "
        "so search other values only with env.decision_every set to the one traded (e.g. [24] and 24)",
    )
    action_mode_choices: list[Literal["target_weight", "trade_fraction", "signal"]] = Field(
        default_factory=list,
        description="phase 2: action modes (env.action_mode) searched; phase 1 holds env.action_mode. "
        "Default []: phase 2 holds env.action_mode too (the search as it was)",
    )
    policy_arch: Literal["mlp", "asset_shared"] = Field(
        "mlp",
        description="the policy network in phase 1: mlp (one network over the whole observation) or "
        "asset_shared (one network applied to every asset alike, training/asset_shared_policy.py)",
    )
    policy_arch_choices: list[Literal["mlp", "asset_shared"]] = Field(
        default_factory=list,
        description="phase 2: policy networks searched; default []: phase 2 holds policy_arch",
    )
    log_std_low: float = Field(-3.0, description="phase 2: lowest initial log std searched")
    log_std_high: float = Field(-0.5, description="phase 2: highest initial log std searched")
    # Optuna.
    sampler: Literal["tpe", "random"] = Field("tpe", description="Optuna sampler")
    pruner: Literal["median", "hyperband", "none"] = Field("median", description="Optuna pruner")
    pruner_warmup_splits: int = Field(
        2, ge=0, description="median pruner: splits reported before a trial may be pruned"
    )
    pruner_startup_trials: int = Field(
        5, ge=0, description="median pruner: completed trials before pruning starts"
    )
    heartbeat_interval_s: int = Field(60, ge=1, description="a running trial records a heartbeat this often")
    heartbeat_grace_s: int = Field(
        180, ge=1, description="a running trial silent this long is stale: failed and retried"
    )
    max_retries: int = Field(2, ge=0, description="times a stale (worker-lost) trial is retried")
    workers: int = Field(1, ge=1, description="worker processes sharing one study")
    mlflow: bool = Field(
        True,
        description="log every trial as an MLflow run with its policy (the registry needs it); "
        "off keeps only the Optuna record (no model is kept)",
    )
    seed: int = Field(0, description="base seed (sampler, envs, agents); each trial derives its own")
    phase2_first_phase1: bool = Field(
        True,
        description="phase 2's first trial is phase 1's own configuration (the PPO and env values phase 1 "
        "trained with, each moved into phase 2's range), so the search starts from the configuration "
        "phase 1 measured (after the warm start's trial, if any)",
    )
    warm_start_from: str | None = Field(
        None,
        description="a previous study prefix: its best phase-2 trial's hyperparameters become the first "
        "trial of this phase 2 (the monthly retrain sets it to the last retrain's studies)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TrainingConfig:
        if self.cv_test_groups >= self.cv_groups:
            raise ValueError(f"cv_test_groups ({self.cv_test_groups}) must be < cv_groups ({self.cv_groups})")
        if self.log_std_low >= self.log_std_high:
            raise ValueError(f"log_std_low ({self.log_std_low}) must be < log_std_high ({self.log_std_high})")
        if self.heartbeat_grace_s <= self.heartbeat_interval_s:
            raise ValueError("heartbeat_grace_s must exceed heartbeat_interval_s")
        for name in (
            "phase1_timeframes",
            "phase1_lookbacks",
            "n_steps_choices",
            "batch_size_choices",
            "net_width_choices",
            "decision_every_choices",
        ):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be a non-empty list without duplicates")
        if any(v < 2 for v in self.n_steps_choices + self.batch_size_choices):
            raise ValueError("n_steps and batch_size candidates must be >= 2")
        if any(v < 1 for v in self.phase1_lookbacks + self.net_width_choices + self.decision_every_choices):
            raise ValueError("lookbacks, net widths and decision intervals must be >= 1")
        if len(set(self.action_mode_choices)) != len(self.action_mode_choices):
            raise ValueError(f"action_mode_choices {self.action_mode_choices} has duplicates")
        return self
