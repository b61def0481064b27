"""The multi-timeframe ensemble as a policy kind: ``--model mtf:TACTICAL,STRATEGIC``.

TACTICAL is a model on the bars traded (say 15m or 1h), STRATEGIC a model on a coarser interval (say 1h or
4h, a whole multiple of the tactical one). Each tactical bar the tactical action is traded where both
models point the same way (:func:`~cappuccino_core.trading.ensemble.agree`: long is action > 0); elsewhere
the account holds (the action that keeps the current weight, ``weights_to_actions(w, w)``). The strategic
model sees the traded bars resampled to its interval and decides on the newest strategic bar that has
closed by the tactical bar's close: no look-ahead.

The account trades under the tactical model's trained env (registry/model_env.py): its actions are the
orders, and the hold action is built with it. The strategic model only votes a direction (the sign of its
action), which no env field changes, so its env is not applied; a difference is logged.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl

from cappuccino_core.common.policy import policy_env
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.settings import Settings
from cappuccino_core.data.resample import resample_bars, resample_ratio
from cappuccino_core.data.timeframes import timeframe_seconds
from cappuccino_core.env.actions import weights_to_actions
from cappuccino_core.features.spec import FeatureSpecMismatch
from cappuccino_core.trading.brokers.base import Broker
from cappuccino_core.trading.ensemble import agree
from cappuccino_core.trading.loop.policies import POLICIES, PolicyKind
from cappuccino_core.trading.loop.replay import ReplayBars

log = logging.getLogger(__name__)


def members(args: str) -> tuple[str, str]:
    """``"TACTICAL,STRATEGIC"`` -> the two run ids; ValueError naming the argument otherwise."""
    ids = [m.strip() for m in args.split(",") if m.strip()]
    if len(ids) != 2:
        raise ValueError(f"--model mtf:{args}: give two models, mtf:TACTICAL,STRATEGIC")
    return ids[0], ids[1]


def resample(bars: ReplayBars, source_tf: str, target_tf: str) -> ReplayBars:
    """``bars`` at the coarser ``target_tf`` (complete buckets only), tickers in the same order."""
    frames = {t: resample_bars(df, source_tf, target_tf, symbol=t) for t, df in bars.frames.items()}
    times = None
    for df in frames.values():
        ft = df["time"].dt.epoch("ns").to_numpy()
        times = ft if times is None else np.intersect1d(times, ft)
    assert times is not None
    frames = {t: df.filter(pl.col("time").dt.epoch("ns").is_in(times.tolist())) for t, df in frames.items()}
    close = np.column_stack([frames[t]["close"].to_numpy() for t in bars.tickers])
    volume = np.column_stack([frames[t]["volume"].to_numpy() for t in bars.tickers])
    return ReplayBars(bars.tickers, times, close, volume, frames)


class MtfDecider:
    """The decision of the multi-timeframe ensemble on the traded (tactical) bars."""

    def __init__(
        self,
        settings: Settings,
        tactical: Any,
        strategic: Any,
        bars: ReplayBars,
        broker: Broker,
        assets: tuple[str, ...],
    ) -> None:
        from cappuccino_core.trading.loop.policy import PolicyDecider

        t_tf, s_tf = tactical.spec.timeframe, strategic.spec.timeframe
        for m in (tactical, strategic):
            if tuple(m.spec.tickers) != tuple(bars.tickers):
                raise FeatureSpecMismatch(
                    f"model {m.run_id} trades {list(m.spec.tickers)}, the bars are {list(bars.tickers)}"
                )
        resample_ratio(t_tf, s_tf)  # ValueError unless the strategic interval is a whole multiple
        self.env = policy_env(tactical, settings.env)  # the tactical model's trained env: its actions trade
        self.bars, self.broker, self.assets, self.tactical_policy = bars, broker, assets, tactical
        _log_env_difference(tactical, strategic, self.env, policy_env(strategic, settings.env))
        self.tactical = PolicyDecider(tactical, bars, broker, t_tf, assets=assets)
        self.coarse = resample(bars, t_tf, s_tf)
        self.strategic = PolicyDecider(strategic, self.coarse, broker, s_tf, assets=assets)
        self.t_ns, self.s_ns = timeframe_seconds(t_tf) * 10**9, timeframe_seconds(s_tf) * 10**9

    def strategic_bar(self, t: int) -> int:
        """Index of the newest strategic bar closed by tactical bar ``t``'s close (-1: none yet)."""
        closes = self.coarse.times + self.s_ns
        return int(np.searchsorted(closes, int(self.bars.times[t]) + self.t_ns, side="right")) - 1

    def hold(self, t: int) -> np.ndarray:
        """(1, A) actions that keep the account's current weights."""
        pos = self.broker.positions()
        value = np.array([[pos.get(a, 0.0) for a in self.assets]]) * self.bars.close[t][None, :]
        equity = float(self.broker.cash()) + float(value.sum())
        w = value / equity if equity > 0 else np.zeros_like(value)
        return weights_to_actions(w, w, self.env)

    def env_config(self, base: EnvConfig) -> EnvConfig:
        """The env the decided actions are orders under: the tactical model's trained env on ``base``."""
        return policy_env(self.tactical_policy, base)

    def __call__(self, t: int) -> np.ndarray:
        tac = self.tactical(t)
        s = self.strategic_bar(t)
        strat = self.strategic(s) if s >= 0 else np.zeros_like(tac)
        d = agree(tac, strat)
        return np.where(d.trade, d.actions, self.hold(t))


def _log_env_difference(tactical: Any, strategic: Any, t_env: EnvConfig, s_env: EnvConfig) -> None:
    """Log the order fields on which the strategic model's trained env differs from the traded one."""
    from cappuccino_core.registry.model_env import order_differences

    diff = order_differences({"tactical": t_env, "strategic": s_env})
    if diff:
        log.info(
            "mtf: %s trades under its trained env; strategic %s was trained with other order fields %s "
            "(it only votes a direction)",
            tactical.run_id,
            strategic.run_id,
            diff,
        )


def _decide(
    settings: Settings, args: str, bars: ReplayBars, broker: Broker, assets: tuple[str, ...]
) -> tuple[MtfDecider, str]:
    from cappuccino_core.registry import Tracking, load_policy, model_spec

    t_id, s_id = members(args)
    trk = Tracking.from_settings(settings)
    tactical = load_policy(t_id, model_spec(t_id, trk), trk)
    strategic = load_policy(s_id, model_spec(s_id, trk), trk)
    label = f"mtf:{(tactical.run_id or t_id)[:8]}+{(strategic.run_id or s_id)[:8]}"
    return MtfDecider(settings, tactical, strategic, bars, broker, assets), label


def _timeframe(settings: Settings, args: str) -> str:
    from cappuccino_core.registry import Tracking, model_spec

    return model_spec(members(args)[0], Tracking.from_settings(settings)).timeframe


def _history(settings: Settings, args: str) -> int:
    """Tactical bars a live tick needs: enough for either member's features (the strategic one's history
    counted in tactical bars)."""
    from cappuccino_core.features.builder import INFERENCE_HISTORY_BARS
    from cappuccino_core.registry import Tracking, model_spec

    trk = Tracking.from_settings(settings)
    t_spec, s_spec = (model_spec(m, trk) for m in members(args))
    ratio = resample_ratio(t_spec.timeframe, s_spec.timeframe)
    need = [INFERENCE_HISTORY_BARS + s.warmup + s.lookback + 1 for s in (t_spec, s_spec)]
    return max(need[0], (need[1] + 1) * ratio)


POLICIES.add("mtf", PolicyKind(_decide, _timeframe, _history))
