"""The order arithmetic, compiled: one account at a time, one asset at a time.

Everything that turns an account's actions into accepted orders and settles them lives here, as numba
functions over one account's row (arrays of A assets plus scalars). rules.py's rule classes, actions.py,
fills.py and the kernel's fused step (step_fused.py) all call these functions, so there is one
implementation of each rule whether it runs for 64 training episodes at once or for the one live account.
The rules' meaning is documented in rules.py; the formulas below are those, written per element.

Notation per account: ``q`` orders (signed base quantities, changed in place), ``p`` reference prices,
``h`` holdings, ``bu``/``su`` cash paid per unit bought / received per unit sold (fills.unit_cash), ``s``
slippage fractions, ``lot`` lot sizes; scalars ``cash``, ``equity`` (before the orders), ``fee`` (rate),
``mov`` (minimum order value).

Compiled on first use and cached on disk (jit.py says where and when the cache is renewed). The row and
element functions are inlined into their callers; the batch entry points from Python are in
order_batch.py.
"""

from __future__ import annotations

import math

import numpy as np

from cappuccino_core.env.jit import inline

# Relative safety margin on computed limits: absorbs floating-point rounding (~1e-16) so that the limits
# hold exactly when re-checked on the settled state. 1e-12 of equity is far below any lot or fee.
EPS = 1e-12

# EnvConfig.action_mode as the compiled code passes it (actions.mode_code maps the name; actions.py documents
# each mapping).
MODE_TRADE_FRACTION = 0
MODE_TARGET_WEIGHT = 1
MODE_SIGNAL = 2


# --- one element --------------------------------------------------------------------------------------


@inline
def min_qty(p: float, lot: float, mov: float) -> float:
    """Smallest whole-lot quantity worth at least the minimum order value."""
    return math.ceil(mov / p / lot) * lot


@inline
def legal_buy(x: float, p: float, lot: float, mov: float) -> float:
    """A buy quantity (>= 0) rounded down to lots; 0 when under the minimum order value."""
    q = math.floor(x / lot) * lot
    return q if q >= min_qty(p, lot, mov) else 0.0


@inline
def legal_sell(x: float, pos: float, p: float, lot: float, mov: float) -> float:
    """A sell of at least ``x`` (>= 0) out of ``pos``: rounded up to lots and to the minimum order value,
    at most the position (within half a lot of it: exactly all of it); 0 where nothing is asked or the
    position is dust (worth less than the minimum order value)."""
    if not (x > 0.0 and pos * p >= mov):
        return 0.0
    q = max(math.ceil(x / lot) * lot, min_qty(p, lot, mov))
    exit_level = pos - 0.5 * lot if pos > 0.0 else math.inf
    return pos if q >= exit_level else q


@inline
def unit_buy(p: float, s: float, fee: float) -> float:
    """Cash paid per unit bought: the price moved by slippage, plus the fee on it."""
    return p * (1.0 + s) * (1.0 + fee)


@inline
def unit_sell(p: float, s: float, fee: float) -> float:
    """Cash received per unit sold."""
    return p * (1.0 - s) * (1.0 - fee)


@inline
def max_cost_rate(s: float, fee: float) -> float:
    """Upper bound on fee + slippage per unit of notional traded, either side."""
    return (1.0 + s) * (1.0 + fee) - 1.0


# --- one account --------------------------------------------------------------------------------------


@inline
def mark(cash: float, h: np.ndarray, p: np.ndarray) -> float:
    """Equity: cash + holdings x prices."""
    v = cash
    for j in range(h.shape[0]):
        v += h[j] * p[j]
    return v


@inline
def cost_of(q: np.ndarray, p: np.ndarray, bu: np.ndarray, su: np.ndarray) -> float:
    """Fees + slippage of filling ``q``: (bu - p) per unit bought, (p - su) per unit sold."""
    c = 0.0
    for j in range(q.shape[0]):  # branch-free: orders' signs are as random as the policy's actions
        c += max(q[j], 0.0) * (bu[j] - p[j]) - min(q[j], 0.0) * (p[j] - su[j])
    return c


@inline
def cash_flow(q: np.ndarray, bu: np.ndarray, su: np.ndarray) -> float:
    """Cash paid (> 0) or received (< 0) for filling ``q``: sells and buys settle together."""
    f = 0.0
    for j in range(q.shape[0]):
        f += q[j] * (bu[j] if q[j] > 0.0 else su[j])
    return f


