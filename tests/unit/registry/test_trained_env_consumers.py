"""Every consumer of a registered model trades it under the env it was trained with, not the configured one:
the backtest, the backtest and stress gates, arena replays (each contender its own env), ensembles and the
bar loop. The models here are registered like a trial registers its model, with a constant action and a
non-default trained env: a hold band of 0.25 (an action of 0.2 means "keep": no order) and a decision
interval of 3 (orders only on bars whose absolute index is a multiple of 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cappuccino_core.arena.match import replay
from cappuccino_core.backtest.runner import backtest
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.observation import observation_size
from cappuccino_core.env.toy import HOUR_NS, toy_dataset
from cappuccino_core.gates.backtest_gate import run_backtest_gate
from cappuccino_core.gates.stress import run_stress, run_stress_gate
from cappuccino_core.registry import load_policy
from cappuccino_core.registry.model_env import apply_trained
from cappuccino_core.trading.ensemble import SharpeWeightedEnsemble, SpecPolicy

from .trained_models import log_model

HOLD = {"hold_band": 0.25}  # |a| <= 0.25: keep the asset as it is
EVERY_3 = {"decision_every": 3, "rebalance_band": 0.0, "min_order_fraction": 0.0}  # rebalance each 3rd bar
_T0 = 1_700_000_000 * 1_000_000_000 // HOUR_NS * HOUR_NS


@pytest.fixture()
def data() -> Any:
    # The first decision bar (row 2, the lookback's last) is absolute index 1 mod 3: a policy deciding every
    # bar trades there; under decision_every 3 the first order waits for row 4.
    start = _T0 + ((2 - _T0 // HOUR_NS) % 3) * HOUR_NS
    d = toy_dataset(
        n_bars=60, n_assets=2, n_features=1, lookback=3, drift=0.003, vol=0.01, seed=1, start_ns=start
    )
    assert (d.times[2] // HOUR_NS) % 3 == 1 and (d.times[4] // HOUR_NS) % 3 == 0
    return d


def _register(tracking: Any, settings: Any, data: Any, action: float, trained: dict[str, Any] | None) -> Any:
    obs = observation_size(data.n_assets, data.spec.n_features, data.spec.lookback)
    env = None if trained is None else apply_trained(trained, settings.env)
    run_id = log_model(tracking, data.spec, obs, action, env=env)
    return load_policy(run_id, data.spec, tracking=tracking)


def _residues(times_ns: Any) -> set[int]:
    return {int(t) // HOUR_NS % 3 for t in np.asarray(times_ns, dtype=np.int64)}


def test_backtest_an_action_inside_the_trained_hold_band_places_no_order(tracking, settings, data) -> None:
    held = _register(tracking, settings, data, 0.2, HOLD)
    assert backtest(held, data, settings.env, settings.costs).ledger.height == 0
    # The same action under the configured env (hold band 0.1) buys: what the backtest did before.
    legacy = _register(tracking, settings, data, 0.2, None)
    assert settings.env.hold_band == 0.1
    assert backtest(legacy, data, settings.env, settings.costs).ledger.height > 0


def test_a_model_logged_before_the_artifact_backtests_under_its_runs_env(tracking, settings, data) -> None:
    obs = observation_size(data.n_assets, data.spec.n_features, data.spec.lookback)
    run_id = log_model(tracking, data.spec, obs, 0.2, run_env=apply_trained(HOLD, settings.env))
    policy = load_policy(run_id, data.spec, tracking=tracking)
    assert backtest(policy, data, settings.env, settings.costs).ledger.height == 0


def test_backtest_orders_only_on_the_trained_decision_bars(tracking, settings, data) -> None:
    policy = _register(tracking, settings, data, 0.9, EVERY_3)
    ledger = backtest(policy, data, settings.env, settings.costs).ledger
    assert ledger.height >= 10  # rebalanced on (nearly) every third bar: no band holds the drift
    assert _residues(ledger["time"].cast(int).to_numpy()) == {0}
    assert int(ledger["time"].cast(int)[0]) == int(data.times[4])  # not row 2, the first bar it could trade
    # The model's own interval wins over a configured env that decides every bar.
    every_bar = apply_trained({**EVERY_3, "decision_every": 1}, settings.env)
    assert backtest(policy, data, every_bar, settings.costs).ledger.equals(ledger)


def test_the_gates_run_the_model_under_its_trained_env(tracking, settings, data) -> None:
    held = _register(tracking, settings, data, 0.2, HOLD)
    verdict, res = run_backtest_gate(
        held, data, settings.env, settings.costs, settings.gates, 1, run_id="m", allow_synthetic=True
    )
    assert res.ledger.height == 0 and verdict.figures["fills"] == 0
    assert verdict.inputs["env"]["hold_band"] == 0.25
    assert verdict.inputs["env"]["initial_cash"] == settings.env.initial_cash
    assert run_stress(held, data, settings.env, settings.costs).fills.sum() == 0
    _, table = run_stress_gate(
        held, data, np.arange(len(data.segments)), ["calm"] * len(data.segments), settings.env,
        settings.costs, settings.gates, run_id="m",
    )  # fmt: skip
    assert table["trades"].to_list() == [0] * len(data.segments)
    every3 = _register(tracking, settings, data, 0.9, EVERY_3)
    assert (
        run_stress(every3, data, settings.env, settings.costs).fills.sum()
        == backtest(every3, data, settings.env, settings.costs).ledger.height
    )


def test_arena_replay_runs_each_contender_under_its_own_env(tracking, settings, data) -> None:
    held = _register(tracking, settings, data, 0.2, HOLD)
    legacy = _register(tracking, settings, data, 0.2, None)
    (_, fills_held, _), (_, fills_legacy, _) = replay(
        [held, legacy], data, (2, 59), settings.env, settings.costs
    )
    assert fills_held == 0 and fills_legacy > 0


def test_an_ensemble_of_models_trained_with_different_envs_is_refused(tracking, settings, data) -> None:
    a = _register(tracking, settings, data, 0.2, HOLD)
    b = _register(tracking, settings, data, 0.2, None)
    with pytest.raises(ValueError, match=r"different action semantics.*hold_band"):
        backtest(SharpeWeightedEnsemble([a, b], [1.0, 1.0]), data, settings.env, settings.costs)
    same = SpecPolicy(SharpeWeightedEnsemble([a, a], [1.0, 2.0]), a.spec, "ens")
    assert backtest(same, data, settings.env, settings.costs).ledger.height == 0  # both hold at 0.2


def test_a_fake_policy_without_env_config_runs_under_the_given_env(settings, data) -> None:
    class Const:
        def predict(self, obs: Any) -> np.ndarray:
            return np.full((len(obs), 2), 0.2)

    env = EnvConfig(hold_band=0.25)
    assert backtest(Const(), data, env, settings.costs).ledger.height == 0
    assert backtest(Const(), data, EnvConfig(), settings.costs).ledger.height > 0


def _session(settings: Any, tracking: Any, action: float, trained: dict[str, Any]) -> tuple[Any, list[Any]]:
    """Register a model on the sample's features, trade the last 24 sample bars with it through
    ``open_session`` (the path of paper, live and the hourly flow); the loop's env and each bar's
    (absolute index mod 3, why it was skipped, orders placed)."""
    from cappuccino_core.features.builder import build_dataset
    from cappuccino_core.trading.loop.build import open_session
    from cappuccino_core.trading.loop.replay import load_bars

    bars = load_bars(settings, "1h", source="sample")
    spec = build_dataset(bars.frames, settings.features, "1h").spec
    obs = observation_size(len(spec.tickers), spec.n_features, spec.lookback)
    run_id = log_model(tracking, spec, obs, action, env=apply_trained(trained, settings.env))
    ticks = []
    with open_session(settings, "sim", run_id, bars, "1h", run_id="trained-env") as s:
        for t in range(len(bars.times) - 24, len(bars.times)):
            res = s.tick(t)
            ticks.append((int(bars.times[t]) // HOUR_NS % 3, res.skipped, len(res.orders)))
        return s.loop.env, ticks


def test_the_bar_loop_decides_only_on_the_models_decision_bars(tracking, settings, sample_dir) -> None:
    env, ticks = _session(settings, tracking, 0.9, {**HOLD, **EVERY_3})
    assert (env.decision_every, env.hold_band, env.initial_cash) == (3, 0.25, settings.env.initial_cash)
    decided = [r for r, skipped, _ in ticks if skipped is None]
    assert len(decided) == 8 and set(decided) == {0}  # the model is asked on every third bar only
    for r, skipped, _ in ticks:
        assert (skipped is None) == (r == 0)
        if r:
            assert skipped == "hold: not a decision bar (decision_every=3)"
    assert any(n for r, s, n in ticks if r == 0)  # it traded on its decision bars


def test_the_bar_loop_keeps_an_action_inside_the_models_hold_band(tracking, settings, sample_dir) -> None:
    env, ticks = _session(settings, tracking, 0.2, HOLD)
    assert env.hold_band == 0.25 and env.decision_every == settings.env.decision_every == 1
    assert all(s is None for _, s, _ in ticks)  # asked every bar (interval 1, as trained) ...
    assert sum(n for _, _, n in ticks) == 0  # ... and 0.2 is "keep": no order on any bar
