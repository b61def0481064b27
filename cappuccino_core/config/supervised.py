"""The supervised signal line: targets, features, the LSTM and Transformer, their training and the ensemble.

The gate thresholds of these models (accuracy, calibration, confidence threshold, signal caps) are in
``[gates]`` (``supervised_*``) beside the RL gates.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cappuccino_core.config.base import Section


class SupervisedConfig(Section):
    """``[supervised]``: the LSTM/Transformer forecasters' targets, features, training, ensemble weights."""

    # --- targets ---------------------------------------------------------------------------------------
    horizon: int = Field(1, ge=1, description="bars ahead whose direction is predicted")
    dead_zone: float = Field(
        0.001, ge=0, lt=0.5, description="moves within +-this log return are not labelled (noise)"
    )
    dead_zone_vol: float = Field(
        0.0, ge=0, description="dead zone also >= this x the bar's volatility x sqrt(horizon) (0: off)"
    )
    # --- features (the TA-Lib set of [features] plus sessions and market state) ---------------------------
    lookback: int = Field(12, ge=1, description="bars of features one prediction reads")
    vol_short: int = Field(24, ge=2, description="bars of the short volatility / volume windows")
    vol_long: int = Field(168, ge=3, description="bars of the long volatility window (regime reference)")
    max_bars: int | None = Field(
        4000, ge=500, description="train on the newest this many bars (None: all); keeps a run to minutes"
    )
    # --- time-ordered split ------------------------------------------------------------------------------
    val_share: float = Field(0.15, gt=0, lt=0.5, description="share of samples for early stopping")
    test_share: float = Field(0.2, gt=0, lt=0.5, description="share of samples the gate scores (newest)")
    purge: int | None = Field(
        None, ge=0, description="bars dropped between windows (None: horizon + lookback, the minimum)"
    )
    embargo: int = Field(24, ge=0, description="extra bars dropped after each purge")
    # --- training ------------------------------------------------------------------------------------------
    epochs: int = Field(8, ge=1, description="maximum epochs")
    patience: int = Field(3, ge=1, description="early stopping: epochs without validation improvement")
    batch_size: int = Field(128, ge=8)
    learning_rate: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    lstm_hidden: int = Field(32, ge=4)
    lstm_layers: int = Field(1, ge=1, le=4)
    dropout: float = Field(0.1, ge=0, lt=1)
    transformer_d_model: int = Field(32, ge=8)
    transformer_heads: int = Field(4, ge=1)
    transformer_layers: int = Field(1, ge=1, le=6)
    seed: int = Field(0, description="torch, numpy and Optuna seed")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present, else CPU")
    cpu_threads: int | None = Field(
        1,
        ge=1,
        description="torch CPU threads (None: torch's default); these small models run fastest on "
        "one (thread barriers cost more than they give, measured 10x on a shared 2-core machine)",
    )
    optuna_trials: int = Field(
        2, ge=0, description="Optuna trials per model kind before the final fit (0: the configured values)"
    )
    study_prefix: str = Field(
        "supervised", description="Optuna study names: <prefix>-lstm, <prefix>-transformer"
    )
    lstm_model_name: str = Field("cappuccino-lstm", description="registered MLflow model of the LSTMs")
    transformer_model_name: str = Field(
        "cappuccino-transformer", description="registered MLflow model of the Transformer"
    )
    experiment: str = Field("supervised", description="MLflow experiment of the supervised runs")
    # --- ensemble -------------------------------------------------------------------------------------------
    weight_lstm: float = Field(0.35, ge=0, description="ensemble weight of the LSTM signal")
    weight_transformer: float = Field(0.40, ge=0, description="ensemble weight of the Transformer signal")
    weight_rl: float = Field(0.25, ge=0, description="ensemble weight of the RL policy's action")
    weights: Literal["configured", "learned"] = Field(
        "configured",
        description="configured: the weight_* above; learned: the supervised share (weight_lstm + "
        "weight_transformer) split by each member's held-out accuracy edge logged in MLflow; the RL "
        "member keeps weight_rl",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SupervisedConfig:
        if self.vol_long <= self.vol_short:
            raise ValueError(f"vol_long ({self.vol_long}) must exceed vol_short ({self.vol_short})")
        if self.transformer_d_model % self.transformer_heads:
            raise ValueError(
                f"transformer_d_model ({self.transformer_d_model}) must be a multiple of transformer_heads "
                f"({self.transformer_heads})"
            )
        if self.weight_lstm + self.weight_transformer + self.weight_rl <= 0:
            raise ValueError("ensemble weights are all 0")
        return self

    @property
    def purge_bars(self) -> int:
        """Bars between a training window's label and the next window's first bar."""
        return self.horizon + self.lookback if self.purge is None else self.purge
