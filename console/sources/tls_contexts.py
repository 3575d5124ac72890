"""TLS contexts shared by every HTTPS connection of the HTTP sources (issue 8, item 9: memory).

urllib3, left to itself, makes a new SSLContext for each connection and loads a
trust store into it: the whole system store for a pinned or unverified
connection (which never consults it), certifi's bundle or the CA file for a
verified one. Each such context holds 0.8 MB of OpenSSL's memory; the console
keeps up to ten connections to the Proxmox API and ten to Traefik, and every
reconnection churned another 0.8 MB through the C heap. Here each kind of
context is made once: one without CA certificates (pinned: the fingerprint is
the check; or verification turned off), and one per CA bundle, loaded once
(made again when the file changes).
"""

from __future__ import annotations

import os
import ssl
import threading

from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

_lock = threading.Lock()
_without_ca: ssl.SSLContext | None = None
_verifying: dict[tuple[str, int, int], ssl.SSLContext] = {}  # (CA path, mtime, size) -> context


def context_without_ca() -> ssl.SSLContext:
    """For connections that check no chain (a pinned fingerprint, or verification off)."""
    global _without_ca
    with _lock:
        if _without_ca is None:
            _without_ca = create_urllib3_context(cert_reqs=ssl.CERT_NONE)  # check_hostname off too
        return _without_ca


def verifying_context(ca_path: str) -> ssl.SSLContext:
    """For connections verified against `ca_path` (a bundle file or a directory): chain and host name."""
    st = os.stat(ca_path)  # a missing file: OSError, as requests itself raises for it
    key = (ca_path, st.st_mtime_ns, st.st_size)
    with _lock:
        context = _verifying.get(key)
        if context is None:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)  # check_hostname on
            if os.path.isdir(ca_path):
                context.load_verify_locations(capath=ca_path)
            else:
                context.load_verify_locations(cafile=ca_path)
            for old in [k for k in _verifying if k[0] == ca_path]:
                del _verifying[old]  # the file changed: its old context goes
            _verifying[key] = context
        return context


class SharedContextAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections all use one shared context for `verify` (True: certifi's
    bundle, as requests; a path: that bundle; False: no check), instead of one context each.
    The adapter's `verify` is every request's: another one would load other certificates into
    (or switch checks off on) a context other sessions share."""

    def __init__(self, verify: bool | str, **kwargs):
        self.verify = verify
        self.shared: ssl.SSLContext | None = None
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        try:
            self.shared = (context_without_ca() if self.verify is False else
                           verifying_context(DEFAULT_CA_BUNDLE_PATH if self.verify is True else self.verify))
            kwargs["ssl_context"] = self.shared
        except (OSError, ssl.SSLError):
            self.shared = None  # requests reports the unreadable bundle itself, at the request
        super().init_poolmanager(*args, **kwargs)

    def send(self, request, **kwargs):
        kwargs["verify"] = self.verify
        return super().send(request, **kwargs)

    def cert_verify(self, conn, url, verify, cert) -> None:
        super().cert_verify(conn, url, verify, cert)
        if self.shared is not None and verify:
            # the shared context holds these certificates already: urllib3 would load them again
            # into it for each new connection
            conn.ca_certs = None
            conn.ca_cert_dir = None
