"""Failures from libraries become readable sentences naming the source: never a Python
exception class name, never urllib3's wrapped text, never a quorum hint for a TLS problem."""

from __future__ import annotations

import json
import socket
import ssl

import pytest
import requests

from console.config_model import TlsConfig
from console.errors import plain_reason
from console.poller import describe_error
from console.sources.swarm_errors import docker_reason, failure_hint
from console.sources.tls import describe_tls_error


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


def _http(status: int) -> requests.HTTPError:
    r = requests.Response()
    r.status_code = status
    return requests.HTTPError(f"{status} Server Error", response=r)


def _json_error() -> json.JSONDecodeError:
    try:
        json.loads("{not json")
    except json.JSONDecodeError as exc:
        return exc
    raise AssertionError


def _asyncssh(name: str) -> BaseException:
    import asyncssh

    if name == "auth":
        return asyncssh.PermissionDenied("Permission denied")
    if name == "hostkey":
        return asyncssh.HostKeyNotVerifiable("Host key is not trusted")
    return asyncssh.ConnectionLost("Connection lost")


CASES = [
    (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
    (socket.gaierror(-2, "Name or service not known"), "unknown host (DNS lookup failed)"),
    (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed"),
     "TLS certificate verification failed"),
    (requests.exceptions.SSLError('Fingerprints did not match. Expected "aa", got "bb"'),
     "TLS certificate does not match the pinned fingerprint"),
    (TimeoutError(), "timed out"),
    (requests.exceptions.ReadTimeout("HTTPSConnectionPool(host='x', port=8006): Read timed out. (read timeout=5)"),
     "timed out waiting for the answer"),
    (requests.exceptions.ConnectTimeout("Max retries exceeded (connect timeout=5)"), "timed out connecting"),
    (_http(502), "HTTP 502"),
    (_json_error(),
     "the answer is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    (_chained(requests.exceptions.ConnectionError("Max retries exceeded with url: /api2/json (Caused by "
                                                  "NewConnectionError(...))"),
              ConnectionRefusedError(111, "Connection refused")), "connection refused"),
    (FileNotFoundError(2, "No such file or directory"), "socket or file not found"),
    (OSError(113, "No route to host"), "no route to host"),
]


@pytest.mark.parametrize("exc,reason", CASES, ids=[type(c[0]).__name__ + str(i) for i, c in enumerate(CASES)])
def test_known_failure_kinds_read_as_sentences(exc, reason):
    assert plain_reason(exc) == reason
    line = describe_error(exc, "traefik", 5.0)
    assert line == ("traefik: no answer within 5 s (check that it is reachable)" if type(exc) is TimeoutError
                    else f"traefik: {reason}")
    assert "Error" not in line and "urllib3" not in line and "Pool" not in line


@pytest.mark.parametrize("kind,reason", [
    ("auth", "SSH authentication was refused"),
    ("hostkey", "the SSH host key is not in known_hosts or does not match"),
    ("lost", "SSH connection lost"),
])
def test_ssh_failure_kinds(kind, reason):
    assert describe_error(_asyncssh(kind), "vrrp", 5.0) == f"vrrp: {reason}"


def test_an_unknown_failure_shows_its_text_not_its_class():
    class WeirdLibraryError(Exception):
        pass

    assert describe_error(WeirdLibraryError("the flux capacitor\x1b[2J broke"), "ceph", 5.0) == \
        "ceph: the flux capacitor␛[2J broke"
    assert describe_error(WeirdLibraryError(), "ceph", 5.0) == "ceph: failed without a message (details in the log)"


def test_swarm_tls_failure_gets_a_tls_hint_not_a_quorum_one():
    exc = requests.exceptions.SSLError("HTTPSConnectionPool(host='m1', port=2376): Max retries exceeded "
                                       "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
                                       "CERTIFICATE_VERIFY_FAILED] certificate verify failed')))")
    reason = docker_reason(exc)
    assert reason == "TLS certificate verification failed"
    hint = failure_hint({reason})
    assert "tls_ca" in hint and "quorum" not in hint
    assert "quorum" in failure_hint({"HTTP 503"})


def test_tls_handshake_failure_names_the_openssl_reason_not_urllib3_text():
    exc = requests.exceptions.SSLError("HTTPSConnectionPool(host='127.0.0.1', port=8080): Max retries exceeded "
                                       "(Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version "
                                       "number (_ssl.c:1006)')))")
    message, _hint = describe_tls_error(exc, "https://127.0.0.1:8080", TlsConfig())
    assert message == "TLS handshake with https://127.0.0.1:8080 failed (wrong version number)"
