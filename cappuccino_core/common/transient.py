"""One rule for which failures of a venue call are transient (worth retrying), for market data and brokers.

:func:`classify` reads an exception as one :class:`Failure`; :func:`is_transient` is its yes/no. Transient:

- HTTP 408, 425, 429 and every 5xx, read from the ``requests`` response the error carries
  (``requests.HTTPError`` as raised by coinbase-advanced-py; ``alpaca.common.exceptions.APIError`` keeps the
  ``requests`` error, and so the response), or, for an ``HTTPError`` raised without a response, from the
  status that starts its message (``"503 Server Error: ..."``);
- timeouts and dropped connections (``requests.Timeout``, ``requests.ConnectionError``, a truncated or
  undecodable body, the built-in ``TimeoutError`` and ``ConnectionError``).

Everything else is not: a client error (400, 401, 403, 404, 422, ...) that retrying cannot fix, and an unknown
exception type (a bug). Details carry the status and the response text, never headers, so credentials cannot
leak into them.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_MAX_DETAIL = 300


@dataclass(frozen=True)
class Failure:
    """What went wrong in one attempt: whether to retry, the HTTP status and the server's Retry-After."""

    retryable: bool
    status: int | None
    retry_after_s: float | None
    detail: str


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying: 408, 425, 429 and every 5xx."""
    return status in RETRY_STATUSES or status >= 500


def response_of(exc: BaseException) -> requests.Response | None:
    """The ``requests`` response an exception carries (directly, or inside alpaca's APIError), if any."""
    resp = getattr(exc, "response", None)
    if isinstance(resp, requests.Response):
        return resp
    http_error = getattr(exc, "_http_error", None)  # alpaca APIError keeps the requests error here
    resp = getattr(http_error, "response", None)
    return resp if isinstance(resp, requests.Response) else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def _from_response(resp: requests.Response) -> Failure:
    status = resp.status_code
    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    try:
        body = resp.text
    except Exception:  # pragma: no cover - body unreadable
        body = ""
    detail = f"HTTP {status} {resp.reason or ''}".rstrip() + (f": {_short(body)}" if body else "")
    return Failure(retryable_status(status), status, retry_after, detail)


def classify(exc: BaseException) -> Failure:
    """Decide whether ``exc`` is transient. Unknown exception types are not retried (they are bugs)."""
    resp = response_of(exc)
    if resp is not None and resp.status_code >= 400:
        return _from_response(resp)
    if isinstance(exc, requests.HTTPError):  # raised without a response: the status starts the message
        head = str(exc).split(" ", 1)[0]
        if head.isdigit() and int(head) >= 400:
            status = int(head)
            return Failure(retryable_status(status), status, None, f"HTTP {_short(str(exc))}")
    if isinstance(exc, requests.Timeout):
        return Failure(True, None, None, f"timeout: {_short(str(exc))}")
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return Failure(True, None, None, f"connection error: {_short(str(exc))}")
    if isinstance(exc, requests.exceptions.ContentDecodingError | requests.exceptions.JSONDecodeError):
        return Failure(True, None, None, f"unreadable response: {_short(str(exc))}")
    if isinstance(exc, TimeoutError | ConnectionError):
        return Failure(True, None, None, f"{type(exc).__name__}: {_short(str(exc))}")
    return Failure(False, None, None, f"{type(exc).__name__}: {_short(str(exc))}")


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the call that raised ``exc`` may succeed (see the module docstring)."""
    return classify(exc).retryable
