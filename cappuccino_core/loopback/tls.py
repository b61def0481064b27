"""A throwaway self-signed certificate for the loopback HTTPS server (Coinbase's SDK only speaks HTTPS).

``generate_self_signed()`` makes an EC P-256 key and a certificate valid for ``IP:127.0.0.1`` and
``DNS:localhost`` (subject alternative names, which is what TLS clients check), usable both as the server
certificate and as the CA file a client trusts (``requests``: ``session.verify = cert_path``). It carries the
extensions strict verifiers insist on (basic constraints, key usage, subject/authority key ids), so it passes
with ``VERIFY_X509_STRICT`` as set by Python 3.13+ and urllib3.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of a PEM certificate and its unencrypted PEM key; ``owned_dir`` is removed by ``cleanup``."""

    cert_path: Path
    key_path: Path
    owned_dir: Path | None = None

    def server_context(self) -> ssl.SSLContext:
        """A server SSL context (TLS 1.2 or later) with this certificate and key."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile=str(self.cert_path), keyfile=str(self.key_path))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this certificate."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def cleanup(self) -> None:
        """Delete the generated files when this material owns their directory."""
        if self.owned_dir is not None:
            shutil.rmtree(self.owned_dir, ignore_errors=True)


def generate_self_signed(
    directory: str | Path | None = None,
    *,
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    valid_days: int = 7,
) -> TlsMaterial:
    """Write ``cert.pem`` and ``key.pem`` into ``directory`` (None: a fresh temp dir owned by the result)."""
    owned = None
    if directory is None:
        directory = owned = Path(tempfile.mkdtemp(prefix="cappuccino-tls-"))
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "cappuccino loopback"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cappuccino tests"),
        ]
    )
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return TlsMaterial(cert_path, key_path, owned)
