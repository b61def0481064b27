"""strategy_cv_scores: scored as a trial is scored (trainer.score_split), with hand-known fees."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pytest

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.strategies import HoldStrategy, make_strategy
from cappuccino_core.strategies.scoring import best_strategy, scores_html, scores_markdown, strategy_cv_scores
from cappuccino_core.training.cv import split_dataset
from cappuccino_core.training.trainer import score_split
from tests.env_presets import NO_BAND

FEE = 0.012
COSTS = CostsConfig(taker_fee=FEE, slippage_bps=5.0, slippage_vol_mult=0.0)
ENV = EnvConfig(**NO_BAND)


class Fifths(HoldStrategy):
    """A non-exempt hold at 0.2 per asset (runs on observations alone, like a model)."""

    name = "fifths"
    summary = "0.2 of equity per asset, held"

    def weights(self, tickers: Sequence[str], env: EnvConfig) -> np.ndarray:
        return np.full(len(tickers), 0.2)


class AsModel:
    """A policy behind SB3's predict signature, for trainer.score_split."""

    def __init__(self, policy: object) -> None:
        self.policy = policy

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        return self.policy.predict(obs), None  # type: ignore[attr-defined]


def _data_and_splits():  # type: ignore[no-untyped-def]
    toy = toy_dataset(1200, 3, 2, 4, vol=0.01, seed=21, segments=[(0, 500), (500, 1200)])
    data = dataclasses.replace(toy, source=np.zeros(1200, dtype=np.uint8))  # real bars: CPCV splits them
    splits = split_dataset(data, 4, 1, 10, 5, min_segment_len=5)
    return data, splits


def test_a_strategy_is_scored_exactly_as_trainer_scores_a_trial() -> None:
    data, splits = _data_and_splits()
    strat = Fifths()
    scores = strategy_cv_scores(data, splits, ENV, COSTS, strategies=[strat])["fifths"]
    assert len(scores.splits) == len(splits) == 4
    for sp, got in zip(splits, scores.splits, strict=True):
        sc = score_split(AsModel(strat.policy({}, ENV, data.tickers)), data, sp.test, ENV, COSTS)
        agent, ew = sc.agent_sharpe, sc.ew_sharpe
        assert got.sharpe == agent and got.ew_sharpe == ew and got.value == agent - ew
    assert scores.objective == pytest.approx(np.mean([agent_minus for agent_minus in scores.split_values]))


def test_buy_and_hold_fees_turnover_and_zero_cost_sharpe() -> None:
    """BTC bought once per test episode: fees = f / (1 + f) of the starting cash per episode; the zero-cost
    run holds the same position without paying: its Sharpe is higher."""
    data, splits = _data_and_splits()
    s = strategy_cv_scores(data, splits, ENV, COSTS, strategies=[make_strategy("buy_and_hold_btc")])
    score = s["buy_and_hold_btc"]
    assert score.exempt and "exempt" in score.label
    for sp, got in zip(splits, score.splits, strict=True):
        n_episodes = sum(1 for g in sp.test for a, b in g if b - a >= 5)
        assert got.fees_share == pytest.approx(n_episodes * FEE / (1 + FEE), rel=1e-9)
        assert got.turnover_per_year > 0 and got.zero_cost_sharpe > got.sharpe
        assert got.params == {}


def test_every_strategy_scores_and_the_table_shows_them() -> None:
    data, splits = _data_and_splits()
    scores = strategy_cv_scores(data, splits, ENV, COSTS)
    assert list(scores) == [
        "buy_and_hold_btc",
        "buy_and_hold_basket",
        "rebalanced_equal_weight",
        "trend",
        "mean_reversion",
        "cash",
    ]
    cash = scores["cash"]
    assert cash.sharpe == 0.0 and cash.fees_share == 0.0 and cash.turnover_per_year == 0.0
    assert all(sp.params in make_strategy("trend").grid() for sp in scores["trend"].splits)
    best = best_strategy(scores)
    assert best.objective == max(s.objective for s in scores.values())
    md = scores_markdown(scores)
    assert md.splitlines()[2].startswith(f"| {best.label} |")  # best first
    assert "exempt from the position cap" in md and "turnover" in md
    assert "<table>" in scores_html(scores) and "fast=" in md


def test_splits_without_a_usable_test_segment_are_refused() -> None:
    data, splits = _data_and_splits()
    with pytest.raises(ValueError, match="no CPCV splits"):
        strategy_cv_scores(data, [], ENV, COSTS)
    short = [dataclasses.replace(splits[0], test=[[(100, 103)]])]
    with pytest.raises(ValueError, match=r"split\(s\) \[0\] have no test segment of >= 5 bars"):
        strategy_cv_scores(data, short, ENV, COSTS)
