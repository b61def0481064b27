"""The ensemble policy: LSTM, Transformer and an RL policy combined per configuration (0.35 / 0.40 / 0.25),
or with weights learnt from validation performance, run like any policy (batched ``predict`` with the
runner's ``begin_episodes`` / ``at_bars`` hooks: the backtester and the arena call them).

Per decision bar and asset: the supervised members' P(up) (their :class:`ForecastTable` row at the bar's
time) are averaged with their weights; the result becomes a signal (direction, confidence, tier) posted on the
:class:`SignalBoard` (the signal risk rules read it; high-tier signals are recorded for notification). The
action is the weighted mean of the supervised vote (+1 up / -1 down where the signal reaches the threshold,
0 below it) and the RL policy's action, in [-1, 1] (target-weight mode: > 0 long, <= 0 flat). A bar with
no forecast (no full window yet) leaves only the RL member's vote. With ``record_votes`` every decision's
inputs are kept (:class:`VoteLog`): each supervised member's P(up), the signal's vote, the RL member's action
and the combined action, per bar and asset (the paper session reports them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch

from cappuccino_core.common.policy import BarClocked, EpisodeAware, OwnEnv, policy_env
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.features.supervised_set import supervised_frame_features
from cappuccino_core.supervised.fit import Samples, predict_proba
from cappuccino_core.supervised.signals import TIER_NONE, SignalBoard
from cappuccino_core.supervised.tracking import SupervisedModel
from cappuccino_core.trading.ensemble import sharpe_weights


@dataclass
class ForecastTable:
    """One supervised member's P(up) by bar open time: ``times`` (T,) int64 ns, ``p_up`` (T, A), NaN where
    the model has no full window."""

    name: str
    times: np.ndarray
    p_up: np.ndarray

    def at(self, times: np.ndarray) -> np.ndarray:
        """(n, A) forecasts at bar ``times`` (NaN for a time the table does not hold)."""
        t = np.asarray(times, dtype=np.int64)
        k = np.clip(np.searchsorted(self.times, t), 0, len(self.times) - 1)
        hit = self.times[k] == t
        return np.where(hit[:, None], self.p_up[k], np.nan)


def forecast_table(
    model: SupervisedModel,
    frames: Mapping[str, pl.DataFrame],
    name: str | None = None,
    *,
    synthetic_ok: bool = False,
) -> ForecastTable:
    """``model``'s forecasts on every bar of ``frames`` with a full window (features by its stored spec;
    ``synthetic_ok``: the bars may be synthetic, e.g. a stress scenario's)."""
    data = supervised_frame_features(frames, model.spec, synthetic_ok=synthetic_ok)
    samples = Samples.from_data(data, torch.device("cpu"))
    lb = model.spec.lookback
    parts = [np.arange(s + lb - 1, e) for s, e in data.segments if e - s >= lb]
    rows = np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)
    p = np.full((data.n_bars, len(model.spec.tickers)), np.nan)
    if model.kind == "lstm":
        for j, unit in enumerate(model.units):
            p[rows, j] = predict_proba(unit, samples, rows, j)
    else:
        p[rows] = predict_proba(model.units[0], samples, rows, None)
    return ForecastTable(name or model.kind, data.times, p)


def learn_weights(edges: Mapping[str, float]) -> dict[str, float]:
    """Weights proportional to each member's validation edge above chance (e.g. directional accuracy - 0.5),
    negatives at 0; equal when none is positive."""
    names = list(edges)
    w = sharpe_weights([edges[n] for n in names])
    return {n: float(x) for n, x in zip(names, w, strict=True)}