@inline
def desired_row(
    a: np.ndarray,
    mode: int,
    allow_short: bool,
    cap: float,
    max_trade_fraction: float,
    equity: float,
    h: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    hold: float,
    band: float,
    min_frac: float,
) -> None:
    """Actions in [-1, 1] (clipped) -> desired orders ``q`` under action mode ``mode`` (MODE_*; actions.py
    documents the three mappings and the turnover controls: hold region ``hold``, no-trade band ``band``,
    minimum order share ``min_frac``)."""
    held_cap = cap - band  # targets stop the band under the cap: drift alone does not force a trim
    signal = mode == MODE_SIGNAL
    for j in range(q.shape[0]):
        x = min(max(a[j], -1.0), 1.0)
        if (hold > 0.0 or signal) and abs(x) <= hold:  # signal mode: a = 0 holds even without a region
            q[j] = 0.0
            continue
        x = math.copysign((abs(x) - hold) / (1.0 - hold), x)
        if mode != MODE_TRADE_FRACTION:
            # signal: in (the full target) or out, nothing in between; target_weight: a' of the target.
            level = (1.0 if x > 0.0 else 0.0) if signal else (x if allow_short else max(x, 0.0))
            w = level * held_cap
            exit_all = w == 0.0 and h[j] != 0.0
            now = h[j] * p[j] / equity if equity > 0.0 else 0.0
            if not exit_all and abs(w - now) <= band:
                q[j] = 0.0
                continue
            q[j] = w * equity / p[j] - h[j]
        else:
            q[j] = x * (max_trade_fraction * equity) / p[j]
            exit_all = q[j] < 0.0 and -q[j] >= h[j] > 0.0
        if not exit_all and abs(q[j]) * p[j] < min_frac * max(equity, 0.0):
            q[j] = 0.0


@inline
def no_short_row(q: np.ndarray, h: np.ndarray) -> None:
    """In place: sells capped at the holding (no short positions), one account."""
    for j in range(q.shape[0]):
        q[j] = max(q[j], -max(h[j], 0.0))


@inline
def lot_rounding_row(q: np.ndarray, h: np.ndarray, lot: np.ndarray) -> None:
    """In place: orders rounded to the lot size (a sell near the whole holding closes it), one account."""
    for j in range(q.shape[0]):
        exit_level = h[j] - 0.5 * lot[j] if h[j] > 0.0 else math.inf
        q[j] = -h[j] if -q[j] >= exit_level else math.trunc(q[j] / lot[j]) * lot[j]


@inline
def min_order_row(q: np.ndarray, p: np.ndarray, mov: float) -> None:
    """In place: orders worth less than ``mov`` dropped, one account."""
    for j in range(q.shape[0]):
        q[j] = q[j] if abs(q[j]) * p[j] >= mov else 0.0


@inline
def cash_reserve_row(
    q: np.ndarray,
    p: np.ndarray,
    h: np.ndarray,
    bu: np.ndarray,
    su: np.ndarray,
    lot: np.ndarray,
    cash: float,
    equity: float,
    mov: float,
    reserve: float,
    band: float,
) -> None:
    """rules.CashReserve for one account. Buying a unit changes cash - r x equity by -(bu - r (bu - p)),
    selling one by +(su + r (p - su)). Hysteresis: buys stop at r = reserve + band; holdings are sold only
    when cash fell below r = reserve (price moves), and then back to reserve + band."""
    n = q.shape[0]
    hard = cash - reserve * equity
    r = reserve + band
    room = cash - r * equity
    need = 0.0
    for j in range(n):
        hard -= min(q[j], 0.0) * (su[j] + reserve * (p[j] - su[j]))
        room -= min(q[j], 0.0) * (su[j] + r * (p[j] - su[j]))
        need += max(q[j], 0.0) * (bu[j] - r * (bu[j] - p[j]))
    hard -= EPS * (abs(equity) + 1.0)
    room -= EPS * (abs(equity) + 1.0)
    if need <= room:
        return
    if room < 0.0 and hard >= 0.0:  # inside the band: no buys, nothing forced
        for j in range(n):
            q[j] = min(q[j], 0.0)
        return
    if room < 0.0:
        # Prices of the holdings rose: no buys, and every non-dust holding is sold pro rata so that the
        # extra proceeds cover the shortfall: fraction = -room / sum(held x per_sell).
        gain = 0.0
        for j in range(n):
            if h[j] * p[j] >= mov:
                gain += (h[j] + min(q[j], 0.0)) * (su[j] + r * (p[j] - su[j]))
        frac = min(-room / (gain if gain > 0.0 else 1.0) * (1.0 + EPS), 1.0)
        for j in range(n):
            sold = -min(q[j], 0.0)
            held = h[j] - sold if h[j] * p[j] >= mov else 0.0
            q[j] = -legal_sell(sold + held * frac, h[j], p[j], lot[j], mov)
        return
    scale = min(room / (need if need > 0.0 else 1.0), 1.0)
    for j in range(n):
        q[j] = legal_buy(q[j] * scale, p[j], lot[j], mov) if q[j] > 0.0 else q[j]


@inline
def _capped(cap: float, equity: float) -> float:
    """cap x equity (less the safety margin): an asset's position limit is this / its price."""
    return (cap * (1.0 - EPS)) * max(equity, 0.0)


