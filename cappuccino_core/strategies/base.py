"""The one interface every strategy implements, and the batched policy that runs it through the kernel.

A strategy is a rule on prices, not a learner. It says, for every bar of a MarketDataset, which weights it
wants (a :class:`Plan`: ``targets`` (T, A)) and on which bars it re-targets each asset (``trade`` (T, A));
between those bars it holds what it has and lets the weights drift. Every episode re-targets all assets at
its first decision bar (it starts in cash). A plan row ``t`` is computed from the prices of rows
``segment start .. t`` only (causal: the decision at bar t sees the close of bar t, as the kernel's
observation does, and never a later bar); indicator state restarts at every dataset segment, so nothing is
read across a gap or from a synthetic window next to a real one.

Parameters are fitted on training data only: :meth:`Strategy.fit` runs every point of :meth:`Strategy.grid`
over the training segments through the kernel with the configured costs and keeps the one with the
highest Sharpe (annualised, after costs; ties keep the earlier grid point).

Weights become actions through :func:`cappuccino_core.backtest.baselines.actions_for_weights` (the one
inverse of the env's action mapping); "hold" is the current weight as target. Strategies marked
``exempt`` (the buy-and-hold references) run with ``position_cap = 1`` and ``cash_reserve = 0``
(:meth:`Strategy.env_for`): a hold that the cap and reserve rules trimmed every bar would not be a hold.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cappuccino_core.backtest.baselines import actions_for_weights
from cappuccino_core.common.policy import BarClocked, EpisodeAware, OwnEnv
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.actions import weights_env
from cappuccino_core.env.episodes import within
from cappuccino_core.features.dataset import MarketDataset

Params = dict[str, Any]
Segment = tuple[int, int]

EXEMPT_NOTE = "exempt from the position cap and cash reserve (position_cap=1, cash_reserve=0)"


@dataclass(frozen=True)
class Plan:
    """What a strategy wants on every row of one dataset."""

    targets: np.ndarray  # (T, A) float64 target weights (fractions of equity, >= 0)
    trade: np.ndarray  # (T, A) bool: re-target this asset at this bar (else hold)

    def __post_init__(self) -> None:
        if self.targets.shape != self.trade.shape or self.targets.ndim != 2:
            raise ValueError(
                f"plan: targets {self.targets.shape} and trade {self.trade.shape} must be (T, A)"
            )
        if not np.all(np.isfinite(self.targets)) or np.any(self.targets < 0):
            raise ValueError("plan: target weights must be finite and >= 0")


@dataclass(frozen=True)
class FitResult:
    """A grid fit: the chosen parameters and every grid point's training Sharpe."""

    params: Params  # the chosen grid point
    grid: list[Params]
    train_sharpe: list[float]  # annualised Sharpe after costs of each grid point on the training segments


CAP_ROOM = 0.8  # a position is bought to at most 80% of the cap
RESERVE_ROOM = 2.0  # and the book leaves twice the reserve in cash


def slot(env: EnvConfig, n_assets: int) -> float:
    """The weight one of ``n_assets`` equal positions takes: min(0.8 x cap, (1 - 2 x reserve) / A).

    Room on purpose: bought right at the limits, every uptick would push a position over the cap or eat
    the reserve, and the env's order rules would sell a little on every such bar (a weekly-rebalanced book
    at min(cap, (1 - reserve) / A) made 742 fills on the sample's held-out window instead of ~90). With
    this room an asset may gain 25% on the book, and the book ~100%, before the rules trim anything."""
    return min(CAP_ROOM * env.position_cap, (1.0 - RESERVE_ROOM * env.cash_reserve) / n_assets)


