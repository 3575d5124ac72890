"""A small, blocking Proxmox VE API client for onboarding and live checks.

`config discover` and `config check --live` need single requests against one
endpoint with plain answers (status + PVE's reason phrase), not the polling
source's fail-over: a 403 "Permission check failed (/, Sys.Audit)" is the
finding itself. TLS goes through console.sources.tls (pinned fingerprint or
CA); the token secret lives only in the session's header and is never put
into an error text. Also here: reading a server certificate's SHA-256
without trusting it, for the user to confirm before it is pinned.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from console.config_model import TlsConfig
from console.errors import ConsoleError
from console.inert import cap, inert
from console.sources.tls import colon_hex, describe_tls_error, requests_session


class PveHttpError(ConsoleError):
    """The API answered with an error status (or did not answer: status 0)."""

    def __init__(self, where: str, status: int, reason: str, hint: str | None = None):
        self.status = status
        self.reason = reason
        super().__init__(where, f"HTTP {status} {reason}" if status else reason, hint)


@dataclass(frozen=True)
class Endpoint:
    url: str  # https://host:8006
    host: str
    port: int


def parse_endpoint(url: str) -> Endpoint:
    """'https://h:8006' / 'h' / 'h:8006' -> Endpoint; ConsoleError when it is not a host."""
    text = url.strip()
    if "//" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port or 8006
    except ValueError as exc:
        raise ConsoleError("url", f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ConsoleError("url", f"{url!r} is not a Proxmox API URL: expected https://HOST[:8006]")
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    return Endpoint(f"https://{shown}:{port}", host, port)


def fetch_certificate_fingerprint(ep: Endpoint, timeout: float = 5.0) -> str:
    """SHA-256 of the certificate the server presents, "AB:CD:..."; nothing is trusted or sent."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only to read the certificate; the user confirms its fingerprint
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=ep.host) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        raise ConsoleError(ep.url, f"cannot read its TLS certificate: {_os_reason(exc)}",
                           "check the URL (https, port 8006) and that the node is reachable") from None
    if not der:
        raise ConsoleError(ep.url, "the server presented no certificate")
    return colon_hex(hashlib.sha256(der).hexdigest())


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "no answer (timeout)"
    return inert(getattr(exc, "strerror", None) or str(exc))


class PveHttp:
    def __init__(self, endpoint: str, token_id: str, secret: str, tls: TlsConfig, timeout: float = 5.0):
        self.ep = parse_endpoint(endpoint)
        self.tls = tls
        self.timeout = timeout
        self.session = requests_session(tls)
        self.session.headers["Authorization"] = f"PVEAPIToken={token_id}={secret}"

    def get(self, path: str, **params):
        """The `data` of GET /api2/json/PATH; PveHttpError on any failure."""
        url = f"{self.ep.url}/api2/json/{path.lstrip('/')}"
        where = f"{self.ep.url} GET /{path.lstrip('/')}"
        try:
            resp = self.session.get(url, params=params or None, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            message, hint = describe_tls_error(exc, self.ep.url, self.tls)
            raise PveHttpError(where, 0, message, hint) from None
        except requests.exceptions.Timeout:
            raise PveHttpError(where, 0, f"no answer within {self.timeout:g} s") from None
        except requests.exceptions.ConnectionError:
            raise PveHttpError(where, 0, "cannot connect", "check the URL and that the node is up") from None
        if resp.status_code != 200:
            reason = cap(inert(resp.reason or ""), 300)
            raise PveHttpError(where, resp.status_code, reason, _hint(resp.status_code))
        try:
            return resp.json().get("data")
        except ValueError:
            raise PveHttpError(where, 200, "the answer is not JSON", "is this a Proxmox VE API?") from None

    def close(self) -> None:
        self.session.close()


def _hint(status: int) -> str | None:
    if status == 401:
        return "the token id or secret is wrong, or the token expired or was removed"
    if status == 403:
        return "the token lacks that privilege on that path: see README, Connect to your cluster"
    if status == 595:
        return "that node is offline"
    return None
