"""Property: for any action stream and price path, the orders the risk manager lets out breach no rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cappuccino_core.config.env import EnvConfig
from cappuccino_core.config.risk import RiskConfig
from cappuccino_core.env.actions import desired_orders
from cappuccino_core.env.rules import OrderContext
from cappuccino_core.trading.risk import RiskManager
from cappuccino_core.trading.risk.base import NS_PER_DAY, NS_PER_HOUR
from cappuccino_core.trading.risk.cooldown import LossStreakCooldown
from cappuccino_core.trading.risk.stop_loss import StopLoss
from tests.env_presets import NO_BAND

N, A, T = 2, 3, 60
CFG = RiskConfig(
    max_trades_per_day=6, max_signals_per_hour=2, daily_loss_limit=0.02, portfolio_trailing_stop=0.015,
    loss_streak=2, cooldown_hours=3.0, prop_max_daily_loss=0.05, prop_max_total_loss=0.10,
    rules={"time_of_day": {"windows": [[9, 10], [15, 16]], "factor": 0.5}},
)  # fmt: skip
TOD_FACTOR = 0.5
ENV = EnvConfig(**NO_BAND, initial_cash=10_000.0, position_cap=0.3, action_mode="target_weight")


@st.composite
def streams(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vol = draw(st.sampled_from([0.002, 0.01, 0.03, 0.06]))
    start_hour = draw(st.integers(0, 23))
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (T, A)), axis=0))
    acts = np.clip(rng.normal(0.0, 0.8, (T, N, A)), -1.0, 1.0)
    return prices, acts, start_hour


@settings(max_examples=60, deadline=None)
@given(streams())
def test_no_rule_breached(stream: tuple[np.ndarray, np.ndarray, int]) -> None:
    prices, actions, start_hour = stream
    rm = RiskManager.from_config(CFG)
    cash, hold = np.full(N, ENV.initial_cash), np.zeros((N, A))
    day_open, peak, day = np.full(N, np.nan), np.full(N, np.nan), -1
    halted_day, halted_pf = np.zeros(N, bool), np.zeros(N, bool)
    trades_day, buys_hour, hour = np.zeros(N, int), np.zeros(N, int), -1
    for t in range(T):
        now = (19_000 * 24 + start_hour + t) * NS_PER_HOUR
        p = np.broadcast_to(prices[t], (N, A)).copy()
        ctx = OrderContext(
            prices=p, cash=cash, holdings=hold, slippage=np.full((N, A), 5e-4), fee_rate=0.006,
            lot=np.full(A, 1e-6), min_order_value=1.0, time=np.full(N, now, np.int64),
        )  # fmt: skip
        e = ctx.equity
        if now // NS_PER_DAY != day:
            day, day_open, trades_day = now // NS_PER_DAY, e.copy(), np.zeros(N, int)
            peak = np.where(halted_pf, e, peak)  # after a halted day the peak restarts
            halted_pf[:], halted_day[:] = False, False
        if now // NS_PER_HOUR != hour:
            hour, buys_hour = now // NS_PER_HOUR, np.zeros(N, int)
        peak = np.fmax(peak, e)
        halted_day |= e <= day_open * (1 - CFG.daily_loss_limit)  # type: ignore[operator]
        halted_pf |= e <= peak * (1 - CFG.portfolio_trailing_stop)  # type: ignore[operator]
        stop = next(r for r in rm.rules if isinstance(r, StopLoss))
        cool = next(r for r in rm.rules if isinstance(r, LossStreakCooldown))

        wanted = desired_orders(actions[t], ENV, e, hold, p)
        q = rm.apply(wanted, ctx)
        buys = q > 0
        blocked = halted_day | halted_pf | cool.cooling(ctx.time)
        assert not (buys & blocked[:, None]).any(), "buy while a halt or cooldown is on"
        # Stop-loss: every triggered, sellable position is sold in full.
        trig = stop.triggered(ctx) & (hold * p >= CFG.min_trade_value)
        assert np.array_equal(q[trig], -hold[trig]), "stop-loss not executed in full"
        cap = 0.10 * np.broadcast_to(e[:, None], (N, A))  # max_trade_fraction
        assert (q[buys] * p[buys] <= cap[buys] + 1e-9).all(), "buy over the max trade size"
        if (now // NS_PER_HOUR) % 24 in (9, 15):  # time-of-day: volatile hours get at most half the cap
            assert (q[buys] * p[buys] <= TOD_FACTOR * cap[buys] + 1e-9).all(), "uncut buy"
        nz = q != 0
        assert (np.abs(q[nz]) * p[nz] >= CFG.min_trade_value).all(), "order under the minimum value"
        # Counters: a buy only when the day's trades including this bar's stay within the limit.
        n_orders = nz.sum(axis=1)
        assert not (buys.any(axis=1) & (trades_day + n_orders > CFG.max_trades_per_day)).any()
        assert (buys_hour + buys.sum(axis=1) <= CFG.max_signals_per_hour).all()
        assert (hold + q >= -1e-12).all(), "short sale"

        fill = ctx.settle(q)
        after_e = fill.equity
        over = fill.holdings * p > CFG.max_position_fraction * after_e[:, None] + 1e-9
        assert not (over & buys).any(), "a buy took a position over the cap"
        rm.on_fill(q, fill.price, fill.fee, ctx.time)
        cash, hold = fill.cash, fill.holdings
        trades_day += n_orders
        buys_hour += buys.sum(axis=1)