def format_params(params: Params) -> str:
    """``fast=24,slow=96,band=0.01`` (grid order, compact numbers); empty for no parameters."""
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def each_segment(
    data: MarketDataset, rule: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> Plan:
    """Build a plan segment by segment: ``rule(prices (n, A), times (n,)) -> (targets, trade)`` sees one
    contiguous segment at a time. Rows outside every segment (none in a valid dataset) stay in cash."""
    t, a = data.prices.shape
    targets, trade = np.zeros((t, a)), np.zeros((t, a), dtype=bool)
    for s, e in data.segments:
        w, m = rule(data.prices[s:e], data.times[s:e])
        targets[s:e], trade[s:e] = w, m
    return Plan(targets, trade)


def hysteresis(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """(n, A) in/out state: 1 from a bar where ``enter`` holds until a bar where ``leave`` holds (and not
    ``enter``), 0 before the first entry. Between the two thresholds the state does not change."""
    n = enter.shape[0]
    event = np.where(enter, 1, np.where(leave, 0, -1))
    rows = np.arange(n)[:, None]
    last = np.maximum.accumulate(np.where(event >= 0, rows, -1), axis=0)
    state = np.take_along_axis(event, np.maximum(last, 0), axis=0)
    return np.where(last >= 0, state, 0).astype(np.float64)


def switches(state: np.ndarray) -> np.ndarray:
    """(n, A) bool: the state changed at this bar (never at a segment's first bar)."""
    out = np.zeros(state.shape, dtype=bool)
    out[1:] = state[1:] != state[:-1]
    return out


class Strategy(ABC):
    """One strategy (one class per file, registered by ``name`` in :mod:`cappuccino_core.strategies`)."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line: what it does
    exempt: ClassVar[bool] = False  # runs with position_cap=1, cash_reserve=0

    def grid(self) -> list[Params]:
        """The parameter candidates :meth:`fit` chooses from (one empty point: nothing to fit)."""
        return [{}]

    @abstractmethod
    def plan(self, data: MarketDataset, params: Params, env: EnvConfig) -> Plan:
        """Targets and trade bars for every row of ``data`` (causal; see the module docstring)."""

    @property
    def label(self) -> str:
        """The name, with the cap/reserve exemption spelled out for the hold references."""
        return f"{self.name} ({EXEMPT_NOTE})" if self.exempt else self.name

    def env_for(self, env: EnvConfig) -> EnvConfig:
        """The env this strategy runs under: ``env``, or the exempt override; a strategy states weights, so
        signal mode becomes target_weight (env.actions.weights_env)."""
        env = weights_env(env)
        if not self.exempt:
            return env
        # No band either: a hold buys once, and the band would only keep its target under the cap.
        return env.model_copy(update={"position_cap": 1.0, "cash_reserve": 0.0, "rebalance_band": 0.0})

    def policy(
        self,
        params: Params | None = None,
        env: EnvConfig | None = None,
        tickers: Sequence[str] | None = None,
        segments: Sequence[Segment] | None = None,
    ) -> StrategyPolicy:
        """A batched policy of this strategy with ``params`` (default: the first grid point). ``tickers``
        lets a strategy that does not read prices run where nobody tells it the data (obs only);
        ``segments`` limits what its plan reads (:class:`StrategyPolicy`)."""
        chosen = self.grid()[0] if params is None else params
        return StrategyPolicy(self, chosen, self.env_for(env or EnvConfig()), tickers, segments)

    def fit(
        self, data: MarketDataset, segments: Sequence[Segment], env: EnvConfig, costs: CostsConfig
    ) -> FitResult:
        """Choose the grid point with the best training Sharpe after costs on ``segments`` (rows of
        ``data``; only these are run, so only these are seen)."""
        return self.fit_many(data, [segments], env, costs)[0]

    def fit_many(
        self,
        data: MarketDataset,
        segment_sets: Sequence[Sequence[Segment]],
        env: EnvConfig,
        costs: CostsConfig,
    ) -> list[FitResult]:
        """:meth:`fit` for several training sets (one per CPCV split) in ONE kernel run."""
        from cappuccino_core.metrics import sharpe_ratio, simple_returns

        grid = self.grid()
        if len(grid) == 1:
            return [FitResult(grid[0], grid, [math.nan]) for _ in segment_sets]
        lb = data.spec.lookback
        usable = [[(int(s), int(e)) for s, e in segs if e - s >= lb + 1] for segs in segment_sets]
        for k, segs in enumerate(usable):
            if not segs:
                raise ValueError(
                    f"{self.name}: training set {k} has no segment of at least lookback + 1 = {lb + 1} bars"
                )
        members: list[tuple[StrategyPolicy, np.ndarray]] = []
        starts: list[int] = []
        ends: list[int] = []
        owner: list[tuple[int, int]] = []  # (training set, grid point) per episode
        for k, segs in enumerate(usable):
            for g, params in enumerate(grid):
                idx = np.arange(len(starts), len(starts) + len(segs))
                members.append((self.policy(params, env, segments=segs), idx))
                starts += [s + lb - 1 for s, _ in segs]
                ends += [e - 1 for _, e in segs]
                owner += [(k, g)] * len(segs)
        from cappuccino_core.backtest.runner import run_equity

        curves = run_equity(
            BatchPolicy(members), data, self.env_for(env), costs, np.asarray(starts), np.asarray(ends)
        )
        tf = data.spec.timeframe
        out = []
        for k in range(len(usable)):
            scores = []
            for g in range(len(grid)):
                rets = [simple_returns(c) for c, o in zip(curves, owner, strict=True) if o == (k, g)]
                s = float(sharpe_ratio(np.concatenate(rets), tf))
                scores.append(s if math.isfinite(s) else -math.inf)
            best = int(np.argmax(scores))
            out.append(FitResult(grid[best], grid, [s if s > -math.inf else math.nan for s in scores]))
        return out


class HoldStrategy(Strategy):
    """Buys fixed weights at each episode's start and never trades again (weights drift with prices)."""

    @abstractmethod
    def weights(self, tickers: Sequence[str], env: EnvConfig) -> np.ndarray:
        """(A,) the weights bought at the start, in ticker order."""

    def plan(self, data: MarketDataset, params: Params, env: EnvConfig) -> Plan:
        w = self.weights(data.tickers, env)
        return Plan(np.broadcast_to(w, data.prices.shape).copy(), np.zeros(data.prices.shape, dtype=bool))


class StrategyPolicy:
    """A strategy with fixed parameters as a batched ``predict(observations) -> actions``.

    The runner (``backtest.runner``, ``arena.match``) calls :meth:`begin_episodes` before the first step
    of a batch and :meth:`at_bars` with every step's decision bars; the plan is built once per dataset.
    ``run_env`` is the env the strategy must run under (the exempt override for the hold references).
    ``segments``: rows of the data the plan may read, each segment on its own (a CPCV fold: the rule warms
    up inside it and never reads a bar of another fold); default the data's own segments.
    A :class:`HoldStrategy` (reads no prices) given its tickers also runs where nobody calls those (the stress
    gate's own loop): its first call is each episode's start.
    """

    def __init__(
        self,
        strategy: Strategy,
        params: Params,
        run_env: EnvConfig,
        tickers: Sequence[str] | None = None,
        segments: Sequence[Segment] | None = None,
    ) -> None:
        self.strategy, self.params, self.run_env = strategy, dict(params), run_env
        self.segments = None if segments is None else [(int(a), int(b)) for a, b in segments]
        self._hold: np.ndarray | None = None  # a HoldStrategy's weights
        if isinstance(strategy, HoldStrategy) and tickers is not None:
            self._hold = strategy.weights(tuple(tickers), run_env)
        self._data: MarketDataset | None = None
        self._plan: Plan | None = None
        self._t: np.ndarray | None = None
        self._first: np.ndarray | None = None
        self._pending: np.ndarray | None = None

    @property
    def name(self) -> str:
        """The strategy's name with its parameters."""
        p = format_params(self.params)
        return f"{self.strategy.name}({p})" if p else self.strategy.name

    def plan_for(self, data: MarketDataset) -> Plan:
        """The plan on ``data`` (cached per dataset; restricted to ``segments`` when given)."""
        if self._data is not data or self._plan is None:
            seen = data
            if self.segments is not None:  # the plan reads these rows only (a CPCV fold), each on its own
                seen = dataclasses.replace(data, segments=sorted(within(self.segments, data.segments)))
            plan = self.strategy.plan(seen, self.params, self.run_env)
            if plan.targets.shape != data.prices.shape:
                raise ValueError(
                    f"{self.strategy.name}: plan shape {plan.targets.shape} != prices {data.prices.shape}"
                )
            self._plan, self._data = plan, data
        return self._plan

    def begin_episodes(self, data: MarketDataset, starts: np.ndarray) -> None:
        """A new batch of episodes starting at rows ``starts`` of ``data``."""
        if isinstance(self.strategy, HoldStrategy):
            self._hold = self.strategy.weights(data.tickers, self.run_env)
        else:
            self.plan_for(data)
        self._first = np.ones(len(starts), dtype=bool)
        self._pending = np.zeros((len(starts), data.n_assets), dtype=bool)
        self._t = None

    def at_bars(self, t: np.ndarray) -> None:
        """The decision bars (rows of the dataset) of the coming :meth:`predict`."""
        self._t = np.asarray(t, dtype=np.int64)

    def _wanted(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(targets, trade) (n, A) for the coming decision."""
        if self._hold is not None:
            shape = (n, self._hold.shape[0])
            return np.broadcast_to(self._hold, shape), np.zeros(shape, dtype=bool)
        if isinstance(self.strategy, HoldStrategy):
            raise RuntimeError(
                f"strategy {self.strategy.name}: give its tickers (policy(..., tickers=...)) or run it "
                "through cappuccino_core.backtest.runner / cappuccino_core.arena.match"
            )
        if self._plan is None or self._t is None or self._t.shape[0] != n:
            raise RuntimeError(
                f"strategy {self.strategy.name} reads prices by bar: run it through "
                "cappuccino_core.backtest.runner or cappuccino_core.arena.match (they tell it the bar)"
            )
        return self._plan.targets[self._t], self._plan.trade[self._t]

    def predict(self, observations: np.ndarray) -> np.ndarray:
        """The plan's actions at the current bars of the batch."""
        obs = np.asarray(observations)
        n = obs.shape[0]
        targets, trade = self._wanted(n)
        n_assets = targets.shape[1]
        if self._first is None or self._first.shape[0] != n:  # nobody said a batch began: starts now
            self._first = np.ones(n, dtype=bool)
            self._pending = None
        current = obs[:, 1 : 1 + n_assets].astype(np.float64)
        pending = self._pending if self._pending is not None else np.zeros((n, n_assets), dtype=bool)
        actions, self._pending = plan_actions(targets, trade, current, self._first, pending, self.run_env)
        self._first = np.zeros(n, dtype=bool)
        self._t = None
        return actions


def plan_actions(
    targets: np.ndarray,
    trade: np.ndarray,
    current: np.ndarray,
    first: np.ndarray,
    pending: np.ndarray,
    env: EnvConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Actions (N, A) and the new pending flags: re-target where the plan trades, at an episode's first bar
    and where an earlier re-target is still under way (trade_fraction mode, or a decision interval
    ``decision_every`` > 1: a signal on a bar between decisions is carried to the next decision bar); hold
    elsewhere."""
    go = trade | first[:, None] | pending
    target = np.where(go, targets, current)
    if env.action_mode == "trade_fraction":  # a re-target takes several bars: keep at it until reached
        still = go & (np.abs(target - current) > env.max_trade_fraction * (1 + 1e-9))
    elif env.decision_every > 1:  # orders only on decision bars: keep a re-target until it is done
        still = go & (np.abs(target - current) > env.rebalance_band + 1e-9)
    else:
        still = np.zeros(current.shape, dtype=bool)
    return actions_for_weights(target, current, env), still


class BatchPolicy:
    """Several policies in one kernel run: ``members`` = (policy, its episode indices).

    When every member is a :class:`StrategyPolicy` (fitting a grid, scoring splits), their plans are laid
    out once per batch, episode by episode (rows from its start to its segment's end), and every step is a
    few array lookups for all episodes together; otherwise each member is asked for its rows."""

    def __init__(self, members: Sequence[tuple[Any, np.ndarray]]) -> None:
        self.members = [(p, np.asarray(i, dtype=np.int64)) for p, i in members]
        envs = [p.run_env if isinstance(p, OwnEnv) else None for p, _ in self.members]
        if any(e != envs[0] for e in envs[1:]):
            raise ValueError("BatchPolicy: members must share one run env (cap, reserve, mode)")
        self.run_env = envs[0] if envs else None
        self._flat = all(isinstance(p, StrategyPolicy) for p, _ in self.members) and bool(self.members)
        self._t: np.ndarray | None = None

    def begin_episodes(self, data: MarketDataset, starts: np.ndarray) -> None:
        """Tell every member where its episodes start."""
        if not self._flat:
            for p, idx in self.members:
                if isinstance(p, EpisodeAware):
                    p.begin_episodes(data, starts[idx])
            return
        n, a = len(starts), data.n_assets
        segs = sorted(data.segments)
        seg_ends = np.asarray([e for _, e in segs], dtype=np.int64)
        seg_starts = np.asarray([s for s, _ in segs], dtype=np.int64)
        k = np.searchsorted(seg_starts, starts, side="right") - 1
        stop = seg_ends[k]  # an episode never leaves its segment
        self._offset = np.zeros(n, dtype=np.int64)
        self._start = np.asarray(starts, dtype=np.int64)
        total = int((stop - self._start).sum())
        self._targets, self._trade = np.empty((total, a)), np.empty((total, a), dtype=bool)
        pos = 0
        for p, idx in self.members:
            plan = p.plan_for(data)
            for i in idx.tolist():
                lo, hi = int(self._start[i]), int(stop[i])
                self._offset[i] = pos - lo
                self._targets[pos : pos + hi - lo] = plan.targets[lo:hi]
                self._trade[pos : pos + hi - lo] = plan.trade[lo:hi]
                pos += hi - lo
        self._first = np.ones(n, dtype=bool)
        self._pending = np.zeros((n, a), dtype=bool)

    def at_bars(self, t: np.ndarray) -> None:
        """Tell every member the current bar of each episode."""
        if self._flat:
            self._t = np.asarray(t, dtype=np.int64)
            return
        for p, idx in self.members:
            if isinstance(p, BarClocked):
                p.at_bars(t[idx])

    def predict(self, observations: np.ndarray) -> np.ndarray:
        """Every member's actions, in the batch's episode order."""
        if self._flat:
            if self._t is None:
                raise RuntimeError(
                    "BatchPolicy of strategies: run it through cappuccino_core.backtest.runner"
                )
            rows = self._offset + self._t
            targets, trade = self._targets[rows], self._trade[rows]
            current = np.asarray(observations)[:, 1 : 1 + targets.shape[1]].astype(np.float64)
            assert self.run_env is not None
            actions, self._pending = plan_actions(
                targets, trade, current, self._first, self._pending, self.run_env
            )
            self._first = np.zeros_like(self._first)
            self._t = None
            return actions
        out: np.ndarray | None = None
        for p, idx in self.members:
            a = np.asarray(p.predict(observations[idx]), dtype=np.float64)
            if out is None:
                out = np.zeros((observations.shape[0], a.shape[1]))
            out[idx] = a
        assert out is not None
        return out
