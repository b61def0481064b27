"""Target URLs are secrets: where they come from, and how they are kept out of every log line.

:func:`env_resolver` reads a target's URL from its ``url_env`` environment variable (the flow layer adds
Prefect Secret blocks, see ``tasks/notify.py``). :class:`MaskSecrets` is a logging filter that replaces
every known secret (the URL and each of its parts) with ``***``; :func:`mask` hides any URL in a string.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from cappuccino_core.config.notify import TargetConfig

SecretResolver = Callable[[TargetConfig], str | None]
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://[^\s'\"]+")
MASK = "***"


def default_desktop_url() -> str:
    """The apprise desktop URL of this platform (Linux: D-Bus notifications)."""
    if sys.platform == "darwin":
        return "macosx://"
    if sys.platform.startswith("win"):
        return "windows://"
    return "dbus://"


def env_resolver(target: TargetConfig) -> str | None:
    """The target's URL from its ``url_env`` variable; a desktop target without one: the platform's."""
    if target.url_env:
        value = os.environ.get(target.url_env, "").strip()
        if value:
            return value
    if target.kind == "desktop" and not target.url_env and not target.secret_block:
        return default_desktop_url()
    return None


def mask(text: str) -> str:
    """``text`` with every URL reduced to its scheme: ``discord://***``."""
    return _URL.sub(lambda m: f"{m.group(1)}://{MASK}", text)


def secret_parts(url: str) -> set[str]:
    """The URL and its parts long enough to identify it (user, password, host, path segments, query)."""
    parts = {url}
    try:
        u = urlsplit(url)
    except ValueError:
        return parts
    pieces = [u.netloc, u.username or "", u.password or "", u.hostname or "", u.query, *u.path.split("/")]
    parts.update(p for p in pieces if len(p) >= 6)
    return parts


class MaskSecrets(logging.Filter):
    """Replaces known secrets in a record's message (formatted with its arguments) with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, url: str) -> None:
        """Remember ``url`` and its identifying parts as secrets to mask."""
        self.secrets |= secret_parts(url)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret (longest first) and every URL masked."""
        for s in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(s, MASK)
        return mask(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        record.msg, record.args = self.scrub(msg), None
        return True
