"""The strategies worth beating: hand-computed equity, schedules, hysteresis, causality, fits on training
folds only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.backtest.runner import backtest, run_episodes, run_equity
from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.toy import toy_dataset
from cappuccino_core.features.dataset import MarketDataset
from cappuccino_core.strategies import STRATEGIES, make_strategy
from cappuccino_core.strategies.base import hysteresis
from cappuccino_core.strategies.mean_reversion import reversion_state
from cappuccino_core.strategies.rebalanced_equal_weight import period_starts
from cappuccino_core.strategies.trend import trend_state
from tests.env_presets import NO_BAND

FEE, SLIP = 0.012, 5e-4  # taker fee; 5 bps slippage, no volatility term: every fill costs exactly this
COSTS = CostsConfig(taker_fee=FEE, slippage_bps=5.0, slippage_vol_mult=0.0)
FREE = CostsConfig(maker_fee=0.0, taker_fee=0.0, slippage_bps=0.0, slippage_vol_mult=0.0)
ENV = EnvConfig(**NO_BAND)  # cap 0.3, reserve 5%: the hold references must ignore both


def with_prices(data: MarketDataset, prices: np.ndarray) -> MarketDataset:
    return dataclasses.replace(data, prices=np.asarray(prices, dtype=np.float64))


def test_registry_names_and_labels() -> None:
    assert STRATEGIES == (
        "buy_and_hold_btc",
        "buy_and_hold_basket",
        "rebalanced_equal_weight",
        "trend",
        "mean_reversion",
        "cash",
    )
    assert "exempt from the position cap and cash reserve" in make_strategy("buy_and_hold_btc").label
    assert make_strategy("trend").label == "trend"
    with pytest.raises(ValueError, match="unknown strategy 'nope'; choose one of buy_and_hold_btc"):
        make_strategy("nope")


def test_buy_and_hold_btc_equity_is_the_price_ratio_less_one_entry_cost() -> None:
    """All in at the first decision bar p0 at p0 (1 + s)(1 + f) a unit, never again: equity_k / cash =
    (p_k / p0) / ((1 + s)(1 + f)), exactly (up to the 1e-8 lot), whatever the cap and reserve say."""
    data = toy_dataset(400, 3, 2, 4, seed=1)
    policy = make_strategy("buy_and_hold_btc").policy({}, ENV)
    res = backtest(policy, data, ENV, COSTS)
    p = data.prices[3:, 0]  # T0 stands in for BTC; the first decision bar is lookback - 1 = 3
    expected = ENV.initial_cash * (p / p[0]) / ((1 + SLIP) * (1 + FEE))
    np.testing.assert_allclose(res.equity[1:], expected[1:], rtol=1e-9)
    assert res.ledger.height == 1 and res.ledger["side"][0] == "buy" and res.ledger["asset"][0] == "T0/USD"
    assert res.fees == pytest.approx(ENV.initial_cash * FEE / (1 + FEE), rel=1e-9)


def test_buy_and_hold_basket_drifts_untrimmed() -> None:
    """1/A of the cash into each asset once: equity_k = cash / (A (1+s)(1+f)) x sum_i p_ik / p_i0."""
    data = toy_dataset(300, 4, 2, 3, drift=[0.004, 0.0, -0.002, 0.001], seed=2)  # T0 quadruples: > cap
    res = backtest(make_strategy("buy_and_hold_basket").policy({}, ENV), data, ENV, COSTS)
    p = data.prices[2:]
    expected = ENV.initial_cash / (4 * (1 + SLIP) * (1 + FEE)) * (p / p[0]).sum(axis=1)
    np.testing.assert_allclose(res.equity[1:], expected[1:], rtol=1e-9)
    assert res.ledger.height == 4 and set(res.ledger["side"]) == {"buy"}


def test_cash_never_trades() -> None:
    data = toy_dataset(120, 2, 1, 3, seed=3)
    res = backtest(make_strategy("cash").policy({}, ENV), data, ENV, COSTS)
    assert res.ledger.height == 0 and np.all(res.equity == ENV.initial_cash) and res.summary.sharpe == 0.0


def test_rebalanced_equal_weight_trades_only_on_schedule() -> None:
    """Weekly: fills at the first decision bar and at Monday 00:00 UTC bars, never in between; each Monday
    every asset is brought back to its slot, min(0.8 x cap, (1 - 2 x reserve) / A). (The env's order rules
    act on their own between rebalances, when a position drifts above the cap or a rally eats the cash
    reserve; this env leaves them nothing to do, so every fill is the strategy's.)"""
    env = EnvConfig(**NO_BAND, position_cap=0.6, cash_reserve=0.0)
    data = toy_dataset(24 * 30, 3, 1, 4, vol=0.01, seed=4)  # 30 days hourly
    res = backtest(make_strategy("rebalanced_equal_weight").policy({"period": "1w"}, env), data, env, COSTS)
    times = data.times[3:]
    day = (times // (86_400 * 10**9) + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    mondays = set(times[(day == 0) & (times % (86_400 * 10**9) == 0)].tolist())
    assert len(mondays) == 4
    fill_times = set(res.ledger["time"].dt.epoch("ns").to_list())
    assert fill_times == {int(times[0])} | mondays
    last_monday = max(mondays)
    k = int(np.flatnonzero(times == last_monday)[0])
    after = res.episodes[0].holdings[k + 1] * data.prices[3 + k] / res.episodes[0].equity[k + 1]
    np.testing.assert_allclose(after, 1 / 3, rtol=0.02)  # 1/3 < 0.8 x cap 0.6
    sunday_23h = 4 * 86_400 * 10**9 - 3_600 * 10**9  # 1970-01-04 23:00, the bar before the first Monday
    assert period_starts(sunday_23h + np.array([0, 1]) * 3_600 * 10**9, "1w").tolist() == [False, True]


def test_hysteresis_switches_only_past_the_thresholds() -> None:
    """fast=1, slow=2 makes d = (log p_t - log p_t-1) / 2: enter when a bar's log return > 2 x band, leave
    when < -2 x band, otherwise keep the state."""
    r = np.array([0.0, 0.03, 0.01, -0.01, -0.03, 0.015, 0.025, -0.019, -0.021])
    prices = 100 * np.exp(np.cumsum(r))[:, None]
    state = trend_state(prices, fast=1, slow=2, band=0.01)[:, 0]
    assert state.tolist() == [0, 1, 1, 1, 0, 0, 1, 1, 0]
    enter, leave = np.array([[False], [True], [False]]), np.array([[True], [False], [False]])
    assert hysteresis(enter, leave)[:, 0].tolist() == [0, 1, 1]
    # Through the kernel (no cap or reserve to trim): fills exactly at the switches. Bar 8 is the last
    # bar: marked, not traded.
    env = EnvConfig(**NO_BAND, position_cap=1.0, cash_reserve=0.0)
    data = with_prices(toy_dataset(9, 1, 1, 1, seed=5), prices)
    res = backtest(make_strategy("trend").policy({"fast": 1, "slow": 2, "band": 0.01}, env), data, env, COSTS)
    assert res.ledger["time"].dt.epoch("ns").to_list() == data.times[[1, 4, 6]].tolist()
    assert res.ledger["side"].to_list() == ["buy", "sell", "buy"]


def test_mean_reversion_state() -> None:
    """n=3: z of the newest log price in its 3-bar window; enter below -1, leave above 0."""
    logp = np.log(np.array([100.0, 100, 100, 90, 91, 92, 99, 100, 101]))
    z = [np.nan, np.nan]
    for t in range(2, len(logp)):
        w = logp[t - 2 : t + 1]
        z.append((w[-1] - w.mean()) / w.std() if w.std() > 0 else np.nan)
    state = reversion_state(np.exp(logp)[:, None], n=3, entry=1.0, exit_z=0.0)[:, 0]
    expected, s = [], 0
    for v in z:
        s = 1 if (np.isfinite(v) and v < -1) else (0 if (np.isfinite(v) and v > 0) else s)
        expected.append(s)
    assert state.tolist() == expected and 1 in expected and expected[-1] == 0


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(["trend", "mean_reversion", "rebalanced_equal_weight"]), cut=st.integers(40, 250))
def test_decisions_at_t_do_not_change_when_later_prices_change(name: str, cut: int) -> None:
    strat = make_strategy(name)
    data = toy_dataset(300, 3, 1, 4, vol=0.02, seed=6)
    params = strat.grid()[0] if name != "trend" else {"fast": 3, "slow": 12, "band": 0.005}
    if name == "mean_reversion":
        params = {"n": 12, "entry": 1.0, "exit": 0.0}
    later = data.prices.copy()
    later[cut + 1 :] *= np.exp(
        np.random.default_rng(cut).normal(0, 0.05, later[cut + 1 :].shape).cumsum(axis=0)
    )
    other = with_prices(data, later)
    a, b = strat.plan(data, params, ENV), strat.plan(other, params, ENV)
    assert np.array_equal(a.targets[: cut + 1], b.targets[: cut + 1])
    assert np.array_equal(a.trade[: cut + 1], b.trade[: cut + 1])
    ra = run_episodes(strat.policy(params, ENV), data, ENV, COSTS, np.array([3]), np.array([299]))[0]
    rb = run_episodes(strat.policy(params, ENV), other, ENV, COSTS, np.array([3]), np.array([299]))[0]
    la = ra.ledger.filter(ra.ledger["time"].dt.epoch("ns") <= int(data.times[cut]))
    lb = rb.ledger.filter(rb.ledger["time"].dt.epoch("ns") <= int(data.times[cut]))
    assert la.equals(lb)


def test_fit_reads_the_training_folds_only() -> None:
    """Prices outside the training segments (before, between and after them) scrambled: same fit."""
    data = toy_dataset(900, 3, 1, 4, vol=0.015, seed=7)
    train = [(0, 300), (500, 750)]
    strat = make_strategy("trend")
    fit = strat.fit(data, train, ENV, COSTS)
    prices = data.prices.copy()
    rng = np.random.default_rng(0)
    for lo, hi in ((300, 500), (750, 900)):
        prices[lo:hi] *= np.exp(rng.normal(0, 0.1, (hi - lo, 3)))
    again = strat.fit(with_prices(data, prices), train, ENV, COSTS)
    assert again.params == fit.params and again.train_sharpe == fit.train_sharpe
    assert len(fit.grid) == 12 and fit.params == fit.grid[int(np.nanargmax(fit.train_sharpe))]
    # and the training Sharpe of the chosen point is what a run of it on those segments gives
    pol = strat.policy(fit.params, ENV, segments=train)
    curves = run_equity(pol, data, ENV, COSTS, np.array([3, 503]), np.array([299, 749]))
    from cappuccino_core.metrics import sharpe_ratio, simple_returns

    s = float(sharpe_ratio(np.concatenate([simple_returns(c) for c in curves]), "1h"))
    assert s == pytest.approx(max(v for v in fit.train_sharpe if np.isfinite(v)), rel=1e-12)


def test_run_equity_matches_the_recorded_run() -> None:
    data = toy_dataset(300, 3, 2, 4, seed=8)
    starts, ends = np.array([3, 50, 120]), np.array([200, 90, 299])
    pol = make_strategy("trend").policy({"fast": 3, "slow": 12, "band": 0.0}, ENV)
    rec = run_episodes(pol, data, ENV, COSTS, starts, ends)
    eq = run_equity(
        make_strategy("trend").policy({"fast": 3, "slow": 12, "band": 0.0}, ENV),
        data,
        ENV,
        COSTS,
        starts,
        ends,
    )
    for r, e in zip(rec, eq, strict=True):
        np.testing.assert_array_equal(r.equity, e)


def test_trade_fraction_mode_reaches_its_targets_over_several_bars() -> None:
    env = EnvConfig(**NO_BAND, action_mode="trade_fraction", max_trade_fraction=0.1)
    data = toy_dataset(100, 2, 1, 3, seed=9)
    res = backtest(make_strategy("buy_and_hold_basket").policy({}, env), data, env, FREE)
    w = res.episodes[0].holdings[-1] * data.prices[-1] / res.equity[-1]
    # 0.5 each at most 0.1 of equity a bar: 5 bars, a 6th for what prices moved meanwhile; then nothing
    first_bars = set(data.times[2:8].tolist())
    assert 10 <= res.ledger.height <= 12 and set(res.ledger["time"].dt.epoch("ns").to_list()) <= first_bars
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-2)


