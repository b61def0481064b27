"""Signals (direction, confidence, tier), the threshold and per-hour caps as risk rules, and the ensemble
policy run by the backtester and in an arena bout like any policy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cappuccino_core.arena.match import bout
from cappuccino_core.backtest.runner import backtest
from cappuccino_core.config.arena import ArenaConfig
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.features import FeaturesConfig
from cappuccino_core.env.rules import OrderContext, OrderRule
from cappuccino_core.features.builder import build_dataset
from cappuccino_core.supervised.ensemble import (
    EnsemblePolicy,
    ForecastTable,
    directional_edge,
    learn_weights,
)
from cappuccino_core.supervised.signals import TIER_HIGH, TIER_NONE, TIER_SIGNAL, SignalBoard, to_signals
from cappuccino_core.supervised.synthetic import planted_frames
from cappuccino_core.trading.risk.manager import RiskManager
from cappuccino_core.trading.risk.signal_caps import SignalCaps
from cappuccino_core.trading.risk.signal_threshold import SignalThreshold

HOUR = 3_600 * 10**9


def test_signals_by_hand() -> None:
    s = to_signals(np.array([0.9, 0.2, 0.6, np.nan]), 0.75, 0.85)
    assert s.direction.tolist() == [1, -1, 1, 1]
    assert s.confidence.tolist() == pytest.approx([0.9, 0.8, 0.6, 0.5])
    assert s.tier.tolist() == [TIER_HIGH, TIER_SIGNAL, TIER_NONE, TIER_NONE]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        to_signals(np.array([1.2]), 0.75, 0.85)


def _ctx(n_assets: int, hour: int) -> OrderContext:
    ones = np.ones((1, n_assets))
    return OrderContext(
        prices=ones * 100,
        cash=np.array([1e6]),
        holdings=ones * 5,
        slippage=ones * 0,
        fee_rate=0.0,
        lot=np.full(n_assets, 1e-8),
        min_order_value=1.0,
        time=np.array([hour * HOUR]),
    )


def test_threshold_rule_blocks_weak_and_down_signals_but_never_exits() -> None:
    board = SignalBoard(0.75, 0.85)
    board.post(np.array([[0.9, 0.7, 0.1, 0.8]]), np.array([0]))
    rm = RiskManager([SignalThreshold(board)])
    qty = np.array([[1.0, 1.0, 1.0, -2.0]])
    # buy kept where up with confidence >= 0.75; 0.7 too weak; 0.1 is a down signal; the sell stays
    assert rm.apply(qty, _ctx(4, 0)).tolist() == [[1.0, 0.0, 0.0, -2.0]]


def test_caps_per_hour_and_high_tier() -> None:
    board = SignalBoard(0.75, 0.85)
    rm = RiskManager([SignalCaps(board, per_hour=3, high_per_hour=1)])
    board.post(np.array([[0.95, 0.9, 0.8, 0.8, 0.8]]), np.array([0]))  # 2 high, 3 signal tier
    qty = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    out = rm.apply(qty, _ctx(5, 0))
    # at most 3 buys (largest notional: assets 2, 3, 4 plus...) -> 3, 4, 5 kept; no high-tier among them
    assert out.tolist() == [[0.0, 0.0, 3.0, 4.0, 5.0]]
    board.post(np.array([[0.95, 0.9, 0.5, 0.5, 0.5]]), np.array([0]))
    out = rm.apply(np.array([[1.0, 2.0, 0.0, 0.0, 0.0]]), _ctx(5, 1))  # a new hour: counters start over
    assert out.tolist() == [[0.0, 2.0, 0.0, 0.0, 0.0]]  # one high-tier buy an hour: the larger one
    rm.on_fill(out, np.full((1, 5), 100.0), np.zeros((1, 5)), np.array([HOUR]))
    out = rm.apply(np.array([[1.0, 0.0, 0.0, 0.0, -1.0]]), _ctx(5, 1))  # same hour: the high cap is used
    assert out.tolist() == [[0.0, 0.0, 0.0, 0.0, -1.0]]


def test_learnt_weights_and_edge() -> None:
    assert learn_weights({"lstm": 0.1, "transformer": 0.3, "rl": -0.2}) == pytest.approx(
        {"lstm": 0.25, "transformer": 0.75, "rl": 0.0}
    )
    assert directional_edge(np.array([1.0, -1.0, 1.0, 0.0]), np.array([1, 1, 1, -1])) == pytest.approx(
        2 / 3 - 0.5
    )


class _AlwaysLong:
    def predict(self, obs: np.ndarray) -> np.ndarray:
        return np.ones((obs.shape[0], 2))


def _oracle_table(data) -> ForecastTable:
    hours = (data.times // HOUR) % 24
    p = np.where(hours < 12, 0.9, 0.1)[:, None].repeat(2, axis=1)
    return ForecastTable("transformer", data.times, p)


def test_ensemble_runs_in_the_backtester_with_the_signal_rules() -> None:
    data = build_dataset(planted_frames(400, seed=4), FeaturesConfig(indicators=[{"name": "close"}]), "1h")
    board = SignalBoard(0.75, 0.85)
    pol = EnsemblePolicy(
        [_oracle_table(data)], {"transformer": 0.75, "rl": 0.25}, rl=_AlwaysLong(), board=board
    )
    rules: list[OrderRule] = [RiskManager([SignalThreshold(board), SignalCaps(board, 10, 5)])]
    res = backtest(pol, data, EnvConfig(), CostsConfig(taker_fee=0.0, slippage_bps=0.0), rules=rules)
    buys = res.ledger.filter(res.ledger["side"] == "buy")
    assert buys.height > 0
    assert set(buys["time"].dt.hour().to_list()) <= set(range(12))  # only where the signal says up
    assert res.summary.total_return > 0  # the planted drift, traded by its oracle
    assert board.high_tier_events() and board.high_tier_events()[0]["confidence"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="no ensemble weight"):
        EnsemblePolicy([_oracle_table(data)], {"lstm": 1.0})


def test_ensemble_fights_an_arena_bout() -> None:
    data = build_dataset(planted_frames(300, seed=6), FeaturesConfig(indicators=[{"name": "close"}]), "1h")
    pol = EnsemblePolicy([_oracle_table(data)], {"transformer": 1.0})
    res = bout(
        ("hold", _AlwaysLong()),
        ("ensemble", pol),
        data,
        (10, 290),
        EnvConfig(),
        CostsConfig(taker_fee=0.0, slippage_bps=0.0),
        ArenaConfig(),
    )
    assert res.challenger.model == "ensemble" and res.winner in ("hold", "ensemble")


def test_ensemble_paper_session_through_the_bar_loop(tmp_path) -> None:
    """A replayed paper session (sim broker) of the ensemble with the signal rules and the configured risk
    rules in the bar loop; buys only follow up signals, high-tier signals are recorded."""
    from cappuccino_core.config.risk import RiskConfig
    from cappuccino_core.state.store import StateStore
    from cappuccino_core.supervised.ensemble import bar_loop_decider
    from cappuccino_core.trading.loop.replay import ReplayBars, run_replay
    from cappuccino_core.trading.loop.trader import BarLoop
    from cappuccino_core.trading.risk.manager import rules_from_config
    from cappuccino_core.venues.sim.broker import SimBroker

    frames = planted_frames(200, seed=8)
    tickers = tuple(frames)
    times = frames[tickers[0]]["time"].dt.epoch("ns").to_numpy()
    close = np.stack([frames[t]["close"].to_numpy() for t in tickers], axis=1)
    volume = np.stack([frames[t]["volume"].to_numpy() for t in tickers], axis=1)
    bars = ReplayBars(tickers, times, close, volume, frames)
    hours = (times // HOUR) % 24
    table = ForecastTable("transformer", times, np.where(hours < 12, 0.9, 0.1)[:, None].repeat(2, axis=1))
    board = SignalBoard(0.75, 0.85)
    ens = EnsemblePolicy([table], {"transformer": 1.0}, board=board)
    risk = RiskManager([SignalThreshold(board), SignalCaps(board, 10, 5), *rules_from_config(RiskConfig())])
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    loop = BarLoop(
        SimBroker(CostsConfig(slippage_vol_mult=0.0), 10_000.0),
        store,
        risk,
        EnvConfig(initial_cash=10_000.0),
        tickers,
        bar_loop_decider(ens, times, tickers),
        run_id="ensemble",
        bar_ns=HOUR,
        max_age_s=RiskConfig().max_bar_age_s,
        assets=tickers,
    )
    rep = run_replay(loop, bars, "1h", days=3)
    assert rep["bars_replayed"] == 72 and rep["fills"] > 0
    assert board.high_tier_events() and all(e["direction"] == 1 for e in board.high_tier_events()[:1])


def test_lstm_transformer_and_ppo_ensemble_fights_in_the_arena() -> None:
    """The issue's mix: trained (tiny) LSTMs and Transformer plus an SB3 PPO policy, one ensemble policy,
    in an arena bout on the same kernel as any RL policy."""
    from stable_baselines3 import PPO

    from cappuccino_core.backtest.runner import SB3Policy
    from cappuccino_core.config.supervised import SupervisedConfig
    from cappuccino_core.env.vec_env import KernelVecEnv
    from cappuccino_core.features.supervised_set import build_supervised
    from cappuccino_core.supervised.ensemble import forecast_table
    from cappuccino_core.supervised.fit import pick_device
    from cappuccino_core.supervised.pipeline import train_kind
    from cappuccino_core.supervised.tracking import SupervisedModel

    frames = planted_frames(300, seed=9)
    small = FeaturesConfig(indicators=[{"name": "close"}, {"name": "rsi", "params": {"timeperiod": 5}}])
    cfg = SupervisedConfig(
        lookback=4,
        vol_short=4,
        vol_long=12,
        epochs=2,
        patience=1,
        batch_size=64,
        lstm_hidden=8,
        transformer_d_model=8,
        transformer_heads=2,
        embargo=2,
    )
    sup = build_supervised(frames, small, cfg, "1h", fit_end=180)
    tables = []
    for kind in ("lstm", "transformer"):
        res = train_kind(kind, sup, cfg, device=pick_device("cpu"), score_test=False)
        tables.append(forecast_table(SupervisedModel(kind, res.models, sup.spec), frames))
    data = build_dataset(frames, FeaturesConfig(indicators=[{"name": "close"}]), "1h")
    env = EnvConfig()
    venv = KernelVecEnv.build(data, env, CostsConfig(), 2)
    ppo = PPO("MlpPolicy", venv, n_steps=8, batch_size=16, device="cpu", seed=0)
    ens = EnsemblePolicy(tables, {"lstm": 0.35, "transformer": 0.40, "rl": 0.25}, rl=SB3Policy(ppo))
    fight = bout(
        ("hold", _AlwaysLong()), ("ensemble", ens), data, (10, 290), env, CostsConfig(), ArenaConfig()
    )
    assert fight.challenger.model == "ensemble" and fight.winner in ("hold", "ensemble")
    assert ens.board.current is not None and ens.board.current.confidence.shape == (1, 2)


def test_ensemble_paper_session_against_the_loopback_exchange(settings) -> None:
    """Tiny LSTM + Transformer trained on the sample's newest bars, then a day of paper trading through the
    bar loop with the real alpaca-py client against the in-process loopback exchange."""
    from cappuccino_core.config.supervised import SupervisedConfig
    from cappuccino_core.data.market import load_aligned
    from cappuccino_core.features.supervised_set import build_supervised
    from cappuccino_core.supervised.fit import pick_device
    from cappuccino_core.supervised.paper import ensemble_paper_session
    from cappuccino_core.supervised.pipeline import train_kind
    from cappuccino_core.supervised.tracking import SupervisedModel

    frames = load_aligned(settings, source="sample").frames
    tail = {k: v.tail(500) for k, v in frames.items()}
    cfg = SupervisedConfig(
        lookback=4,
        epochs=1,
        patience=1,
        batch_size=128,
        lstm_hidden=8,
        transformer_d_model=8,
        transformer_heads=2,
        embargo=2,
    )
    sup = build_supervised(tail, settings.features, cfg, "1h", fit_end=300)
    models = [
        SupervisedModel(
            k, train_kind(k, sup, cfg, device=pick_device("cpu"), score_test=False).models, sup.spec
        )
        for k in ("lstm", "transformer")
    ]
    rep = ensemble_paper_session(settings, models, days=1)
    assert rep["bars_replayed"] == 24 and rep["broker"] == "local"
    assert rep["model"].startswith("ensemble(lstm 0.47, transformer 0.53")  # 0.35 / 0.40 without RL
    assert rep["fills"] >= 0 and isinstance(rep["high_tier_signals"], list)


def test_high_tier_signals_are_sent_through_the_notifier() -> None:
    """Every high-tier signal (and only those) becomes a `high_tier_signal` event, keyed per asset and bar."""
    heard: list[Any] = []

    class Recorder:
        def notify(self, event: Any) -> str:
            heard.append(event)
            return "sent"

    board = SignalBoard(0.75, 0.85, notifier=Recorder())
    t0 = 1_700_000_000 * 10**9
    board.post(
        np.array([[0.95, 0.8, 0.05, 0.5]]), np.array([t0]), ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ADA/USDT")
    )
    # 0.95 up and 0.05 down are high tier (confidence 0.95); 0.8 is signal tier; 0.5 is none
    assert [(e.kind, e.data["asset"], e.data["direction"]) for e in heard] == [
        ("high_tier_signal", "BTC/USDT", 1),
        ("high_tier_signal", "SOL/USDT", -1),
    ]
    assert heard[0].key == f"BTC/USDT:{t0}" and heard[0].data["confidence"] == pytest.approx(0.95)
    assert len(board.high_tier_events()) == 2


def test_each_members_vote_is_recorded_per_decision() -> None:
    """record_votes: per bar and asset each supervised member's P(up), the signal's vote, the RL member's
    action and the combined action (0.35 / 0.40 / 0.25)."""
    times = np.array([0, HOUR], dtype=np.int64)
    lstm = ForecastTable("lstm", times, np.array([[0.9, 0.5], [np.nan, 0.2]]))
    tf = ForecastTable("transformer", times, np.array([[0.8, 0.6], [0.7, 0.1]]))
    ens = EnsemblePolicy([lstm, tf], {"lstm": 0.35, "transformer": 0.40, "rl": 0.25}, rl=object(),
                         board=SignalBoard(0.75, 0.85), record_votes=True)  # fmt: skip
    out = ens.combine(times, 2, np.array([[-0.4, 1.0], [0.2, -1.0]]), ("A", "B"))
    # bar 0, A: P(up) (0.35 x 0.9 + 0.40 x 0.8) / 0.75 = 0.8467 -> up: 0.75 x 1 + 0.25 x -0.4 = 0.65
    # bar 0, B: 0.5533 (no signal): 0.25 x 1.0 = 0.25; bar 1, A: the transformer's 0.7 alone, no signal:
    # 0.25 x 0.2 = 0.05; bar 1, B: (0.35 x 0.2 + 0.40 x 0.1) / 0.75 = 0.1467 -> down: -0.75 - 0.25 = -1
    np.testing.assert_allclose(out, [[0.65, 0.25], [0.05, -1.0]])
    assert ens.votes is not None
    recs = {(r["time"], r["asset"]): r for r in ens.votes.records}
    assert len(recs) == 4
    assert recs[(0, "A")] == {"time": 0, "asset": "A", "p_up": {"lstm": 0.9, "transformer": 0.8}, "vote": 1,
                              "rl": -0.4, "action": pytest.approx(0.65)}  # fmt: skip
    assert recs[(HOUR, "A")]["p_up"] == {"lstm": None, "transformer": 0.7} and recs[(HOUR, "A")]["vote"] == 0
    assert recs[(HOUR, "B")]["vote"] == -1 and recs[(HOUR, "B")]["rl"] == -1.0
    assert EnsemblePolicy([lstm], {"lstm": 1.0}).votes is None  # off unless asked
