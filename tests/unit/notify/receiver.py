"""A loopback HTTP receiver on 127.0.0.1 that records what apprise's ``json://`` target posts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def titles(self) -> list[str]:
        return [r["body"].get("title", "") for r in self.received]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Start the receiver; every POST body (JSON) lands in ``Receiver.received`` with its path."""
    box: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(n)
            box.append({"path": self.path, "body": json.loads(raw or b"{}")})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    th.start()
    try:
        rec = Receiver(srv.server_address[1])
        rec.received = box
        yield rec
    finally:
        srv.shutdown()
        srv.server_close()