@inline
def _cap_cut(
    q: np.ndarray,
    p: np.ndarray,
    h: np.ndarray,
    lot: np.ndarray,
    mov: float,
    cap: float,
    allow_short: bool,
    equity: float,
    out: np.ndarray,
) -> None:
    """Orders cut so that every position ends within +-cap x ``equity``, in whole lots."""
    capped = _capped(cap, equity)
    for j in range(q.shape[0]):
        limit = capped / p[j]
        pos = h[j] + q[j]
        out[j] = q[j]
        if pos > limit:
            room = limit - h[j]  # > 0: the buy that reaches the cap; < 0: the sell that brings it back
            if room >= 0.0:
                out[j] = legal_buy(room, p[j], lot[j], mov)
            else:
                out[j] = -legal_sell(-room, h[j], p[j], lot[j], mov)
        elif allow_short and pos < -limit:  # the mirror image
            room = limit + h[j]  # > 0: the short sale that reaches the cap; < 0: the cover back to it
            if room >= 0.0:
                out[j] = -legal_buy(room, p[j], lot[j], mov)
            else:
                out[j] = legal_sell(-room, max(-h[j], 0.0), p[j], lot[j], mov)


@inline
def _cap_solve(
    q: np.ndarray,
    p: np.ndarray,
    h: np.ndarray,
    bu: np.ndarray,
    su: np.ndarray,
    s: np.ndarray,
    lot: np.ndarray,
    equity: float,
    fee: float,
    mov: float,
    cap: float,
    allow_short: bool,
    first: float,
) -> float:
    """E with E = equity before - costs of the uncut orders - costs of moving each cut asset to
    side x cap x E / p (whether a cut buys or sells is read at ``first``, the equity the uncut orders
    settle to). Linear in E: E (1 + cap sum(c side / p)) = equity - uncut costs + sum(c h), c = +cost per
    unit bought for a cut that buys, -cost per unit sold for one that sells. A forced cut (the position is
    already beyond the cap) is rounded up by up to a lot, and to the minimum order value: room is left
    for what that costs."""
    slope, numer, rounding = 1.0, equity, 0.0
    capped = _capped(cap, first)
    for j in range(q.shape[0]):
        limit = capped / p[j]
        pos = h[j] + q[j]
        side = 1.0 if pos > limit else (-1.0 if allow_short and pos < -limit else 0.0)
        if side == 0.0:
            if q[j] > 0.0:
                numer -= q[j] * (bu[j] - p[j])
            elif q[j] < 0.0:
                numer += q[j] * (p[j] - su[j])
            continue
        value = h[j] * p[j]
        c = bu[j] - p[j] if side * (cap * first) > value else -(p[j] - su[j])
        slope += cap * (c * side / p[j])
        numer += c * h[j]
        beyond = side * value - cap * first
        if beyond > 0.0:
            extra = 2.0 * lot[j] * p[j] + (mov if beyond < mov else 0.0)
            rounding += max_cost_rate(s[j], fee) * extra
    return numer / slope - rounding


@inline
def _cap_lower_bound(
    q: np.ndarray, p: np.ndarray, h: np.ndarray, s: np.ndarray, equity: float, fee: float
) -> float:
    """Equity after fills that any cut of ``q`` reaches: a cut never trades more than max(|q|, |h|) of an
    asset, so costs are at most the max cost rate on |q| + |h|."""
    turnover = 0.0
    for j in range(q.shape[0]):
        turnover += max_cost_rate(s[j], fee) * (abs(q[j]) + abs(h[j])) * p[j]
    return max(equity * (1.0 - EPS) - turnover * (1.0 + 1e-9), 0.0)


@inline
def position_cap_row(
    q: np.ndarray,
    p: np.ndarray,
    h: np.ndarray,
    bu: np.ndarray,
    su: np.ndarray,
    s: np.ndarray,
    lot: np.ndarray,
    equity: float,
    fee: float,
    mov: float,
    cap: float,
    allow_short: bool,
    out: np.ndarray,
) -> None:
    """rules.PositionCap for one account: solve for the equity the cut orders settle to, cut there, check
    the settled equity, and lower the estimate (by a margin that covers rounding, then to a bound that
    always holds) until it does. ``out``: scratch space of A elements."""
    n = q.shape[0]
    first = equity - cost_of(q, p, bu, su)
    capped = _capped(cap, first)
    beyond = False
    for j in range(n):
        limit = capped / p[j]
        pos = h[j] + q[j]
        beyond |= (pos > limit) | (allow_short & (pos < -limit))
    if not beyond:
        return
    estimate = _cap_solve(q, p, h, bu, su, s, lot, equity, fee, mov, cap, allow_short, first)
    for attempt in range(3):
        _cap_cut(q, p, h, lot, mov, cap, allow_short, estimate, out)
        settled = equity - cost_of(out, p, bu, su)
        if not settled < estimate * (1.0 - 0.1 * EPS) or attempt == 2:
            break
        if attempt == 0:
            # Cutting deeper trades at most cap x n x (the extra cut in equity) more notional, plus one lot
            # and one minimum order per asset of rounding, each at the max cost rate.
            k, slack = 0.0, 0.0
            for j in range(n):
                k = max(k, max_cost_rate(s[j], fee))
                slack += mov + 2.0 * lot[j] * p[j]
            margin = k * (cap * n * (estimate - settled) + slack) / max(1.0 - k * cap * n, 0.5)
            estimate = max(settled - margin, _cap_lower_bound(q, p, h, s, equity, fee))
        else:
            estimate = _cap_lower_bound(q, p, h, s, equity, fee)
    q[:] = out
