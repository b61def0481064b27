"""The loopback server core: a threaded HTTP(S) server on 127.0.0.1, a router, fault injection, a request log.

Nothing here knows a venue. Endpoints are registered on a :class:`Router` as ``(method, path regex) ->
handler`` by the venue packages (``cappuccino_core.venues.<name>.loopback_marketdata`` and
``loopback_trading``), so adding an API means adding routes, not editing the server::

    router = Router()
    register_alpaca_marketdata(router, market)
    with LoopbackServer(router) as srv:          # ephemeral port, plain HTTP
        client = CryptoHistoricalDataClient(url_override=srv.url)
        srv.faults.add("alpaca.bars", Fault.status(429, retry_after=0), times=2)
        ...
        assert srv.log.count(route="alpaca.bars") == 3

A handler takes a :class:`Request` and returns a :class:`Response` (JSON body) or raises :class:`HTTPError`.
Every response is JSON (a 204 has no body); errors use the route's ``error_body`` so each venue's clients see
their own error shape. Faults are queued per route name (or ``"*"`` for any route) and consumed one per
request: an HTTP status (429 with Retry-After, 5xx), a delay before answering, a dropped connection (no
response at all), or a delay then a drop (a timeout after accept).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cappuccino_core.loopback.faults import FaultPlan, LoggedRequest, RequestLog
from cappuccino_core.loopback.tls import TlsMaterial, generate_self_signed

log = logging.getLogger(__name__)

ErrorBody = Callable[[int, str], Any]


def default_error_body(status: int, message: str) -> dict[str, Any]:
    """A generic JSON error body (``code`` and ``message``)."""
    return {"code": status, "message": message}


class HTTPError(Exception):
    """Raised by a handler to answer with ``status`` and a JSON error body (the route's error shape unless
    ``body`` is given)."""

    def __init__(self, status: int, message: str, *, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body
        self.headers = headers or {}


@dataclass
class Request:
    """One HTTP request as a route handler sees it (method, path, query, headers, body, path parameters)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    route: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (``a=1&a=2``) or a comma-separated one."""
        out: list[str] = []
        for v in self.query.get(name, []):
            out.extend(x for x in v.split(",") if x != "")
        return out

    def json(self) -> Any:
        """The body parsed as JSON, None when empty (HTTPError 400 when it is not JSON)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HTTPError(400, f"request body is not JSON: {exc}") from None


@dataclass
class Response:
    """A handler's answer: status, a JSON-able body and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response | dict[str, Any] | list[Any]]


@dataclass(frozen=True)
class Route:
    """One route: method, path pattern, handler and the name faults and logs use."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    error_body: ErrorBody = default_error_body


