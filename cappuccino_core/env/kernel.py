"""The step kernel: N trading episodes x A assets stepped at once (numpy state, compiled loops).

One kernel serves training (through the gymnasium and SB3 views in gym_env.py / vec_env.py), backtests,
stress tests, the arena and paper/live decisions: same actions, costs, rules, rewards and observations.

State per episode: cash, holdings per asset, current bar index t, episode start/end, peak equity, the
equal-weight benchmark's units and the smoothed actions (``env.action_smoothing``). One step, for every
active episode:

1. Mark the portfolio at the decision bar t's reference price p (the bar's close): equity E.
2. Actions (smoothed first when ``env.action_smoothing`` > 0, :meth:`TradingKernel.smooth`) -> desired
   orders (actions.py; nothing on bars that are not decision bars, see
   ``env.decision_every`` and actions.decision_bars: the portfolio is held), then the order rules
   (rules.py): no short, lots, minimum order value, cash reserve, position cap, in broker units.
3. Fill the orders at p with slippage and fees (fills.py): sells and buys settle together.
4. Advance to bar t + 1, mark to its price: equity E'. Reward from E -> E' (rewards.py).
5. An episode ends (truncated: the portfolio would go on, the data or the time limit ends) when t reaches
   its end bar; terminated only if equity reached 0. Ended episodes stay frozen until reset.

Equity identity, per step: E' - E = sum(holdings_after x (p' - p)) - fees - slippage.

Steps 1-3 with the default rules and 4-5 always run in compiled loops over the batch (step_fused.py,
order_math.py); a custom rule list runs steps 2-3 through the rule classes, which call the same compiled
row functions. Actions that are not finite are refused with the episode named, before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.env.actions import decision_bars, desired_orders, mode_code
from cappuccino_core.env.episodes import EpisodeSampler, within
from cappuccino_core.env.fills import CostModel, settle
from cappuccino_core.env.observation import ObservationBuilder
from cappuccino_core.env.order_batch import mark_batch
from cappuccino_core.env.records import Recorder
from cappuccino_core.env.rewards import Reward
from cappuccino_core.env.rules import OrderContext, OrderRule, apply_rules, default_rules, lot_sizes
from cappuccino_core.env.step_fused import advance, orders_and_fills
from cappuccino_core.features.dataset import MarketDataset


@dataclass
class StepResult:
    """What one batched step returns: observations, rewards, done flags and per-episode info arrays."""

    obs: np.ndarray  # (N, obs_size) float32, at the new decision bar
    reward: np.ndarray  # (N,) float64, 0 for episodes that were not active
    terminated: np.ndarray  # (N,) bool: equity reached 0
    truncated: np.ndarray  # (N,) bool: reached the episode's end bar (not terminated)
    equity: np.ndarray  # (N,) equity after the step, marked at the new bar


def _next_true(flags: np.ndarray) -> np.ndarray:
    """(T,) int64: for each bar, the first bar at or after it whose flag is set (T where none is)."""
    n = len(flags)
    at = np.where(flags, np.arange(n, dtype=np.int64), np.int64(n))
    return np.minimum.accumulate(at[::-1])[::-1].copy()


def _refuse(actions: np.ndarray, episode: int) -> NoReturn:
    raise ValueError(f"step: actions of episode {episode} are not finite: {actions[episode].tolist()}")


class TradingKernel:
    """The batched trading step shared by training, backtests and the arena: N episodes over one dataset,
    actions to orders through the order rules, fills through the cost model, rewards, observations."""

    def __init__(
        self,
        data: MarketDataset,
        env: EnvConfig,
        costs: CostsConfig,
        n_episodes: int = 1,
        *,
        segments: list[tuple[int, int]] | None = None,
        rules: list[OrderRule] | None = None,
        seed: int | None = None,
        record: bool = False,
    ) -> None:
        assert data.volatility is not None
        self.data, self.env, self.n = data, env, int(n_episodes)
        self.n_assets, self.lookback = data.n_assets, data.spec.lookback
        self.costs = CostModel.from_config(costs)
        f64 = np.ascontiguousarray
        self.prices = f64(data.prices, dtype=np.float64)
        self.slippage = f64(self.costs.slippage(data.volatility), dtype=np.float64)
        self.lot = lot_sizes(data.tickers, env)
        # Bars on which orders may be placed (env.decision_every); the portfolio is held on the others.
        self.decide = decision_bars(
            data.times, timeframe_seconds(data.spec.timeframe) * 10**9, env.decision_every
        )
        # Random episode starts moved on to the first decision bar (the action-repeat view sets it).
        self.align_starts = False
        self._next_decision = _next_true(self.decide)
        self.rules = default_rules(env) if rules is None else list(rules)
        # Rules with state (the risk manager) get every fill and every episode restart.
        self._stateful = [r for r in self.rules if hasattr(r, "on_fill") and hasattr(r, "reset")]
        # The default rules run fused in compiled loops (step_fused.py); any other list (the risk
        # manager's rules) goes through the rule classes. Same numbers (a property test holds them equal).
        self.fused = rules is None
        segments = data.segments if segments is None else within(segments, data.segments)
        self.sampler = EpisodeSampler(segments, self.lookback, env.episode_length)
        self.observe = ObservationBuilder(data.features, self.lookback)
        self.obs_size = self.observe.size
        self.reward = Reward(env, self.n)
        self.rng = np.random.default_rng(seed)
        self.recorder = Recorder(data.tickers, data.times, self.costs.liquidity) if record else None

        n, a = self.n, self.n_assets
        self.cash = np.zeros(n)
        self.holdings = np.zeros((n, a))
        self.t = np.zeros(n, dtype=np.int64)
        self.start = np.zeros(n, dtype=np.int64)
        self.end = np.zeros(n, dtype=np.int64)
        self.active = np.zeros(n, dtype=bool)
        self.peak = np.zeros(n)
        self.bench_units = np.zeros((n, a))  # equal-weight benchmark: worth 1 at the episode's start
        self.bench_value = np.ones(n)  # its value at the current bar
        self.smoothed = np.zeros((n, a))  # env.action_smoothing: the effective actions, per episode

    def seed(self, seed: int | None) -> None:
        """Seed the episode sampler's generator."""
        self.rng = np.random.default_rng(seed)

    @property
    def equity(self) -> np.ndarray:
        """(N,) equity of every episode at the current bar."""
        return mark_batch(self.cash, self.holdings, self.prices[self.t])

    def reset(
        self,
        idx: np.ndarray | None = None,
        starts: np.ndarray | None = None,
        ends: np.ndarray | None = None,
    ) -> np.ndarray:
        """(Re)start episodes ``idx`` (default all): random positions (moved on to their first decision bar
        when ``align_starts`` is set), or the given starts/ends (checked against the segments). Returns
        the observations of all N episodes."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx, dtype=np.int64)
        if starts is None:
            starts, ends = self.sampler.sample(self.rng, len(idx))
            if self.align_starts:  # on to the first decision bar, if the episode reaches one
                later = self._next_decision[starts]
                starts = np.where(later < ends, later, starts)
        else:
            if ends is None or len(starts) != len(idx) or len(ends) != len(idx):
                raise ValueError(f"reset: give starts and ends for each of the {len(idx)} episodes reset")
            starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
            self.sampler.check(starts, ends)
        self.t[idx], self.start[idx], self.end[idx] = starts, starts, ends
        self.cash[idx] = self.env.initial_cash
        self.holdings[idx] = 0.0
        self.peak[idx] = self.env.initial_cash
        self.active[idx] = True
        self.bench_units[idx] = 1.0 / (self.n_assets * self.prices[starts])
        self.bench_value[idx] = 1.0
        self.reward.reset(idx)
        self.smoothed[idx] = 0.0  # smoothing starts at 0 (hold) with each episode
        for rule in self._stateful:  # stateful risk rules (entry prices, counters) restart with the episode
            rule.reset(idx)
        if self.recorder is not None:
            self._record_reset(idx)
        return self.observation()

    def observation(self) -> np.ndarray:
        """(N, obs_size) observations at the current decision bar."""
        return self.observe.marked_at(self.t, self.cash, self.holdings, self.prices, self.t)

    def step(self, actions: np.ndarray, only: np.ndarray | None = None) -> StepResult:
        """One step of every active episode: (N, n_assets) actions become orders through the order rules,
        fill through the cost model, and each episode moves one bar on (ValueError on a wrong shape).
        ``only`` (N,) bool: step just these episodes; the others wait where they are (reward 0, not done,
        still active), as ended episodes do (the action-repeat view uses it, vec_env.py)."""
        actions = np.ascontiguousarray(actions, dtype=np.float64)
        if actions.shape != (self.n, self.n_assets):
            raise ValueError(
                f"step: actions must have shape (episodes, assets) = {(self.n, self.n_assets)}, "
                f"got {actions.shape}"
            )
        t = self.t
        waiting = None if only is None else self.active & ~np.asarray(only, dtype=bool)
        active = self.active if waiting is None else self.active & ~waiting
        if self.env.action_smoothing > 0.0:  # both paths below see the smoothed actions
            actions = self.smooth(actions, active & self.decide[t])

        # 1-3. Mark, turn actions into orders, apply the order rules (broker units), fill.
        if self.fused:
            cash, holdings = self.cash.copy(), self.holdings.copy()
            qty, before = np.empty_like(holdings), np.empty(self.n)
            env = self.env
            bad = orders_and_fills(
                actions, self.prices, self.slippage, self.lot, t, active, self.decide, cash, holdings,
                mode_code(env.action_mode), env.allow_short, env.position_cap, env.max_trade_fraction,
                self.costs.fee_rate, env.min_order_value, env.cash_reserve, env.hold_band, env.rebalance_band,
                env.min_order_fraction, qty, before,
            )  # fmt: skip
            if bad >= 0:
                _refuse(actions, bad)
            fill = None
            if self.recorder is not None:  # per-fill prices, fees and slippage for the records
                fill = settle(
                    qty, self.cash, self.holdings, self.prices[t], self.slippage[t], self.costs.fee_rate
                )
        else:
            if not np.isfinite(actions).all():
                _refuse(actions, int(np.flatnonzero(~np.isfinite(actions).all(axis=1))[0]))
            ctx = OrderContext(
                prices=self.prices[t],
                cash=self.cash,
                holdings=self.holdings,
                slippage=self.slippage[t],
                fee_rate=self.costs.fee_rate,
                lot=self.lot,
                min_order_value=self.env.min_order_value,
                time=self.data.times[t],
            )
            wanted = desired_orders(actions, self.env, ctx.equity, ctx.holdings, ctx.prices)
            wanted = np.where(self.decide[t][:, None], wanted, 0.0)  # hold between decisions
            qty = apply_rules(self.rules, wanted, ctx)
            qty = np.where(active[:, None], qty, 0.0)  # ended episodes stay frozen
            fill = ctx.settle(qty)
            cash, holdings, before = fill.cash, fill.holdings, ctx.equity
            for rule in self._stateful:  # the same fill events the live trader feeds them
                rule.on_fill(qty, fill.price, fill.fee, ctx.time)
        self.cash, self.holdings = cash, holdings

        # 4-5. Next bar, mark, benchmark, reward, episode ends.
        n, rw = self.n, self.reward
        self.t, self.active = t.copy(), active.copy()
        equity, reward = np.empty(n), np.empty(n)
        terminated, truncated = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
        bench_before = self.bench_value.copy() if rw.custom is not None else self.bench_value
        advance(
            self.prices, self.t, self.end, self.active, cash, holdings, before, self.bench_units,
            self.bench_value, self.peak, rw.code, rw.scale, rw.eta, rw.mean, rw.second,
            equity, reward, terminated, truncated,
        )  # fmt: skip
        if rw.custom is not None:  # a reward from a plugin file, in numpy (rewards.py)
            reward = rw.numpy_step(before, equity, bench_before, self.bench_value, active)
        if rw.turnover_penalty > 0.0:  # training's extra charge on traded notional (rewards.py)
            reward = reward - rw.turnover_cost(qty, self.prices[t], before, active)
        if waiting is not None:  # not stepped: still active, frozen at their bar like ended ones
            self.active |= waiting

        if self.recorder is not None:
            assert fill is not None
            self.recorder.add(
                t=self.t, trade_t=t, active=active, equity=equity, cash=cash, holdings=holdings,
                fee=fill.fee.sum(axis=1), slippage=fill.slippage.sum(axis=1), reward=reward,
                qty=qty, price=fill.price, fee_asset=fill.fee, slip_asset=fill.slippage,
            )  # fmt: skip
        obs = self.observation()
        return StepResult(obs, reward, terminated, truncated, equity)

    def smooth(self, actions: np.ndarray, deciding: np.ndarray) -> np.ndarray:
        """``env.action_smoothing`` alpha: for the episodes ``deciding`` (N,) bool (active, on a decision bar)
        the effective actions become alpha x previous + (1 - alpha) x clip(actions, -1, 1), kept as the
        episode's state and returned in place of ``actions``; the other episodes' rows pass unchanged (their
        actions ask for nothing). Actions that are not finite are refused before the state changes."""
        if not np.isfinite(actions).all():
            _refuse(actions, int(np.flatnonzero(~np.isfinite(actions).all(axis=1))[0]))
        alpha = self.env.action_smoothing
        new = alpha * self.smoothed + (1.0 - alpha) * np.clip(actions, -1.0, 1.0)
        rows = deciding[:, None]
        self.smoothed = np.where(rows, new, self.smoothed)
        return np.where(rows, self.smoothed, actions)

    def _record_reset(self, idx: np.ndarray) -> None:
        assert self.recorder is not None
        n, a = self.n, self.n_assets
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        zeros_n, zeros_na = np.zeros(n), np.zeros((n, a))
        self.recorder.add(
            t=self.t, trade_t=self.t, active=mask, equity=self.equity, cash=self.cash, holdings=self.holdings,
            fee=zeros_n, slippage=zeros_n, reward=zeros_n,
            qty=zeros_na, price=self.prices[self.t], fee_asset=zeros_na, slip_asset=zeros_na,
        )  # fmt: skip
