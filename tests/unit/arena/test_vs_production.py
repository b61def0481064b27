"""The hill runs every new challenger against the current production model, and promotion uses the result.

Scores are set by hand (the bout's replay replaced by a table of Sortino scores, the real rule deciding), so
every winner below follows from the numbers in the test; one test runs the real kernel replay.
"""

from __future__ import annotations

import pytest

from cappuccino_core.arena import (
    ArenaConfig,
    BoutResult,
    Performance,
    Referee,
    decide,
    holders,
    run_hill,
    windows,
)
from cappuccino_core.arena import hill as hill_module
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from tests.env_presets import NO_BAND

from .conftest import ConstPolicy


def _scored(scores: dict[str, float]):
    """A stand-in for ``match.bout``: each contestant's Sortino is ``scores[model]`` (10 fills each), and
    the real rule (:func:`decide`) picks the winner."""

    def fake_bout(incumbent, challenger, data, window, env, costs, cfg) -> BoutResult:
        a, b = (
            Performance(m, scores[m], scores[m], scores[m], 0.0, 0.0, 10, 0.0)
            for m in (incumbent[0], challenger[0])
        )
        winner, rule = decide(a, b, cfg)
        return BoutResult(a, b, winner, rule, (int(window[0]), int(window[1])))

    return fake_bout


def _run(referee, data, cfg, challengers):
    policies = {m: ConstPolicy(0.0) for m in ("prod", "a", "b", "c", "king", "x")}
    return run_hill(challengers, policies.__getitem__, data, windows(data, cfg.window_bars),
                    EnvConfig(**NO_BAND), CostsConfig(), cfg, referee)  # fmt: skip


@pytest.fixture()
def production(roles) -> str:
    roles.aliases["production"] = "prod"  # set outside the arena: the registry alias alone
    return "prod"


def test_every_challenger_plays_production_and_the_winner_of_both_is_promoted(
    monkeypatch, referee, store, roles, data, production
) -> None:
    # production 1.20; a 1.50 beats it (1.50 > 1.20); b 0.90 and c 1.00 lose to it.
    monkeypatch.setattr(hill_module, "bout", _scored({"prod": 1.20, "a": 1.50, "b": 0.90, "c": 1.00}))
    cfg = ArenaConfig(min_trades=1, wins_to_sandbox=2, window_bars=40)
    report = _run(referee, data, cfg, ["a", "b", "c"])

    assert report.production == "prod"
    pb = [(b.incumbent.model, b.challenger.model, b.winner) for b in report.production_bouts]
    assert pb == [("prod", "a", "a"), ("prod", "b", "prod"), ("prod", "c", "prod")]
    assert report.production_bouts[0].reason == "higher sortino (1.500 > 1.200)"
    # The hill: a crowned into the empty seat, defends against b (1.50 > 0.90) and c (1.50 > 1.00): 2 wins,
    # and it beat production on that window: promoted.
    assert [(b.incumbent.model, b.challenger.model, b.winner) for b in report.bouts] == [
        ("a", "b", "a"),
        ("a", "c", "a"),
    ]
    assert report.promoted == ["a"] and report.held_back == [] and report.champion is None
    assert holders(store, "sandbox") == ["a"]
    promo = store.audit_log(subject="a")[0]
    assert promo.action == "arena:to_sandbox"
    assert promo.evidence == {"consecutive_wins": 2, "beat_production": "prod"}
    lines = report.lines()
    assert "  bout challenger a vs production prod: challenger wins (higher sortino (1.500 > 1.200))" in lines
    assert (
        "  bout challenger b vs production prod: production wins "
        "(sortino 1.200 >= 0.900 (ties keep the incumbent))"
    ) in lines
    vs = [r for r in store.audit_log(subject="b") if r.action == "arena:vs_production"]
    assert len(vs) == 1 and vs[0].evidence["winner"] == "prod" and vs[0].evidence["production"] == "prod"
    assert roles.holder("production") == "prod"  # the hill never touches production itself


def test_a_champion_that_loses_to_production_is_held_back(
    monkeypatch, referee, store, data, production
) -> None:
    # production 2.00 > king 1.50 > x 1.00: king defends, but cannot go to the sandbox.
    monkeypatch.setattr(hill_module, "bout", _scored({"prod": 2.00, "king": 1.50, "x": 1.00, "a": 1.0}))
    cfg = ArenaConfig(min_trades=1, wins_to_sandbox=1, window_bars=40)
    report = _run(referee, data, cfg, ["king", "x"])
    assert report.promoted == [] and report.held_back == ["king"]
    assert report.champion == "king" and report.champion_wins == 1  # keeps the seat and its wins
    assert holders(store, "champion") == ["king"] and holders(store, "sandbox") == []
    held = store.audit_log(subject="king")[0]
    assert held.action == "arena:held_back"
    assert held.evidence["consecutive_wins"] == 1 and held.evidence["production"] == "prod"
    assert held.evidence["winner"] == "prod"
    assert "  not promoted: king lost to production prod" in report.lines()
    # Production played once per (model, window): king's own challenger bout is reused at promotion.
    assert [b.challenger.model for b in report.production_bouts] == ["king", "x"]


def test_a_tie_with_production_keeps_production(monkeypatch, referee, data, production) -> None:
    monkeypatch.setattr(hill_module, "bout", _scored({"prod": 1.0, "a": 1.0}))
    cfg = ArenaConfig(min_trades=1, wins_to_sandbox=1, window_bars=40)
    (res,) = _run(referee, data, cfg, ["a"]).production_bouts
    assert res.winner == "prod" and res.reason == "sortino 1.000 >= 1.000 (ties keep the incumbent)"


def test_without_production_there_is_no_production_bout(monkeypatch, referee, data, cfg) -> None:
    monkeypatch.setattr(hill_module, "bout", _scored({"a": 1.0, "b": 2.0}))
    report = _run(referee, data, cfg, ["a", "b"])
    assert report.production is None and report.production_bouts == []
    assert "  no production model yet: no challenger vs production bout" in report.lines()


def test_real_replay_challenger_vs_production(store, roles, data) -> None:
    # Production holds nothing (0 fills: ineligible with min_trades=1); the challenger buys: it wins by rule.
    roles.aliases["production"] = "prod"
    dry = Referee(store, roles, dry_run=True)
    cfg = ArenaConfig(min_trades=1, wins_to_sandbox=1, window_bars=40)
    policies = {"prod": ConstPolicy(-1.0), "buyer": ConstPolicy(1.0)}
    report = run_hill(["buyer"], policies.__getitem__, data, windows(data, 40), EnvConfig(**NO_BAND),
                      CostsConfig(), cfg, dry)  # fmt: skip
    (res,) = report.production_bouts
    assert res.incumbent.model == "prod" and res.incumbent.trades == 0 and res.challenger.trades >= 1
    assert res.winner == "buyer" and res.reason.startswith("incumbent ineligible")
    assert [t.action for t in report.transitions] == ["vs_production", "crown"]
    assert store.audit_log() == []  # dry run: decided and reported, nothing recorded
