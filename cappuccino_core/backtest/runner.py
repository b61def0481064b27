"""Backtests: any policy with a batched ``predict(observations) -> actions`` through the step kernel.

The kernel is the one used in training (same actions, costs, order rules, observation), so a backtest
is what training optimised and what trading will do. :func:`run_episodes` steps any set of episodes in
one batch and returns one :class:`EpisodeRecord` per episode (equity, cash, holdings, fees, slippage,
trade ledger). :func:`backtest` runs a MarketDataset window: one episode per contiguous segment (usually
one), and summarises it with ``cappuccino_core.metrics`` against the equal-weight and BTC-hold benchmarks.

A policy (:class:`~cappuccino_core.common.policy.Policy`) may also be
:class:`~cappuccino_core.common.policy.EpisodeAware` (``begin_episodes(data, starts)``, called once before the
first step of a batch) and :class:`~cappuccino_core.common.policy.BarClocked` (``at_bars(t)``, called before
every ``predict`` with the episodes' decision bars): the strategies in
``cappuccino_core.strategies`` read prices by bar through these. A policy with a ``run_env`` attribute
runs under that env instead of the one given (the buy-and-hold references, exempt from the position cap
and cash reserve), and a registered model under the given env with its trained fields applied (its hold
band, decision interval, ...); :func:`run_env` says which env a policy gets.

Several segments (gaps in the data) are separate episodes, each starting from ``initial_cash`` in cash;
the reported curve chains their returns (each segment continues from the previous one's final equity),
and the benchmarks are chained the same way. The ledger lists every segment's fills as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.common.policy import BarClocked, EpisodeAware, Policy, policy_env
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.records import EpisodeRecord
from cappuccino_core.env.rules import OrderRule
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.metrics import PerformanceSummary, standard_benchmarks, summarize


class SB3Policy:
    """An SB3 model as a deterministic batched policy; ``trained_env``: the model fields of the env it was
    trained with (registry/model_env.py), applied by :meth:`env_config` (None: the env given)."""

    def __init__(self, model: Any, trained_env: dict[str, Any] | None = None) -> None:
        self.model, self.trained_env = model, trained_env

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """``base`` with the trained fields applied (``base`` when there are none)."""
        if self.trained_env is None:
            return base
        from cappuccino_core.registry.model_env import apply_trained

        return apply_trained(self.trained_env, base, model="the SB3 policy")

    def predict(self, observations: np.ndarray) -> np.ndarray:
        """The model's deterministic actions for a batch of observations."""
        actions, _ = self.model.predict(observations, deterministic=True)
        return np.asarray(actions)


@dataclass
class BacktestResult:
    """One backtest: equity and benchmark curves on the same bars, every fill, the summary, the episodes."""

    times: np.ndarray  # (T,) int64 ns, bar open time of each equity point
    equity: np.ndarray  # (T,) total equity, first point = initial cash (segments chained)
    benchmarks: dict[str, np.ndarray]  # name -> (T,) equity on the same bars
    ledger: pl.DataFrame  # every fill (records.LEDGER_SCHEMA)
    summary: PerformanceSummary
    episodes: list[EpisodeRecord]  # one per segment, as recorded (cash, holdings, fees, slippage, ...)

    @property
    def fees(self) -> float:
        """Fees paid over the whole run (quote currency)."""
        return float(sum(e.fees.sum() for e in self.episodes))

    @property
    def slippage(self) -> float:
        """Slippage paid over the whole run (quote currency)."""
        return float(sum(e.slippage.sum() for e in self.episodes))


def _actions(policy: Policy, obs: np.ndarray) -> np.ndarray:
    out = policy.predict(obs)
    if isinstance(out, tuple):  # SB3-style (actions, state)
        out = out[0]
    return np.asarray(out, dtype=np.float64)


def run_env(policy: object, env: EnvConfig) -> EnvConfig:
    """The env ``policy`` runs under: its own ``run_env`` if it has one, a trained model's env (``env`` with
    the model's trained fields), else ``env`` (:func:`~cappuccino_core.common.policy.policy_env`)."""
    return policy_env(policy, env)


def begin(policy: object, data: MarketDataset, starts: np.ndarray) -> None:
    """Tell a bar-reading policy that a batch of episodes starts at rows ``starts``."""
    if isinstance(policy, EpisodeAware):
        policy.begin_episodes(data, np.asarray(starts, dtype=np.int64).copy())


