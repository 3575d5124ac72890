"""Key material the sim writes into its directory: TLS cert, SSH keys, token, known_hosts."""

from __future__ import annotations

import datetime
import ipaddress
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SimKeys:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, "AB:CD:..."
    host_key: Path  # SSH host key (private), ed25519
    host_pub: str  # "ssh-ed25519 AAAA..."
    client_key: Path  # SSH client private key for the console
    authorized_keys: Path
    token_file: Path
    token_secret: str


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_tls(directory: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pve.sim.labconsole"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labconsole sim")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                         x509.IPAddress(ipaddress.ip_address("::1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "pve-cert.pem"
    key_path = directory / "pve-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_path,
                   key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return cert_path, key_path, fingerprint


def make_keys(directory: Path) -> SimKeys:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, fingerprint = make_tls(directory)
    host = asyncssh.generate_private_key("ssh-ed25519", comment="sim-host")
    host_path = directory / "ssh_host_ed25519_key"
    host.write_private_key(str(host_path))
    os.chmod(host_path, 0o600)
    client = asyncssh.generate_private_key("ssh-ed25519", comment="labconsole-demo")
    client_path = directory / "id_ed25519"
    client.write_private_key(str(client_path))
    os.chmod(client_path, 0o600)
    client.write_public_key(str(directory / "id_ed25519.pub"))
    auth = directory / "authorized_keys"
    auth.write_bytes(client.export_public_key())
    secret = str(uuid.uuid4())
    token = directory / "token"
    _write_private(token, (secret + "\n").encode())
    host_pub = host.export_public_key().decode().strip()
    return SimKeys(cert, key, fingerprint, host_path, host_pub, client_path, auth, token, secret)


def write_known_hosts(path: Path, host_pub: str, ports: list[int]) -> None:
    # One line per port: OpenSSH and asyncssh match "[127.0.0.1]:PORT" for non-22 ports.
    key = " ".join(host_pub.split()[:2])
    path.write_text("".join(f"[127.0.0.1]:{p} {key}\n" for p in ports))
