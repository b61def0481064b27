"""The step kernel: actions, constraints, rewards, episodes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidatorFunctionWrapHandler, field_validator, model_validator

from cappuccino_core.config.base import Section


class EnvConfig(Section):
    """``[env]``: the trading environment: starting cash, action mode, limits, rewards and episodes."""

    initial_cash: float = Field(100_000.0, gt=0, description="starting cash per episode (quote currency)")
    action_mode: Literal["target_weight", "trade_fraction", "signal"] = Field(
        "target_weight",
        description="target_weight: action a in [-1,1] -> target weight max(a',0) x (position_cap - "
        "rebalance_band); trade_fraction: a -> trade of a' x max_trade_fraction of equity; signal: a > "
        "hold_band -> the full target weight (position_cap - rebalance_band), a < -hold_band -> exit "
        "(weight 0), in between hold (long/flat only: no allow_short)",
    )
    max_trade_fraction: float = Field(0.1, gt=0, le=1, description="trade_fraction mode: max trade size")
    position_cap: float = Field(0.3, gt=0, le=1, description="max weight of one asset in equity")
    cash_reserve: float = Field(0.05, ge=0, lt=1, description="fraction of equity always kept in cash")
    allow_short: bool = Field(False, description="shorting is not supported by the spot venues")
    min_order_value: float = Field(10.0, ge=0, description="orders below this notional are dropped")
    # Turnover control: what keeps a policy from paying fees for noise (env/actions.py documents the mapping).
    hold_band: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="actions with |a| <= hold_band mean 'keep this asset as it is' (no order); outside it "
        "the action is rescaled so +-1 still reaches the full target",
    )
    rebalance_band: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="no-trade band in weight units: no order unless the target moves the asset's weight by "
        "more than this (exits to 0 always pass); targets stop this far under position_cap and buys this "
        "far above cash_reserve, so price drift alone does not force trims every bar",
    )
    min_order_fraction: float = Field(
        0.002,
        ge=0,
        lt=1,
        description="a policy's order below this share of equity is not sent (besides min_order_value in "
        "currency); a full exit always passes",
    )
    action_smoothing: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="exponential smoothing alpha of the policy's actions: on each decision bar the action "
        "the order mapping sees is a_eff = alpha x a_eff_prev + (1 - alpha) x clip(a, -1, 1) per asset, "
        "a_eff starting at 0 (hold) with each episode; a policy must then keep asking to switch. Kernel only "
        "(training, backtests, stress gate, arena); the live bar loop refuses it (0: off)",
    )
    decision_every: int = Field(
        1,
        ge=1,
        le=10_000,
        description="decision interval k in bars: orders are placed only on bars whose absolute index (bar "
        "open time // bar length) is a multiple of k, positions are held in between (1: every bar). The same "
        "rule in training, backtests, the stress gate, the arena and the live bar loop",
    )
    action_repeat: bool = Field(
        True,
        description="training with decision_every k > 1: the agent is asked only on decision bars; one agent "
        "step holds through the k bars to the next one and earns their summed reward (episodes start on a "
        "decision bar). False: asked every bar, k - 1 of every k actions do nothing. Backtests and the "
        "live loop act on decision bars either way",
    )
    lot_size: dict[str, float] = Field(
        default_factory=dict, description="per-ticker quantity increment; default 1e-8"
    )
    reward: Literal["excess_equal_weight", "log_return", "differential_sharpe"] = Field(
        "excess_equal_weight",
        description="reward definition: one of the three compiled ones (the search space's choices) or a "
        "reward registered in cappuccino_core/env/extra_rewards/",
    )
    reward_scale: float = Field(100.0, gt=0, description="reward multiplier")
    turnover_penalty: float = Field(
        0.0,
        ge=0,
        le=1,
        description="training only: the reward minus this x the step's traded notional / equity before the "
        "step (x reward_scale), a cost beyond the fees already in the return that teaches a policy to trade "
        "less; backtests and scores use the equity, which it never touches (0: off)",
    )
    dsr_eta: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="differential_sharpe: adaptation rate of the moving first and second moments of returns",
    )
    episode_length: int = Field(720, ge=2, description="bars per training episode")
    n_envs: int = Field(8, ge=1, description="episodes stepped in one batch during training")

    @field_validator("reward", mode="wrap")
    @classmethod
    def _registered_reward(cls, v: object, handler: ValidatorFunctionWrapHandler) -> object:
        """A compiled reward by its literal name; else a reward registered in env/extra_rewards/."""
        try:
            return handler(v)
        except ValueError:
            if isinstance(v, str):
                from cappuccino_core.env.rewards import REWARDS  # only for a name beyond the three

                if v in REWARDS:
                    return v
                raise ValueError(f"unknown reward {v!r}; known: {REWARDS.names()}") from None
            raise

    @model_validator(mode="after")
    def _reserve_leaves_room(self) -> EnvConfig:
        if self.action_mode == "signal" and self.allow_short:
            raise ValueError(
                "action_mode 'signal' is long or flat (enter / hold / exit): it cannot be combined with "
                "allow_short = true; use action_mode 'target_weight' for short positions"
            )
        if self.cash_reserve + self.position_cap <= 0:
            raise ValueError("cash_reserve and position_cap leave nothing to invest")
        if self.rebalance_band >= self.position_cap:
            raise ValueError(
                f"rebalance_band ({self.rebalance_band}) must be below position_cap ({self.position_cap}): "
                "targets stop rebalance_band under the cap"
            )
        if self.cash_reserve + self.rebalance_band >= 1:
            raise ValueError(
                f"cash_reserve + rebalance_band ({self.cash_reserve} + {self.rebalance_band}) must be below 1"
            )
        return self
