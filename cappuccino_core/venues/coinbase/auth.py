"""Coinbase CDP API keys: load ES256 (EC P-256 PEM) and Ed25519 (PEM or the CDP base64 form) private keys,
sign the per-request JWT the venue expects, and verify one (the loopback exchange's check).

The JWT (as coinbase-advanced-py's ``jwt_generator`` builds it): header ``{"alg": "ES256"|"EdDSA", "kid":
<key name>, "nonce": <hex>, "typ": "JWT"}``, claims ``{"sub": <key name>, "iss": "cdp", "nbf": now, "exp":
now + 120, "uri": "<METHOD> <host[:port]><path>"}`` (no scheme, no query). The pinned SDK release (1.7.0)
signs ES256 only, and the releases that sign Ed25519 (1.8.3, 1.8.4) require ``websockets<14`` while
Prefect 3.8 requires ``websockets>=15.0.1``: :class:`SigningRESTClient` signs either key kind on the pinned
SDK."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any

import jwt
from coinbase.constants import USER_AGENT
from coinbase.rest import RESTClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
JWT_TTL_S = 120


class AuthError(ValueError):
    """A JWT the venue would refuse (401): names what is wrong, never the token or key."""


def load_private_key(secret: str) -> PrivateKey:
    """A PEM key (EC P-256 or Ed25519), or an Ed25519 key in CDP's base64 form (32 or 64 bytes)."""
    text = secret.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("Coinbase API secret is neither PEM nor base64") from None
        if len(raw) not in (32, 64):
            raise ValueError(f"Coinbase Ed25519 secret must decode to 32 or 64 bytes, got {len(raw)}")
        key = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError(f"Coinbase API keys are EC P-256 or Ed25519, got {type(key).__name__}")


def algorithm(key: PrivateKey | PublicKey) -> str:
    """The JWT algorithm for a key: ``EdDSA`` for Ed25519, else ``ES256``."""
    return "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) else "ES256"


def public_key(secret: str) -> PublicKey:
    """The public half of a private key given as :func:`load_private_key` accepts."""
    return load_private_key(secret).public_key()


def build_jwt(key_name: str, key: PrivateKey, uri: str, *, now: float | None = None) -> str:
    """The bearer token for one request to ``uri`` (``"GET host:port/api/v3/brokerage/accounts"``)."""
    t = int(time.time() if now is None else now)
    claims = {"sub": key_name, "iss": "cdp", "nbf": t, "exp": t + JWT_TTL_S, "uri": uri}
    headers = {"kid": key_name, "nonce": secrets.token_hex()}
    return jwt.encode(claims, key, algorithm=algorithm(key), headers=headers)


def verify_jwt(token: str, keys: dict[str, object], uri: str) -> str:
    """The key name of a valid token for ``uri``; raises :class:`AuthError` naming the failed check."""
    try:
        head = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(f"malformed JWT ({exc})") from None
    kid = str(head.get("kid", ""))
    pub = keys.get(kid)
    if pub is None:
        raise AuthError(f"unknown key id {kid!r}")
    if not isinstance(pub, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise AuthError(f"key {kid!r} is not registered with a public key")
    alg = algorithm(pub)
    if head.get("alg") != alg:
        raise AuthError(f"algorithm {head.get('alg')!r} does not match key {kid!r} ({alg})")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, pub, algorithms=[alg], options={"require": ["exp", "nbf", "sub", "iss", "uri"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("JWT expired") from None
    except jwt.InvalidSignatureError:
        raise AuthError("JWT signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid JWT ({exc})") from None
    if claims["sub"] != kid or claims["iss"] != "cdp":
        raise AuthError("JWT sub/iss do not match the key")
    if claims["uri"] != uri:
        raise AuthError(f"JWT uri {claims['uri']!r} is not this request ({uri!r})")
    return kid


class SigningRESTClient(RESTClient):
    """coinbase-advanced-py's RESTClient signing every request with ES256 or Ed25519 (see module doc)."""

    def __init__(self, api_key: str, api_secret: str, **kw: Any) -> None:
        super().__init__(api_key=api_key, api_secret=api_secret, **kw)
        self._signing_key = load_private_key(api_secret)

    def set_headers(self, method: str, path: str) -> dict[str, str]:
        """Request headers; authenticated clients sign a fresh JWT for this method and path."""
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        if self.is_authenticated:
            uri = f"{method} {self.base_url}{path}"
            headers["Authorization"] = f"Bearer {build_jwt(self.api_key, self._signing_key, uri)}"
        return headers