class Router:
    """``(method, path regex) -> handler``; the regex must match the whole path; named groups become
    ``Request.params``. Routes are tried in registration order."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        name: str | None = None,
        error_body: ErrorBody | None = None,
    ) -> Route:
        """Register ``handler`` for ``method`` on ``pattern`` (a regex with named groups)."""
        route = Route(
            method.upper(),
            re.compile(pattern),
            handler,
            name or f"{method.upper()} {pattern}",
            error_body or default_error_body,
        )
        if any(r.name == route.name for r in self.routes):
            raise ValueError(f"route name {route.name!r} already registered")
        self.routes.append(route)
        return route

    def route(self, method: str, pattern: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn, **kw)
            return fn

        return deco

    def names(self) -> list[str]:
        """Route names, in registration order."""
        return [r.name for r in self.routes]

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route matching ``method`` and ``path`` and its path parameters; HTTPError 404 (no path) or 405
        (path, other method) otherwise."""
        allowed = []
        for r in self.routes:
            m = r.pattern.fullmatch(path)
            if m is None:
                continue
            if r.method == method.upper():
                return r, {k: v for k, v in m.groupdict().items() if v is not None}
            allowed.append(r.method)
        if allowed:
            raise HTTPError(405, f"method {method} not allowed on {path} (allowed: {', '.join(allowed)})")
        raise HTTPError(404, f"no route for {method} {path}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cappuccino-loopback/1"
    timeout = 30  # idle keep-alive connections are closed after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            try:
                n = int(length)
            except ValueError:
                return b""
            return self.rfile.read(n) if n > 0 else b""
        return b""

    def _dispatch(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        body = self._read_body()
        entry = LoggedRequest(self.command, path, "", query, at=time.time())
        app.log.record(entry)
        error_body: ErrorBody = default_error_body
        try:
            route, params = app.router.resolve(self.command, path)
            entry.route, error_body = route.name, route.error_body
            fault = app.faults.next(route.name)
            if fault is not None:
                entry.fault = fault.kind
                if fault.delay_s > 0 and app.stopping.wait(fault.delay_s):
                    self.close_connection = True
                    entry.done = True
                    return
                if fault.kind == "drop":
                    self.close_connection = True
                    entry.done = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault.kind == "status":
                    raise HTTPError(fault.status, fault.message, body=fault.body, headers=dict(fault.headers))
            req = Request(self.command, path, query, self.headers, body, params, route.name)
            result = route.handler(req)
            resp = result if isinstance(result, Response) else Response(200, result)
        except HTTPError as exc:
            payload = exc.body if exc.body is not None else error_body(exc.status, exc.message)
            resp = Response(exc.status, payload, exc.headers)
        except Exception as exc:  # a handler bug: answer 500 with the reason, keep serving
            log.exception("loopback handler %s failed", entry.route or path)
            resp = Response(500, error_body(500, f"loopback handler error: {type(exc).__name__}: {exc}"))
        entry.status = resp.status
        entry.done = True
        self._send(resp)

    def _send(self, resp: Response) -> None:
        body = resp.body if resp.body is not None else {}
        data = b"" if resp.status == 204 else json.dumps(body, separators=(",", ":")).encode()
        try:
            self.send_response(resp.status, _reason(resp.status))
            if resp.status != 204:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if data:
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError) as exc:
            log.debug("client went away before the response was sent: %s", exc)
            self.close_connection = True


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False

    def __init__(self, addr: tuple[str, int], app: LoopbackServer, ssl_ctx: ssl.SSLContext | None) -> None:
        self.app = app
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn = request
        with contextlib.suppress(OSError):  # headers and body go out as separate writes: no Nagle delay
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_ctx is not None:  # handshake here, in the request's thread, not in the accept loop
            try:
                request.settimeout(10)
                conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                with contextlib.suppress(OSError):
                    request.close()
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        finally:
            if conn is not request:
                with contextlib.suppress(OSError):
                    conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("loopback connection from %s ended with an error", client_address, exc_info=True)


class LoopbackServer:
    """A threaded HTTP (or HTTPS when ``tls`` is given or True) server on 127.0.0.1 with an ephemeral port.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``url`` is ``scheme://127.0.0.1:PORT``
    (Alpaca's ``url_override``), ``host_port`` is ``127.0.0.1:PORT`` (Coinbase's ``base_url``), ``cert_path``
    the certificate clients must trust when TLS is on."""

    def __init__(
        self,
        router: Router,
        *,
        tls: TlsMaterial | bool | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "loopback",
    ) -> None:
        self.router = router
        self.host = host
        self.name = name
        self.faults = FaultPlan()
        self.log = RequestLog()
        self.stopping = threading.Event()
        self._requested_port = port
        self._tls_owned = tls is True
        self.tls: TlsMaterial | None = generate_self_signed() if tls is True else (tls or None)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.exchange: Any = (
            None  # the simulated account behind a venue's trading routes (keys register there)
        )

    # ------------------------------------------------------------ lifecycle
    def start(self) -> LoopbackServer:
        """Start serving on a background thread (idempotent); returns self."""
        if self._server is not None:
            return self
        ctx = self.tls.server_context() if self.tls else None
        self.stopping.clear()
        self._server = _Server((self.host, self._requested_port), self, ctx)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        log.info("%s listening on %s", self.name, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._server is None:
            return
        self.stopping.set()  # wakes delayed handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        if self._tls_owned and self.tls is not None:
            self.tls.cleanup()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        """The bound port (RuntimeError when not running)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        """``https`` with TLS material, else ``http``."""
        return "https" if self.tls else "http"

    @property
    def host_port(self) -> str:
        """``host:port`` of the running server."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"{self.scheme}://{self.host_port}"

    @property
    def cert_path(self) -> Path | None:
        """The certificate a client must trust, None without TLS."""
        return self.tls.cert_path if self.tls else None