def test_a_bar_reading_strategy_outside_the_runner_says_so() -> None:
    pol = make_strategy("trend").policy(None, ENV)
    with pytest.raises(RuntimeError, match="reads prices by bar"):
        pol.predict(np.zeros((1, 10), dtype=np.float32))
    hold = make_strategy("buy_and_hold_btc").policy({}, ENV, tickers=("ETH/USD", "BTC/USD"))
    obs = np.zeros((2, 20), dtype=np.float32)
    assert hold.predict(obs).tolist() == [[0.0, 1.0], [0.0, 1.0]]  # obs only: first call buys


def test_rolling_statistics_match_the_window_definition() -> None:
    from cappuccino_core.strategies.indicators import rolling_mean, rolling_std

    x = np.log(toy_dataset(200, 3, 1, 2, vol=0.02, seed=12).prices)
    for n in (2, 5, 48):
        m, sd = rolling_mean(x, n), rolling_std(x, n)
        assert np.isnan(m[: n - 1]).all() and np.isnan(sd[: n - 1]).all()
        for t in (n - 1, n + 7, 199):
            w = x[t - n + 1 : t + 1]
            np.testing.assert_allclose(m[t], w.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(sd[t], w.std(axis=0), rtol=1e-7, atol=1e-12)


def test_run_costs_matches_the_recorded_episodes() -> None:
    from cappuccino_core.backtest.runner import run_costs
    from cappuccino_core.metrics import traded_notional

    data = toy_dataset(300, 3, 2, 4, vol=0.02, seed=13)
    starts, ends = np.array([3, 50, 120]), np.array([200, 90, 299])
    params = {"fast": 3, "slow": 12, "band": 0.0}
    rec = run_episodes(make_strategy("trend").policy(params, ENV), data, ENV, COSTS, starts, ends)
    got = run_costs(make_strategy("trend").policy(params, ENV), data, ENV, COSTS, starts, ends)
    for r, g in zip(rec, got, strict=True):
        np.testing.assert_array_equal(r.equity, g.equity)
        assert g.fees == pytest.approx(float(r.fees.sum()), rel=1e-12)
        assert g.notional == pytest.approx(traded_notional(r.ledger), rel=1e-12) and g.notional > 0
