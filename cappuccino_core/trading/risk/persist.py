"""The risk manager's state as plain JSON, so a restarted trader carries on where the last one stopped.

What is kept: everything in :class:`~cappuccino_core.trading.risk.base.AccountState` (entry prices, highs,
holdings last seen, initial/peak/day-opening equity, UTC day and hour, trades today, buys this hour, loss
streak) and every array a stateful rule keeps (prop-firm day halt and permanent halt, portfolio-stop peak
and halt, daily-loss halt, cooldown end, take-profit marks, ...), plus the last bar observed.

Per-asset arrays are stored with the asset names and restored by name, so a changed asset list keeps what
it can (new assets start fresh). Non-finite floats are written as null (strict JSON, as PostgreSQL wants)
and read back as NaN; floats round-trip exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cappuccino_core.trading.risk.base import AccountState
from cappuccino_core.trading.risk.manager import RiskManager

VERSION = 1
_SKIP = {"n", "a"}


def _enc(x: np.ndarray) -> dict[str, Any]:
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        obj = x.astype(object)
        obj[~np.isfinite(x)] = None
        data = obj.tolist()
    else:
        data = x.tolist()
    return {"dtype": x.dtype.str, "shape": list(x.shape), "data": data}


def _dec(d: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(d["dtype"])
    if dtype.kind == "f":
        raw = np.array(d["data"], dtype=object).reshape(d["shape"])
        return np.where(raw == None, np.nan, raw).astype(dtype)  # noqa: E711 - elementwise None test
    return np.array(d["data"], dtype=dtype).reshape(d["shape"])


def _arrays(obj: Any) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray) and k not in _SKIP}


def snapshot(manager: RiskManager, assets: tuple[str, ...]) -> dict[str, Any] | None:
    """The manager's state (None before its first bar)."""
    s = manager.state
    if s is None:
        return None
    rules = {r.name: {k: _enc(v) for k, v in _arrays(r).items()} for r in manager.stateful}
    last = manager._last_time
    return {
        "version": VERSION,
        "n": s.n,
        "assets": list(assets),
        "state": {k: _enc(v) for k, v in _arrays(s).items()},
        "rules": rules,
        "last_time": None if last is None else [int(t) for t in last],
    }


def _put(target: np.ndarray, saved: np.ndarray, same: bool, index: list[tuple[int, int]]) -> np.ndarray:
    """``saved`` into an array shaped like ``target``: per-asset columns by name, the rest as is."""
    if target.ndim == 2 and saved.ndim == 2 and not same:
        out = target.copy()
        for new_j, old_j in index:
            out[:, new_j] = saved[:, old_j]
        return out
    return saved.astype(target.dtype) if saved.shape == target.shape else target


def restore(manager: RiskManager, data: dict[str, Any] | None, assets: tuple[str, ...], n: int = 1) -> None:
    """Build the manager's state for ``n`` accounts x ``assets`` and fill it from ``data`` (a snapshot; None
    or another version: fresh state)."""
    state = AccountState(n, len(assets))
    manager.state = state
    for r in manager.stateful:
        r.bind(state)
    manager._last_time = None
    if not data or data.get("version") != VERSION or int(data.get("n", -1)) != n:
        return
    old = list(data.get("assets", []))
    index = [(j, old.index(a)) for j, a in enumerate(assets) if a in old]
    same = old == list(assets)
    for k, v in data.get("state", {}).items():
        if hasattr(state, k):
            setattr(state, k, _put(getattr(state, k), _dec(v), same, index))
    for r in manager.stateful:
        for k, v in data.get("rules", {}).get(r.name, {}).items():
            cur = getattr(r, k, None)
            if isinstance(cur, np.ndarray):
                setattr(r, k, _put(cur, _dec(v), same, index))
    last = data.get("last_time")
    manager._last_time = None if last is None else np.array(last, dtype=np.int64)
