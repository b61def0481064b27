"""King of the hill: the rule, the 20-win promotion, dethroning, dry run, emergency stop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cappuccino_core.arena import (
    ArenaConfig,
    Performance,
    Referee,
    decide,
    holders,
    performance,
    replay,
    run_hill,
    standings,
    windows,
)
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from tests.env_presets import NO_BAND

from .conftest import ConstPolicy


def _perf(model: str, score: float, trades: int) -> Performance:
    return Performance(model, score, score, score, 0.0, 0.0, trades, 0.0)


def test_decide_rule() -> None:
    cfg = ArenaConfig(min_trades=5)
    # Higher score wins among eligible; ties keep the incumbent.
    assert decide(_perf("a", 1.0, 5), _perf("b", 1.5, 5), cfg)[0] == "b"
    assert decide(_perf("a", 1.0, 5), _perf("b", 1.0, 9), cfg)[0] == "a"
    # Fewer than K trades cannot win, however high the score.
    assert decide(_perf("a", -3.0, 5), _perf("b", 9.0, 4), cfg)[0] == "a"
    assert decide(_perf("a", 9.0, 4), _perf("b", -3.0, 5), cfg)[0] == "b"
    assert decide(_perf("a", 1.0, 0), _perf("b", 2.0, 0), cfg)[0] == "a"
    assert decide(_perf("a", math.nan, 9), _perf("b", -1.0, 9), cfg)[0] == "b"


def test_performance_hand_computed() -> None:
    # Returns +10%, -10%: mean 0 -> Sharpe 0 and Sortino 0; total return 0.99 - 1 = -1%; drawdown -10%.
    p = performance("m", [100.0, 110.0, 99.0], trades=2, fees=1.5, timeframe="1h", cfg=ArenaConfig())
    assert p.sharpe == pytest.approx(0.0, abs=1e-12) and p.sortino == pytest.approx(0.0, abs=1e-12)
    assert p.total_return == pytest.approx(-0.01)
    assert p.max_drawdown == pytest.approx(-0.1)
    assert p.score == p.sortino and p.trades == 2
    with pytest.raises(ValueError, match="m: an equity curve"):
        performance("m", [1.0, 2.0], 0, 0.0, "1h", ArenaConfig())


def test_replay_same_window_for_both(data) -> None:
    env, costs = EnvConfig(**NO_BAND), CostsConfig()
    w = windows(data, 40)[0]
    assert w == (data.n_bars - 1 - 40, data.n_bars - 1)
    (eq_a, n_a, f_a), (eq_b, n_b, f_b) = replay([ConstPolicy(1.0), ConstPolicy(-1.0)], data, w, env, costs)
    assert len(eq_a) == len(eq_b) == 41
    assert n_a >= 2 and f_a > 0  # bought both assets
    assert n_b == 0 and f_b == 0 and set(eq_b) == {env.initial_cash}  # all cash, untouched
    # The same policy twice gives the same curve: identical market for every contestant.
    (x, _, _), (y, _, _) = replay([ConstPolicy(1.0), ConstPolicy(1.0)], data, w, env, costs)
    assert (x == y).all()


def _run(referee, data, cfg, challengers, policies):
    return run_hill(
        challengers,
        policies.__getitem__,
        data,
        windows(data, cfg.window_bars),
        EnvConfig(**NO_BAND),
        CostsConfig(),
        cfg,
        referee,
    )


def test_twenty_wins_in_a_row_promote_to_sandbox(referee, store, roles, data, cfg) -> None:
    policies = {"king": ConstPolicy(1.0), **{f"c{i}": ConstPolicy(-1.0) for i in range(21)}}
    names = ["king"] + [f"c{i}" for i in range(19)]
    report = _run(referee, data, cfg, names, policies)
    assert report.champion == "king" and report.champion_wins == 19 and not report.promoted
    assert roles.holder("champion") == "king"
    report = _run(referee, data, cfg, ["c19"], policies)  # the 20th defence, in a later session
    assert report.promoted == ["king"] and report.champion is None
    assert holders(store, "sandbox") == ["king"] and roles.holder("sandbox") == "king"
    assert roles.holder("champion") is None
    assert len(holders(store, "eliminated")) == 20
    rows = {r.run_id: r for r in standings(store)}
    assert rows["king"].consecutive_wins == 20 and rows["king"].matches == 20
    assert "arena.to_sandbox" in roles.tags["king"]
    audit = store.audit_log(subject="king")
    assert audit[0].action == "arena:to_sandbox" and audit[0].evidence == {"consecutive_wins": 20}
    # The next challenger takes the empty seat.
    assert _run(referee, data, cfg, ["c20"], policies).champion == "c20"


def test_challenger_that_wins_takes_the_seat(referee, store, roles, data, cfg) -> None:
    policies = {"flat": ConstPolicy(-1.0), "buyer": ConstPolicy(1.0)}
    report = _run(referee, data, cfg, ["flat", "buyer"], policies)
    assert report.champion == "buyer" and report.champion_wins == 1
    assert report.eliminated == ["flat"] and holders(store, "eliminated") == ["flat"]
    assert roles.holder("champion") == "buyer"
    ev = store.audit_log(subject="buyer")[0].evidence
    assert ev["winner"] == "buyer" and ev["challenger"]["trades"] >= 1 and ev["incumbent"]["trades"] == 0


def test_dry_run_changes_nothing(store, roles, data, cfg) -> None:
    policies = {"flat": ConstPolicy(-1.0), "buyer": ConstPolicy(1.0)}
    dry = Referee(store, roles, dry_run=True)
    report = _run(
        dry, data, ArenaConfig(min_trades=1, wins_to_sandbox=1, window_bars=40), ["flat", "buyer"], policies
    )
    assert report.dry_run and report.promoted == ["buyer"]  # decided and reported ...
    assert [t.action for t in report.transitions] == ["crown", "eliminate", "crown", "to_sandbox"]
    assert standings(store) == [] and store.audit_log() == [] and roles.aliases == {}  # ... nothing changed


def test_emergency_stop_halts_the_hill(referee, store, data, cfg) -> None:
    policies = {"a": ConstPolicy(1.0), "b": ConstPolicy(-1.0)}
    store.set_flag("emergency_stop", True, "test", "halt")
    report = _run(referee, data, cfg, ["a", "b"], policies)
    assert report.halted and report.bouts == [] and standings(store) == []
    assert policies["a"].calls == 0


class _Recording(ConstPolicy):
    """Records the width of every observation it is shown (it depends on the lookback of its features)."""

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.widths: set[int] = set()

    def predict(self, obs):  # type: ignore[no-untyped-def]
        self.widths.add(int(np.asarray(obs).shape[-1]))
        return super().predict(obs)


def test_contestants_with_other_features_trade_the_same_span_on_their_own_data(referee, data, cfg) -> None:
    from cappuccino_core.env.toy import toy_dataset

    # Same prices, other lookback: another FeatureSpec (as a model from another study would have).
    other = toy_dataset(n_bars=120, n_assets=2, n_features=1, lookback=5, drift=0.003, vol=0.01, seed=1)
    assert other.spec.content_hash() != data.spec.content_hash()
    np.testing.assert_array_equal(other.prices, data.prices)
    king, chal = _Recording(1.0), _Recording(0.5)
    own = {"king": data, "chal": other}
    run_hill(["king"], {"king": king}.__getitem__, data, windows(data, cfg.window_bars), EnvConfig(**NO_BAND),
             CostsConfig(), cfg, referee, data_for=own.__getitem__)  # fmt: skip
    both = {"king": king, "chal": chal}
    report = run_hill(["chal"], both.__getitem__, data, windows(data, cfg.window_bars), EnvConfig(**NO_BAND),
                      CostsConfig(), cfg, referee, data_for=own.__getitem__)  # fmt: skip
    (result,) = report.bouts
    w = windows(data, cfg.window_bars)[0]
    assert result.window == (int(data.times[w[0]]), int(data.times[w[1]]))  # one market span, in time
    # Each saw observations of its own lookback: one width per contestant, and they differ.
    assert len(king.widths) == 1 and len(chal.widths) == 1 and king.widths != chal.widths
