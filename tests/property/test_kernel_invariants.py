"""Kernel invariants for any action sequence, prices, costs and limits (hypothesis).

After every step, marked at the step's trade (reference) prices:
- cash >= 0 and holdings >= 0 (long-only default);
- cash >= cash_reserve x equity, and holding x price <= position_cap x equity for every asset, exactly
  (no tolerance), except where the broker makes it impossible: a position worth less than the minimum
  order value (dust) cannot be sold;
- equity change over the step = sum(holdings x price change) - fees - slippage (to rounding);
- no fee and no slippage on an asset that did not trade; off the decision bars (``decision_every``) no
  buy (only the limit rules may sell); in signal mode no buy for an action inside the hold region;
- one episode run alone gives bit-for-bit the results it gives inside a batch;
- the fused compiled step (default rules) gives bit-for-bit the results of the rule classes.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cappuccino_core.config.costs import CostsConfig
from cappuccino_core.config.env import EnvConfig
from cappuccino_core.env.kernel import TradingKernel
from cappuccino_core.env.rules import default_rules
from cappuccino_core.env.toy import dataset_from_prices

N_EPISODES = 3
finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def scenarios(draw: st.DrawFn, allow_short: bool = False) -> dict:
    n_assets = draw(st.integers(1, 4))
    n_steps = draw(st.integers(1, 10))
    lookback = draw(st.integers(1, 3))
    n_bars = lookback + n_steps + 3
    start = np.array([10.0 ** draw(st.floats(-2, 5, **finite)) for _ in range(n_assets)])
    moves = draw(
        st.lists(
            st.lists(st.floats(-0.7, 0.7, **finite), min_size=n_assets, max_size=n_assets),
            min_size=n_bars - 1,
            max_size=n_bars - 1,
        )
    )
    prices = start * np.exp(np.vstack([np.zeros(n_assets), np.cumsum(np.array(moves), axis=0)]))
    vol = draw(st.floats(0.0, 0.2, **finite))
    lots = {f"T{i}/USD": draw(st.sampled_from([1e-8, 1e-4, 0.01, 1.0])) for i in range(n_assets)}
    cap = draw(st.floats(0.05, 1.0, **finite))
    reserve = draw(st.floats(0.0, 0.6, **finite))
    # The turnover controls too (off in about a third of the examples): the limits hold whatever they are.
    band = draw(st.sampled_from([0.0, 0.0, 0.01, 0.05])) * min(1.0, cap)
    env = EnvConfig(
        hold_band=draw(st.sampled_from([0.0, 0.1, 0.5])),
        rebalance_band=min(band, 0.5 * cap),
        min_order_fraction=draw(st.sampled_from([0.0, 0.001, 0.05])),
        initial_cash=draw(st.sampled_from([50.0, 1_000.0, 100_000.0, 1e7])),
        # signal mode is long or flat: the config refuses it with allow_short.
        action_mode=draw(
            st.sampled_from(["target_weight", "trade_fraction", *([] if allow_short else ["signal"])])
        ),
        max_trade_fraction=draw(st.floats(0.01, 1.0, **finite)),
        position_cap=cap,
        cash_reserve=reserve,
        min_order_value=draw(st.sampled_from([0.0, 1.0, 10.0, 50.0])),
        lot_size=lots,
        reward=draw(st.sampled_from(["excess_equal_weight", "log_return", "differential_sharpe"])),
        allow_short=allow_short,
        episode_length=max(n_steps, 2),
        decision_every=draw(st.sampled_from([1, 1, 2, 3])),
    )
    costs = CostsConfig(
        maker_fee=draw(st.floats(0.0, 0.05, **finite)),
        taker_fee=draw(st.floats(0.0, 0.05, **finite)),
        execution=draw(st.sampled_from(["taker", "maker"])),
        slippage_bps=draw(st.floats(0.0, 100.0, **finite)),
        slippage_vol_mult=draw(st.floats(0.0, 1.0, **finite)),
    )
    action = st.one_of(st.floats(-1.5, 1.5, **finite), st.sampled_from([-1.0, 0.0, 1.0]))
    actions = np.array(
        draw(
            st.lists(
                action, min_size=n_steps * N_EPISODES * n_assets, max_size=n_steps * N_EPISODES * n_assets
            )
        )
    ).reshape(n_steps, N_EPISODES, n_assets)
    first = lookback - 1
    starts = np.array([draw(st.integers(first, first + 2)) for _ in range(N_EPISODES)])
    ends = np.array([min(s + draw(st.integers(1, n_steps)), n_bars - 1) for s in starts])
    return {
        "data": dataset_from_prices(prices, lookback=lookback, volatility=vol),
        "env": env,
        "costs": costs,
        "actions": actions,
        "starts": starts,
        "ends": ends,
    }


def run(sc: dict, idx: np.ndarray | None = None) -> TradingKernel:
    idx = np.arange(N_EPISODES) if idx is None else idx
    k = TradingKernel(sc["data"], sc["env"], sc["costs"], len(idx), record=True)
    k.reset(starts=sc["starts"][idx], ends=sc["ends"][idx])
    for a in sc["actions"]:
        if not k.active.any():
            break
        k.step(a[idx])
    return k


def check_step(k: TradingKernel, env: EnvConfig, before: dict, result) -> None:
    row = k.recorder.rows[-1]
    active = before["active"]
    p, h0, e0 = before["prices"], before["holdings"], before["equity"]
    cash, h = k.cash, k.holdings
    value = h * p
    equity = cash + value.sum(axis=1)  # after the trades, at trade prices
    dust = (h0 * p < env.min_order_value) & (h == h0)  # could not be sold
    frozen = ~active[:, None]  # ended episodes do not trade: their limits are not re-checked

    if not env.allow_short:
        assert np.all(cash >= 0.0), cash
        assert np.all(h >= 0.0), h
        reserve_ok = cash >= env.cash_reserve * equity
        only_dust_left = np.all((h <= 0.0) | dust, axis=1)
        assert np.all(reserve_ok | only_dust_left | ~active), (cash, equity)
    cap_ok = np.abs(value) <= env.position_cap * equity[:, None]
    if env.allow_short:  # a short can lose more than the equity: the episode then ends (terminated)
        cap_ok |= (equity <= 0.0)[:, None] & result.terminated[:, None]
    assert np.all(cap_ok | dust | frozen), (value / equity[:, None], env.position_cap)

    traded = row["qty"] != 0.0
    assert np.all(row["fee_asset"][~traded] == 0.0)
    assert np.all(row["slip_asset"][~traded] == 0.0)
    assert np.all(row["qty"][~active] == 0.0)
    # Between decisions only the limit rules trade: sells only (long-only), and only past a limit.
    if not env.allow_short:
        assert np.all(row["qty"][~before["decide"]] <= 0.0)
    # signal mode: an action inside the hold region never buys; only a limit rule may sell there.
    if env.action_mode == "signal":
        inside = np.abs(np.clip(before["actions"], -1.0, 1.0)) <= env.hold_band
        assert np.all(row["qty"][inside] <= 0.0)

    next_p = k.prices[k.t]
    change = result.equity - e0
    expected = (h * (next_p - p)).sum(axis=1) - row["fee"] - row["slippage"]
    scale = np.abs(e0) + (np.abs(h) * (next_p + p)).sum(axis=1) + (np.abs(h0) * p).sum(axis=1)
    assert np.all(np.abs(change - expected) <= 1e-9 * scale), (change, expected)


def check_run(sc: dict) -> TradingKernel:
    env = sc["env"]
    k = TradingKernel(sc["data"], env, sc["costs"], N_EPISODES, record=True)
    k.reset(starts=sc["starts"], ends=sc["ends"])
    for a in sc["actions"]:
        if not k.active.any():
            break
        before = {
            "active": k.active.copy(),
            "decide": k.decide[k.t].copy(),
            "prices": k.prices[k.t].copy(),
            "holdings": k.holdings.copy(),
            "equity": k.equity.copy(),
            "actions": a,
        }
        result = k.step(a)
        check_step(k, env, before, result)
    return k


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_limits_and_accounting_hold_for_any_actions(sc: dict) -> None:
    check_run(sc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(allow_short=True))
def test_short_positions_respect_the_cap(sc: dict) -> None:
    check_run(sc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_an_episode_alone_equals_it_inside_a_batch(sc: dict) -> None:
    batch = run(sc)
    for i in range(N_EPISODES):
        alone = run(sc, np.array([i]))
        a, b = batch.recorder.episode(i), alone.recorder.episode(0)
        for field in ("times", "equity", "cash", "holdings", "fees", "slippage", "rewards"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        assert a.ledger.equals(b.ledger)


def fused_and_classes(sc: dict) -> tuple[TradingKernel, TradingKernel]:
    env, costs = sc["env"], sc["costs"]
    fused = TradingKernel(sc["data"], env, costs, N_EPISODES, record=True)
    classes = TradingKernel(sc["data"], env, costs, N_EPISODES, rules=default_rules(env), record=True)
    assert fused.fused and not classes.fused
    for k in (fused, classes):
        k.reset(starts=sc["starts"], ends=sc["ends"])
    return fused, classes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda short: scenarios(allow_short=short)))
def test_the_fused_step_equals_the_rule_classes_bit_for_bit(sc: dict) -> None:
    """The default rules run fused in one compiled loop; an explicit rule list runs them one class at a
    time. Both call the same row functions, so every number (and the trade ledger) agrees exactly."""
    fused, classes = fused_and_classes(sc)
    for a in sc["actions"]:
        if not fused.active.any():
            break
        x, y = fused.step(a), classes.step(a)
        for field in ("obs", "reward", "terminated", "truncated", "equity"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field), err_msg=field)
        for state in ("cash", "holdings", "t", "active", "peak", "bench_value"):
            np.testing.assert_array_equal(getattr(fused, state), getattr(classes, state), err_msg=state)
    assert fused.recorder is not None and classes.recorder is not None
    for i in range(N_EPISODES):
        assert fused.recorder.episode(i).ledger.equals(classes.recorder.episode(i).ledger)
