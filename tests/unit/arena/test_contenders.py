"""Strategies in the arena: the best of them takes the empty seat; a model must beat it to advance."""

from __future__ import annotations

import numpy as np
import pytest

from cappuccino_core.arena import ArenaConfig, run_hill, windows
from cappuccino_core.arena.contenders import (
    crown_best_strategy,
    is_strategy_id,
    parse_strategy_id,
    strategy_id,
    strategy_policy,
)
from cappuccino_core.arena.match import performance, replay
from cappuccino_core.arena.referee import holders, standings
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.strategies import STRATEGIES
from tests.env_presets import NO_BAND

from .conftest import ConstPolicy

ENV, COSTS = EnvConfig(**NO_BAND), CostsConfig()


class Churner(ConstPolicy):
    """All in, all out, every other bar: many fills, and the fees that go with them."""

    def predict(self, obs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return np.full((len(obs), self.n_assets), self.value if self.calls % 2 else -self.value)


def test_strategy_ids_round_trip() -> None:
    cid = strategy_id("trend", {"fast": 24, "slow": 96, "band": 0.01})
    assert cid == "strategy:trend(fast=24,slow=96,band=0.01)" and is_strategy_id(cid)
    assert parse_strategy_id(cid) == ("trend", {"fast": 24, "slow": 96, "band": 0.01})
    assert strategy_id("cash", {}) == "strategy:cash" and parse_strategy_id("strategy:cash") == ("cash", {})
    assert not is_strategy_id("0123abcd") and not is_strategy_id(None)
    with pytest.raises(ValueError, match="do not match trend"):
        parse_strategy_id("strategy:trend(fast=24)")
    with pytest.raises(ValueError, match="unknown strategy"):
        parse_strategy_id("strategy:nope")
    assert strategy_policy("strategy:buy_and_hold_btc", ENV).run_env.position_cap == 1.0  # exempt


def test_the_best_strategy_is_crowned_on_an_empty_seat(referee, store, roles, cfg) -> None:
    data = toy_dataset(400, 2, 1, 3, drift=0.002, vol=0.01, seed=3)
    history, held = data.slice(0, 250), data.slice(250, 400)
    window = windows(held, cfg.window_bars)[0]
    lines = crown_best_strategy(held, history, window, ENV, COSTS, cfg, referee)
    champ = holders(store, "champion")
    assert len(champ) == 1 and is_strategy_id(champ[0]) and lines[0].startswith(f"crowned {champ[0]}")
    # It is the best by the bout's score among all six, each replayed on the window (hand check).
    ev = store.audit_log(subject=champ[0])[0].evidence
    assert [s["model"].split("(")[0] for s in ev["strategies"]] == [f"strategy:{n}" for n in STRATEGIES]
    best = max(ev["strategies"], key=lambda s: s["score"] if s["score"] is not None else -1e9)
    assert best["model"] == champ[0]
    ((eq, n, fees),) = replay([strategy_policy(champ[0], ENV, held.tickers)], held, window, ENV, COSTS)
    assert performance(champ[0], eq, n, fees, "1h", cfg).score == pytest.approx(best["score"], rel=1e-12)
    assert roles.aliases == {} and roles.tags == {}  # no registry model behind a strategy
    # A seated champion is left alone.
    again = crown_best_strategy(held, history, window, ENV, COSTS, cfg, referee)
    assert "is seated" in again[0] and holders(store, "champion") == champ


def test_a_model_must_beat_the_strategy_champion(referee, store, roles, data) -> None:
    """Buy-and-hold BTC (1 fill, exempt from min_trades) holds the seat against a model that trades more but
    scores less (without the exemption it would lose as "ineligible"), and loses it to one that scores
    more."""
    cfg = ArenaConfig(min_trades=5, wins_to_sandbox=2, window_bars=40)
    bh = "strategy:buy_and_hold_btc"
    policies = {"churn": Churner(1.0), "churn2": Churner(1.0), "bold": ConstPolicy(1.0)}
    win = windows(data, cfg.window_bars)
    report = run_hill([bh, "churn", "churn2"], policies.__getitem__, data, win, ENV, COSTS, cfg, referee)
    assert report.champion == bh and report.eliminated == ["churn", "churn2"]
    assert report.bouts[0].incumbent.trades == 1 and report.promoted == []  # 2 wins: no sandbox for a rule
    bout = report.bouts[0]
    assert bout.incumbent.score > bout.challenger.score and bout.challenger.trades >= 5
    report = run_hill(["bold"], policies.__getitem__, data, win, ENV, COSTS, cfg, referee)
    b = report.bouts[0]
    assert b.challenger.score > b.incumbent.score  # both assets of the up-drifting toy: diversified
    assert report.champion == "bold" and roles.holder("champion") == "bold"
    assert {r.run_id: r.role for r in standings(store)}[bh] == "eliminated"


def test_strategy_contest_seats_a_strategy_from_the_settings(settings, sample_dir, store) -> None:
    """What `make run` does before the hill, on the bundled sample (two tickers to keep it short)."""
    from cappuccino_core.arena import strategy_contest

    s = settings.model_copy(
        update={"data": settings.data.model_copy(update={"tickers": ["BTC/USDT", "ETH/USDT"]})}
    )
    lines = strategy_contest(s)
    champ = holders(store, "champion")
    assert len(champ) == 1 and lines[0].startswith(f"crowned {champ[0]}")
    assert len(lines) == 1 + len(STRATEGIES)  # every strategy's figures on the window
    assert "is seated" in strategy_contest(s)[0]


def test_a_strategy_champion_bouts_models_that_bring_their_own_data(referee, data) -> None:
    """With ``data_for`` (the flow's path: each model's held-out data from its FeatureSpec), a strategy
    champion trades the hill's data; the model trades its own."""
    cfg = ArenaConfig(min_trades=1, wins_to_sandbox=20, window_bars=40)
    other = toy_dataset(n_bars=120, n_assets=2, n_features=1, lookback=5, drift=0.003, vol=0.01, seed=1)
    asked: list[str] = []

    def data_for(run_id: str):  # type: ignore[no-untyped-def]
        asked.append(run_id)
        return other

    bh = "strategy:buy_and_hold_btc"
    report = run_hill(
        [bh, "bold"], {"bold": ConstPolicy(1.0)}.__getitem__, data, windows(data, 40), ENV, COSTS, cfg,
        referee, data_for=data_for,
    )  # fmt: skip
    assert asked == ["bold"] and len(report.bouts) == 1  # never asked for the strategy's data
    assert report.bouts[0].incumbent.model == bh and report.bouts[0].incumbent.trades == 1
