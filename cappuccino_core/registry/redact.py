"""Keep secrets out of MLflow: every param, tag and JSON artifact the registry writes passes through here.

Two rules:

* a key whose name looks like a secret (``secret``, ``password``, ``token``, ``api_key``, ...) is dropped;
* a value that contains the value of a secret-looking environment variable (``ALPACA_SECRET_KEY``,
  ``COINBASE_API_SECRET``, ``PGPASSWORD``, ...) or the password part of a URL (``postgresql://u:pw@h``)
  is redacted.

The environment is read at call time, so a secret set after import is still caught.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Names of keys / environment variables that hold secrets.
_SECRET_NAME = re.compile(
    r"(secret|passw|passphrase|token|credential|private|cookie|authori[sz]ation"
    r"|(^|[_.-])auth($|[_.-])|api[_.-]?key|(^|[_.-])key($|[_.-]))",
    re.IGNORECASE,
)
# scheme://user:password@host -> scheme://user:[redacted]@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?P<tail>@)")
_MIN_SECRET_LEN = 6  # shorter values ("1", "true") would redact ordinary text


def is_secret_name(name: str) -> bool:
    """Whether a key or variable name looks like it holds a secret (token, password, key...)."""
    return bool(_SECRET_NAME.search(name))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-looking environment variables, longest first (so substrings redact cleanly)."""
    env = os.environ if environ is None else environ
    vals = {v for k, v in env.items() if is_secret_name(k) and v and len(v) >= _MIN_SECRET_LEN}
    return sorted(vals, key=len, reverse=True)


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with environment secrets and URL passwords replaced by ``[redacted]``."""
    out = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED + m.group("tail"), text)
    for s in secret_values() if secrets is None else secrets:
        if s in out:
            out = out.replace(s, REDACTED)
    return out


def redact_value(value: Any, secrets: list[str] | None = None) -> Any:
    """Recursively redact strings inside dicts/lists; other scalars pass through."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return redact_mapping(value, secrets)
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    return value


def redact_mapping(d: Mapping[str, Any], secrets: list[str] | None = None) -> dict[str, Any]:
    """Drop secret-named keys (at any depth) and redact secret values."""
    secrets = secret_values() if secrets is None else secrets
    return {str(k): redact_value(v, secrets) for k, v in d.items() if not is_secret_name(str(k))}


def safe_str_mapping(d: Mapping[str, Any]) -> dict[str, str]:
    """Flat ``{key: str(value)}`` for MLflow params/tags, secrets removed (the value is redacted last,
    after str(), so a secret hidden inside a container's repr is caught too)."""
    secrets = secret_values()
    out: dict[str, str] = {}
    for k, v in d.items():
        key = str(k)
        if is_secret_name(key):
            continue
        out[key] = redact_text(v if isinstance(v, str) else _to_str(v), secrets)
    return out


def _to_str(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)  # shortest round-trip form: 0.0003, not 0.00030000000000000003
    return str(v)
