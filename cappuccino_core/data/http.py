"""One retry policy for every market-data call: exponential backoff on 429/5xx/timeouts/connection errors.

``RetryPolicy.call(fn, source=..., symbol=...)`` runs ``fn`` and retries it when the failure is transient,
by the one rule the brokers use too (:mod:`cappuccino_core.common.transient`):

- HTTP 408, 425, 429 and every 5xx (from ``requests.HTTPError`` as raised by coinbase-advanced-py, or from
  ``alpaca.common.exceptions.APIError``, which carries the ``requests`` error and so the response);
- timeouts and connection errors (``requests.Timeout``, ``requests.ConnectionError``, a truncated body).

The wait before retry ``k`` (0-based) is ``backoff_s * 2**k`` capped at ``max_backoff_s``; a ``Retry-After``
header (seconds or an HTTP date) replaces it when it asks for longer, capped at ``max_retry_after_s``.
After ``retries`` retries the last error is wrapped in :class:`SourceUnavailable`, which names the source, the
symbol, the number of attempts and the last error. A non-transient error (400, 401, 403, 404, 422, ...) is not
retried: it raises :class:`SourceRejected` at once. Messages carry status and response text, never headers, so
credentials cannot leak into them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from cappuccino_core.common.transient import RETRY_STATUSES, Failure, classify, parse_retry_after

if TYPE_CHECKING:
    from cappuccino_core.config.data import DataConfig

log = logging.getLogger(__name__)
T = TypeVar("T")


class SourceError(RuntimeError):
    """A market-data source failed; names the source, the symbol and the last error."""

    def __init__(self, source: str, symbol: str, message: str, *, status: int | None = None) -> None:
        self.source = source
        self.symbol = symbol
        self.status = status
        super().__init__(message)


class SourceUnavailable(SourceError):
    """The source kept failing with transient errors after every retry."""


class SourceRejected(SourceError):
    """The source refused the request (a client error that retrying cannot fix)."""


@dataclass
class RetryPolicy:
    """Retries, backoff and per-request timeout for one source. Build it from configuration with
    :meth:`from_config`; ``sleep`` is injectable so tests run without waiting."""

    retries: int = 5
    backoff_s: float = 0.5
    timeout_s: float = 10.0
    max_backoff_s: float = 60.0
    max_retry_after_s: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff must be >= 0")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")

    @classmethod
    def from_config(cls, cfg: DataConfig, **overrides: Any) -> RetryPolicy:
        """The policy from ``[data]``: ``http_retries``, ``http_backoff_s``, ``http_timeout_s``."""
        return cls(
            retries=cfg.http_retries, backoff_s=cfg.http_backoff_s, timeout_s=cfg.http_timeout_s, **overrides
        )

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        wait = min(self.backoff_s * (2**attempt), self.max_backoff_s)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_retry_after_s))
        return wait

    def call(self, fn: Callable[[], T], *, source: str, symbol: str, what: str = "request") -> T:
        """Run ``fn`` with retries; raise SourceUnavailable (transient, exhausted) or SourceRejected."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return fn()
            except SourceError:
                raise
            except Exception as exc:
                failure = classify(exc)
                if not failure.retryable:
                    if failure.status is None:
                        raise  # a bug or an unexpected type: keep the original traceback
                    raise SourceRejected(
                        source,
                        symbol,
                        f"{source} rejected the {what} for {symbol}: {failure.detail}",
                        status=failure.status,
                    ) from exc
                if attempt == attempts - 1:
                    raise SourceUnavailable(
                        source,
                        symbol,
                        f"{source} unavailable for {symbol}: {what} failed {attempts} time(s) "
                        f"(retries={self.retries}); last error: {failure.detail}",
                        status=failure.status,
                    ) from exc
                wait = self.delay(attempt, failure.retry_after_s)
                log.warning(
                    "%s %s for %s failed (%s); retry %d/%d in %.2fs",
                    source,
                    what,
                    symbol,
                    failure.detail,
                    attempt + 1,
                    self.retries,
                    wait,
                )
                if wait > 0:
                    self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    """An adapter that applies a default timeout to requests sent without one."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        return super().send(request, **kwargs)


def apply_timeout(session: requests.Session, timeout_s: float) -> None:
    """Give every request of ``session`` a timeout (alpaca-py sends its requests without one)."""
    adapter = _TimeoutAdapter(timeout_s)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


__all__ = [
    "RETRY_STATUSES",
    "Failure",
    "RetryPolicy",
    "SourceError",
    "SourceRejected",
    "SourceUnavailable",
    "apply_timeout",
    "classify",
    "parse_retry_after",
]
