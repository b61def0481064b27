"""The kernel's step for N episodes in compiled loops (kernel.py documents the step itself).

Two functions, both over every episode of the batch:

``orders_and_fills``  steps 1-3 with the default order rules, fused: mark, actions -> desired orders, no
                      short, lots, minimum order value, cash reserve, position cap, settle. It calls the
                      same row functions (order_math.py) that the rule classes in rules.py call one rule at
                      a time, so a kernel with the default rules gives the same numbers either way (a test
                      holds them equal to the last bit). Used when the rule list is the default one and no
                      rule keeps state; any other list (the risk manager's rules) runs through the classes.
``advance``           steps 4-5, for every rule list: next bar, mark, equal-weight benchmark, peak,
                      reward (rewards.reward_one), terminated / truncated.

Why compiled: at 64 episodes x 10 assets one step is ~640 small operations per numpy call, so a numpy
step is bound by the ~150 calls it makes, not by arithmetic (benchmarks/env_throughput.py measures both).
"""

from __future__ import annotations

import math

import numpy as np

from cappuccino_core.env.jit import jit
from cappuccino_core.env.order_math import (
    cash_flow,
    cash_reserve_row,
    desired_row,
    lot_rounding_row,
    mark,
    min_order_row,
    no_short_row,
    position_cap_row,
    unit_buy,
    unit_sell,
)
from cappuccino_core.env.rewards import reward_one


@jit
def orders_and_fills(
    actions: np.ndarray,
    prices: np.ndarray,
    slippage: np.ndarray,
    lot: np.ndarray,
    t: np.ndarray,
    active: np.ndarray,
    decide: np.ndarray,
    cash: np.ndarray,
    holdings: np.ndarray,
    mode: int,
    allow_short: bool,
    cap: float,
    max_trade_fraction: float,
    fee: float,
    mov: float,
    reserve: float,
    hold: float,
    band: float,
    min_frac: float,
    qty: np.ndarray,
    equity_before: np.ndarray,
) -> int:
    """Fill ``qty`` (N, A) with the accepted orders and ``equity_before`` (N,) with the equity at the
    decision bar; settle into ``cash`` and ``holdings`` in place. ``prices`` and ``slippage`` are whole
    (T, A) tables, indexed by each episode's bar ``t``; ``decide`` (T,) says which bars are decision bars
    (env.decision_every): on the others the actions ask for nothing (hold) and only the limit rules
    (cash reserve, position cap) may trade. ``mode``: the action mode's code (order_math.MODE_*).

    Returns -1, or the first episode whose actions are not all finite: then nothing has been changed."""
    n, a = holdings.shape
    for i in range(n):
        for j in range(a):
            if not math.isfinite(actions[i, j]):
                return i
    scratch, bu, su = np.empty(a), np.empty(a), np.empty(a)
    for i in range(n):
        b, h, q = t[i], holdings[i], qty[i]
        p, s = prices[b], slippage[b]
        e = mark(cash[i], h, p)
        equity_before[i] = e
        if not active[i]:  # ended episodes stay frozen
            q[:] = 0.0
            continue
        for j in range(a):
            bu[j], su[j] = unit_buy(p[j], s[j], fee), unit_sell(p[j], s[j], fee)
        if decide[b]:
            desired_row(
                actions[i],
                mode,
                allow_short,
                cap,
                max_trade_fraction,
                e,
                h,
                p,
                q,
                hold,
                band,
                min_frac,
            )
        else:  # between decisions: hold; the limit rules below still apply
            q[:] = 0.0
        if not allow_short:
            no_short_row(q, h)
        lot_rounding_row(q, h, lot)
        min_order_row(q, p, mov)
        cash_reserve_row(q, p, h, bu, su, lot, cash[i], e, mov, reserve, band)
        position_cap_row(q, p, h, bu, su, s, lot, e, fee, mov, cap, allow_short, scratch)
        cash[i] -= cash_flow(q, bu, su)
        for j in range(a):
            h[j] += q[j]
    return -1


@jit
def advance(
    prices: np.ndarray,
    t: np.ndarray,
    end: np.ndarray,
    active: np.ndarray,
    cash: np.ndarray,
    holdings: np.ndarray,
    equity_before: np.ndarray,
    bench_units: np.ndarray,
    bench_value: np.ndarray,
    peak: np.ndarray,
    reward_kind: int,
    reward_scale: float,
    dsr_eta: float,
    dsr_mean: np.ndarray,
    dsr_second: np.ndarray,
    equity: np.ndarray,
    reward: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
) -> None:
    """Move active episodes to their next bar and mark there. In place: ``t``, ``active``,
    ``bench_value``, ``peak`` and the differential-Sharpe moments; filled: ``equity``, ``reward``
    (rewards.reward_one of the step's return from ``equity_before`` and the benchmark's; 0 for episodes
    that were not active), ``terminated`` (equity reached 0) and ``truncated`` (end bar)."""
    for i in range(t.shape[0]):
        was = active[i]
        if was:
            t[i] += 1
        p = prices[t[i]]
        e = mark(cash[i], holdings[i], p)
        equity[i] = e
        bench = 0.0
        for j in range(p.shape[0]):
            bench += bench_units[i, j] * p[j]
        bench_ret = bench / bench_value[i] - 1.0
        bench_value[i] = bench
        peak[i] = max(peak[i], e)
        reward[i] = 0.0
        if was:
            ret = e / equity_before[i] - 1.0
            r = reward_one(reward_kind, reward_scale, dsr_eta, ret, bench_ret, dsr_mean, dsr_second, i)
            reward[i] = r
        terminated[i] = was and e <= 0.0
        truncated[i] = was and t[i] >= end[i] and not terminated[i]
        active[i] = was and not (terminated[i] or truncated[i])