def directional_edge(score: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy - 0.5 of sign(score) (> 0: up) against 0/1 labels (-1 masked) on validation bars."""
    s, y = np.asarray(score, dtype=np.float64), np.asarray(labels)
    ok = (y >= 0) & np.isfinite(s) & (s != 0)
    return float(np.mean((s[ok] > 0) == (y[ok] == 1)) - 0.5) if ok.any() else 0.0


def ensemble_label(weights: Mapping[str, float]) -> str:
    """``ensemble(lstm 0.50, rl 0.50)``: the members in order with their weights normalised to sum 1."""
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"ensemble weights must have a positive sum; got {dict(weights)}")
    return "ensemble(" + ", ".join(f"{n} {w / total:.2f}" for n, w in weights.items()) + ")"


class EnsemblePolicy:
    """Supervised members (forecast tables) and an optional RL member, weighted (see the module docstring).

    ``rl``: a batched predictor (``predict(obs)``) where the runner steps the policy (backtest, arena); in the
    bar loop the RL member decides through its own decider given to :func:`bar_loop_decider`.
    ``by_row``: the tables are keyed by the row of the runner's dataset instead of the bar time (the stress
    gate's dataset repeats the scenarios' clock, so a time does not name one bar there)."""

    def __init__(
        self,
        tables: Sequence[ForecastTable],
        weights: Mapping[str, float],
        rl: Any | None = None,
        board: SignalBoard | None = None,
        tickers: Sequence[str] = (),
        by_row: bool = False,
        record_votes: bool = False,
    ) -> None:
        names = [t.name for t in tables] + (["rl"] if rl is not None else [])
        missing = [n for n in names if n not in weights]
        if missing:
            raise ValueError(f"no ensemble weight for member(s) {missing}; weights name {sorted(weights)}")
        total = sum(weights[n] for n in names)
        if total <= 0 or any(weights[n] < 0 for n in names):
            raise ValueError(f"ensemble weights must be >= 0 with a positive sum; got {dict(weights)}")
        self.tables, self.rl = list(tables), rl
        self.weights = {n: weights[n] / total for n in names}
        self.board = board or SignalBoard()
        self.tickers = tuple(tickers)
        self.by_row = by_row
        self.votes: VoteLog | None = VoteLog() if record_votes else None
        self.run_env = rl.run_env if isinstance(rl, OwnEnv) else None
        self._data: MarketDataset | None = None
        self._t: np.ndarray | None = None

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The RL member's trained env on ``base`` (``base`` without an RL member): its actions are orders
        under that env."""
        return base if self.rl is None else policy_env(self.rl, base)

    @property
    def name(self) -> str:
        """A label of the members and their normalised weights, e.g. ``ensemble(lstm 0.50, rl 0.50)``."""
        return ensemble_label(self.weights)

    def begin_episodes(self, data: MarketDataset, starts: np.ndarray) -> None:
        """A new batch of episodes starting at rows ``starts`` of ``data``; passed on to the RL member."""
        self._data = data
        if isinstance(self.rl, EpisodeAware):
            self.rl.begin_episodes(data, starts)

    def at_bars(self, t: np.ndarray) -> None:
        """The decision bars (rows of the dataset) of the coming :meth:`predict`; passed on to the RL
        member."""
        self._t = np.asarray(t, dtype=np.int64)
        if isinstance(self.rl, BarClocked):
            self.rl.at_bars(t)

    def combined_p_up(self, times: np.ndarray, members: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """(n, A) weighted mean of the members' P(up) at ``times`` (NaN where none has a forecast);
        ``members``, when given, receives each member's own (n, A) P(up)."""
        shape = (len(times), len(self.tables[0].p_up[0])) if self.tables else (len(times), 0)
        num, den = np.zeros(shape), np.zeros(shape)
        for tab in self.tables:
            p = tab.at(times)
            if members is not None:
                members[tab.name] = p
            w = self.weights[tab.name]
            num = num + np.where(np.isfinite(p), w * p, 0.0)
            den = den + np.where(np.isfinite(p), w, 0.0)
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def predict(self, observations: np.ndarray) -> np.ndarray:
        """(n, A) actions at the current bars from the weighted members; needs :meth:`begin_episodes` and
        :meth:`at_bars` first."""
        if self._data is None or self._t is None:
            raise RuntimeError("EnsemblePolicy needs begin_episodes/at_bars (the backtest and arena runners)")
        times = self._data.times[self._t]
        rl = None
        if self.rl is not None:
            out = self.rl.predict(observations)
            rl = np.asarray(out[0] if isinstance(out, tuple) else out, dtype=np.float64)
        keys = self._t if self.by_row else times
        return self.combine(times, self._data.n_assets, rl, self.tickers or self._data.tickers, keys)

    def combine(
        self,
        times: np.ndarray,
        n_assets: int,
        rl: np.ndarray | None,
        tickers: tuple[str, ...] = (),
        keys: np.ndarray | None = None,
    ) -> np.ndarray:
        """(n, A) actions at bar ``times`` from the tables (looked up by ``keys``, default the times) and
        the RL member's actions ``rl`` (n, A); posts the signals on the board."""
        n = len(times)
        lookup = times if keys is None else keys
        own: dict[str, np.ndarray] = {}
        p = self.combined_p_up(lookup, own) if self.tables else np.full((n, n_assets), np.nan)
        sig = self.board.post(p, times, tickers)
        vote = np.where(sig.tier > TIER_NONE, sig.direction, 0).astype(np.float64)
        w_sup = sum(self.weights[t.name] for t in self.tables)
        have = np.isfinite(p)
        action = np.where(have, w_sup * vote, 0.0)
        weight = np.where(have, w_sup, 0.0)
        if self.rl is not None:
            if rl is None:
                raise ValueError("the ensemble has an RL member but no RL actions were given")
            rl = rl.reshape(n, n_assets)
            action = action + self.weights["rl"] * rl
            weight = weight + self.weights["rl"]
        out = np.clip(np.where(weight > 0, action / np.where(weight > 0, weight, 1.0), 0.0), -1.0, 1.0)
        if self.votes is not None:
            self.votes.add(times, tickers or self.tickers, own, vote, rl, out)
        return out


class VoteLog:
    """Every decision of an ensemble, per bar and asset: each supervised member's P(up) (None: no forecast
    yet), the combined signal's vote (+1 / -1 where it reaches the threshold, else 0), the RL member's action
    (None without one) and the combined action."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(
        self,
        times: np.ndarray,
        tickers: Sequence[str],
        p_up: Mapping[str, np.ndarray],
        vote: np.ndarray,
        rl: np.ndarray | None,
        action: np.ndarray,
    ) -> None:
        """One record per (row, asset) of the (n, A) arrays at bar open ``times`` (int64 ns)."""
        for i, t in enumerate(np.asarray(times, dtype=np.int64)):
            for j in range(action.shape[1]):
                self.records.append(
                    {
                        "time": int(t),
                        "asset": tickers[j] if j < len(tickers) else str(j),
                        "p_up": {
                            k: (float(v[i, j]) if np.isfinite(v[i, j]) else None) for k, v in p_up.items()
                        },
                        "vote": int(vote[i, j]),
                        "rl": None if rl is None else float(rl[i, j]),
                        "action": float(action[i, j]),
                    }
                )


def bar_loop_decider(
    ensemble: EnsemblePolicy, times: np.ndarray, tickers: tuple[str, ...], rl_decide: Any | None = None
) -> Callable[[int], np.ndarray]:
    """The ensemble as the bar loop's ``decide(t) -> (1, A)`` over bars opening at ``times``; the RL member
    decides through ``rl_decide(t)`` (e.g. ``trading.loop.policy.PolicyDecider``, its observation from the
    broker's account)."""
    if (ensemble.rl is None) != (rl_decide is None):
        raise ValueError("give rl_decide exactly when the ensemble has an RL member")

    def decide(t: int) -> np.ndarray:
        rl = None if rl_decide is None else np.asarray(rl_decide(t), dtype=np.float64).reshape(1, -1)
        return ensemble.combine(np.asarray([times[t]], dtype=np.int64), len(tickers), rl, tickers)

    return decide
