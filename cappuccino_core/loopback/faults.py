"""Fault injection and the request log of the loopback server (see :mod:`.server`)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build with the class methods."""

    kind: str  # "status" | "delay" | "drop"
    status: int = 0
    message: str = ""
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None

    @classmethod
    def http(
        cls, status: int, message: str | None = None, *, retry_after: float | None = None, body: Any = None
    ) -> Fault:
        """Answer ``status`` with a JSON error body (the route's shape), optionally a Retry-After header."""
        headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
        return cls("status", status, message or f"injected fault: HTTP {status}", 0.0, headers, body)

    @classmethod
    def rate_limit(cls, retry_after: float | None = 0) -> Fault:
        """An HTTP 429 with ``Retry-After`` (None: no header)."""
        return cls.http(429, "too many requests (injected)", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """An HTTP 5xx answer."""
        return cls.http(status)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds`` then answer normally (a client with a shorter timeout times out)."""
        return cls("delay", delay_s=seconds)

    @classmethod
    def drop(cls, after_s: float = 0.0) -> Fault:
        """Close the connection without answering, after ``after_s`` seconds (a timeout after accept)."""
        return cls("drop", delay_s=after_s)


class FaultPlan:
    """Queues of faults per route name (``"*"``: any route). A request consumes the first queued fault of its
    route, else of ``"*"``. Thread-safe."""

    ANY = "*"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, route: str, fault: Fault, times: int = 1) -> FaultPlan:
        """Queue ``fault`` for the next ``times`` requests to ``route`` (``ANY``: every route); returns the
        plan."""
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        with self._lock:
            self._queues.setdefault(route, deque()).extend([fault] * times)
        return self

    def next(self, route: str) -> Fault | None:
        """The fault for this request to ``route`` (its own queue first, then ``ANY``), None when none is
        queued."""
        with self._lock:
            for key in (route, self.ANY):
                q = self._queues.get(key)
                if q:
                    return q.popleft()
        return None

    def pending(self, route: str | None = None) -> int:
        """Faults still queued for ``route`` (None: all routes)."""
        with self._lock:
            if route is not None:
                return len(self._queues.get(route, ()))
            return sum(len(q) for q in self._queues.values())

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queues.clear()


@dataclass
class LoggedRequest:
    """One request, logged when it arrives; ``status`` is filled in when it is answered (None while pending
    or when the connection was dropped), ``fault`` names the injected fault kind, if any."""

    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    status: int | None = None
    fault: str | None = None
    at: float = 0.0
    done: bool = False


class RequestLog:
    """Every request the server saw, in arrival order (logged on arrival, so a request still being delayed
    counts); counts per path/route/status. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def record(self, entry: LoggedRequest) -> None:
        """Append one request."""
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LoggedRequest]:
        """A copy of the requests so far, oldest first."""
        with self._lock:
            return list(self._entries)

    def count(
        self,
        path: str | None = None,
        *,
        route: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many logged requests match the given path, route, method and status (None: any)."""
        return sum(
            1
            for e in self.entries
            if (path is None or e.path == path)
            and (route is None or e.route == route)
            and (method is None or e.method == method.upper())
            and (status is None or e.status == status)
        )

    def counts(self) -> dict[str, int]:
        """Requests per path."""
        return dict(Counter(e.path for e in self.entries))

    def clear(self) -> None:
        """Forget the requests so far."""
        with self._lock:
            self._entries.clear()
