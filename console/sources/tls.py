"""TLS for the HTTP sources (Proxmox, Traefik): CA verification or a pinned
SHA-256 certificate fingerprint, and readable errors when either fails.

Pinning: when `TlsConfig.fingerprint` is set, the server certificate must have
exactly that SHA-256 fingerprint; the chain and host name are not checked then
(a self-signed Proxmox certificate is the usual case). urllib3 does the
comparison itself (`assert_fingerprint`), right after the handshake and before
any request byte (so before the token header) is sent.

Every connection of one kind shares one TLS context (console/sources/tls_contexts.py).
"""

from __future__ import annotations

import re

import requests

from console.config_model import TlsConfig
from console.errors import ConsoleError, plain_reason
from console.sources.tls_contexts import SharedContextAdapter

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def normalise_fingerprint(text: str) -> str:
    """'AB:CD:…' or 'abcd…' -> 64 lowercase hex digits; ConsoleError otherwise."""
    fp = text.strip().lower().replace(":", "").replace(" ", "")
    if fp.startswith("sha256"):
        fp = fp[6:].lstrip("=/")
    if not _HEX64.match(fp):
        raise ConsoleError("tls", f"fingerprint {text!r} is not a SHA-256 fingerprint (64 hex digits, colons allowed)")
    return fp


def colon_hex(fp: str) -> str:
    return ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)).upper()


class PinnedFingerprintAdapter(SharedContextAdapter):
    """An HTTPAdapter whose connections accept exactly one certificate, by its
    SHA-256 fingerprint. Chain verification is switched off for these
    connections only because the pin replaces it (urllib3 marks them verified)."""

    def __init__(self, fingerprint: str, **kwargs):
        self.fingerprint = normalise_fingerprint(fingerprint)
        super().__init__(False, **kwargs)  # the fingerprint check is the verification

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)


def verify_setting(tls: TlsConfig) -> bool | str:
    """The `verify` value for requests: a CA bundle path, True (system store)
    or False (only when the config explicitly turned verification off)."""
    if tls.ca_file is not None:
        return str(tls.ca_file)
    return bool(tls.verify)


def mount_tls(session: requests.Session, tls: TlsConfig) -> requests.Session:
    """Configure an existing session (e.g. proxmoxer's) for `tls`."""
    session.verify = verify_setting(tls)
    if tls.fingerprint:
        session.mount("https://", PinnedFingerprintAdapter(tls.fingerprint))
    else:
        session.mount("https://", SharedContextAdapter(session.verify))
    return session


class _ExplicitVerifySession(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `session.verify`
    for any call that does not pass `verify`; pass it always, so the configured
    CA file (or pin) is what counts."""

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def requests_session(tls: TlsConfig) -> requests.Session:
    """A requests.Session verifying servers as `tls` says: the pinned
    fingerprint when set, else `ca_file`, else the system trust store."""
    return mount_tls(_ExplicitVerifySession(), tls)


def describe_tls_error(exc: BaseException, where: str, tls: TlsConfig) -> tuple[str, str]:
    """(message, hint) for an SSL failure at `where` (a URL without secrets)."""
    text = str(exc)
    m = re.search(r'Fingerprints did not match\. Expected "([0-9a-fA-F]+)", got "([0-9a-fA-F]+)"', text)
    if m:
        return (f"TLS certificate at {where} does not match the pinned fingerprint: "
                f"expected SHA256 {colon_hex(m.group(1).lower())}, server presented SHA256 "
                f"{colon_hex(m.group(2).lower())}",
                "if the certificate was renewed on purpose, update `fingerprint` in the config; otherwise do not "
                "connect")
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = re.search(r"certificate verify failed: ([^()\"']+)", text)
        why = detail.group(1).strip() if detail else "verification failed"
        src = f"CA file {tls.ca_file}" if tls.ca_file else "the system trust store"
        return (f"TLS certificate at {where} failed verification against {src} ({why})",
                "set `ca_file` to the cluster's CA, or pin the certificate with `fingerprint`")
    if "hostname" in text.lower() and "match" in text.lower():
        return (f"TLS certificate at {where} is not valid for that host name",
                "use the host name in the certificate, or pin it with `fingerprint`")
    # not urllib3's wrapped text: the OpenSSL reason ("[SSL: WRONG_VERSION_NUMBER]") in words
    reason = re.search(r"\[SSL: ([A-Z0-9_]+)\]", text)
    why = reason.group(1).lower().replace("_", " ") if reason else plain_reason(exc)
    return f"TLS handshake with {where} failed ({why})", "check that the endpoint speaks HTTPS and its certificate"
