"""Reading coinbase-advanced-py answers: the SDK's typed response objects as plain dicts (which errors
are transient is the one rule in :mod:`cappuccino_core.common.transient`)."""

from __future__ import annotations

from typing import Any


def _plain(x: Any) -> Any:
    """The SDK's response objects (attributes, nested typed objects) as plain dicts and lists."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if hasattr(x, "__dict__") and not isinstance(x, type):
        return {k: _plain(v) for k, v in vars(x).items() if not k.startswith("_")}
    return x


def _d(resp: Any) -> dict[str, Any]:
    out = _plain(resp)
    if not isinstance(out, dict):
        raise TypeError(f"unexpected Coinbase response {type(resp).__name__}: {resp!r}")
    return out
