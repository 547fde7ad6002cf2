"""A throwaway self-signed certificate for the server's TURN/TLS listener.

livekit-server refuses to start TURN/TLS without a certificate, and a client only
trusts it when told to (``RoomOptions(extra_ca_file=...)``): the certificate names the
server's IP address, so it doubles as its own certificate authority.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["write_self_signed_cert"]


def write_self_signed_cert(directory: Path, address: str) -> tuple[Path, Path]:
    """A throwaway certificate for `address` (IP subjectAltName); returns (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "turn-cert.pem"
    key_path = directory / "turn-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # The key of a throwaway certificate is still a key: readable by its owner only.
    os.chmod(key_path, 0o600)
    return cert_path, key_path
