"""Reading coinbase-advanced-py answers: which errors are transient, and the SDK's typed response objects
as plain dicts."""

from __future__ import annotations

from typing import Any

import requests


def transient(exc: BaseException) -> bool:
    """True for an error worth retrying: a timeout, a dropped connection, HTTP 429 or 5xx."""
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return True
    if isinstance(exc, requests.HTTPError):
        code = exc.response.status_code if exc.response is not None else None
        if code is None:  # the SDK raises HTTPError without a response: read the code from the message
            head = str(exc).split(" ", 1)[0]
            code = int(head) if head.isdigit() else None
        return code is not None and (code == 429 or code >= 500)
    return False


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