def act(policy: Policy, obs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The policy's actions (float64) for observations at decision bars ``t``."""
    if isinstance(policy, BarClocked):
        policy.at_bars(np.asarray(t, dtype=np.int64).copy())
    return _actions(policy, obs)


def run_episodes(
    policy: Policy,
    data: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    starts: np.ndarray,
    ends: np.ndarray,
    *,
    rules: list[OrderRule] | None = None,
) -> list[EpisodeRecord]:
    """Run ``policy`` over the episodes (starts[i], ends[i]) in one batch; every episode runs to its end
    (ended ones stay frozen while the others finish). ``env``: see :func:`run_env`."""
    kernel = _run_recorded(policy, data, env, costs, starts, ends, rules)
    assert kernel.recorder is not None
    return [kernel.recorder.episode(i) for i in range(kernel.n)]


def _run_recorded(
    policy: Policy,
    data: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    starts: np.ndarray,
    ends: np.ndarray,
    rules: list[OrderRule] | None = None,
) -> TradingKernel:
    """Step ``policy`` over the episodes in one recording kernel until every episode has ended."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    env = run_env(policy, env)
    kernel = TradingKernel(data, env, costs, len(starts), rules=rules, record=True)
    obs = kernel.reset(starts=starts, ends=ends)
    begin(policy, data, starts)
    while kernel.active.any():
        actions = act(policy, obs, kernel.t)
        if actions.shape != (kernel.n, kernel.n_assets):
            raise ValueError(
                f"policy returned actions of shape {actions.shape}; expected {(kernel.n, kernel.n_assets)}"
            )
        obs = kernel.step(actions).obs
    return kernel


def run_equity(
    policy: Policy,
    data: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    starts: np.ndarray,
    ends: np.ndarray,
) -> list[np.ndarray]:
    """:func:`run_episodes` without the records: each episode's equity curve (its first decision bar to
    its last bar, or to the bar its equity reached 0). For many episodes at once (fitting strategies)."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    env = run_env(policy, env)
    kernel = TradingKernel(data, env, costs, len(starts))
    obs = kernel.reset(starts=starts, ends=ends)
    begin(policy, data, starts)
    curves, steps = [kernel.equity.copy()], np.zeros(len(starts), dtype=np.int64)
    while kernel.active.any():
        actions = act(policy, obs, kernel.t)
        if actions.shape != (kernel.n, kernel.n_assets):
            raise ValueError(
                f"policy returned actions of shape {actions.shape}; expected {(kernel.n, kernel.n_assets)}"
            )
        steps += kernel.active
        obs = kernel.step(actions).obs
        curves.append(kernel.equity.copy())
    table = np.stack(curves)
    return [table[: k + 1, i] for i, k in enumerate(steps.tolist())]


@dataclass(frozen=True)
class EpisodeCosts:
    """What scoring needs of one episode: its equity curve, fees paid and traded notional (both legs)."""

    equity: np.ndarray
    fees: float
    notional: float


def run_costs(
    policy: Policy,
    data: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    starts: np.ndarray,
    ends: np.ndarray,
) -> list[EpisodeCosts]:
    """:func:`run_episodes` reduced to equity, fees and traded notional per episode, read from the kernel's
    records in one pass (``Recorder.episode`` per episode rescans every step: quadratic in the episodes
    when hundreds run in one batch)."""
    kernel = _run_recorded(policy, data, env, costs, starts, ends)
    assert kernel.recorder is not None
    rows = kernel.recorder.rows
    active = np.stack([r["active"] for r in rows])  # (steps + 1, N): the reset row, then each step
    equity = np.stack([r["equity"] for r in rows])
    fees = np.where(active, np.stack([r["fee"] for r in rows]), 0.0).sum(axis=0)
    traded = np.stack([(np.abs(r["qty"]) * r["price"]).sum(axis=1) for r in rows])
    notional = np.where(active, traded, 0.0).sum(axis=0)
    return [
        EpisodeCosts(equity[active[:, i], i].copy(), float(fees[i]), float(notional[i]))
        for i in range(kernel.n)
    ]


def _chain(curves: list[np.ndarray]) -> np.ndarray:
    """Concatenate curves so each continues from the previous one's last value (returns are kept)."""
    out = [curves[0]]
    for c in curves[1:]:
        out.append(c * (out[-1][-1] / c[0]))
    return np.concatenate(out)


def btc_ticker(tickers: tuple[str, ...]) -> str:
    """The BTC ticker if there is one (BTC/USD, BTC/USDT, ...), else the first ticker."""
    return next((t for t in tickers if t.upper().split("/")[0].split("-")[0] in ("BTC", "XBT")), tickers[0])


def backtest(
    policy: Policy,
    data: MarketDataset,
    env: EnvConfig,
    costs: CostsConfig,
    *,
    start: int | None = None,
    end: int | None = None,
    rules: list[OrderRule] | None = None,
) -> BacktestResult:
    """Backtest ``policy`` on rows [start, end) of ``data`` (default all): one episode per segment, from
    its first bar with a full lookback window to its last bar. ``env``: see :func:`run_env`."""
    env = run_env(policy, env)
    window = data.slice(start or 0, data.n_bars if end is None else end)
    kernel = TradingKernel(window, env, costs, 1, rules=rules)  # validates the window, finds episodes
    starts, ends = kernel.sampler.whole()
    episodes = run_episodes(policy, window, env, costs, starts, ends, rules=rules)
    times = np.concatenate([e.times for e in episodes])
    equity = _chain([e.equity for e in episodes])
    per_segment = [
        standard_benchmarks(
            window.prices[s : e + 1], window.tickers, env.initial_cash, btc=btc_ticker(window.tickers)
        )
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    benchmarks = {name: _chain([b[name] for b in per_segment]) for name in per_segment[0]}
    ledger = pl.concat([e.ledger for e in episodes])
    summary = summarize(equity, window.spec.timeframe, ledger=ledger, benchmarks=benchmarks)
    return BacktestResult(times, equity, benchmarks, ledger, summary, episodes)
