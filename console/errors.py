"""The one error family the data layer raises: what failed, where, what to check."""

from __future__ import annotations

from typing import Any

from console.inert import inert


class ConsoleError(Exception):
    """A failure to show to the operator. `title` names where (source/host),
    `message` says what failed and what to check. Never carries secrets."""

    def __init__(self, title: str, message: str, hint: str | None = None):
        # error text often quotes what the cluster said: made inert here, once
        title, message = inert(title), inert(message)
        hint = inert(hint) if hint is not None else None
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.title}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ReadOnlyError(ConsoleError):
    """A mutating action was refused because the cluster is read-only."""

    def __init__(self, action: str, cluster: str):
        super().__init__(cluster, f"refused: {action} (read-only mode)",
                         "start without --read-only and set read_only = false for this cluster")


# Known failure kinds, by the names of the exception's classes (no imports of
# the libraries that define them) or by the words of their messages. Checked
# in order along the exception's cause chain; the first hit wins.
_BY_CLASS = (
    ("HostKeyNotVerifiable", "the SSH host key is not in known_hosts or does not match"),
    ("PermissionDenied", "SSH authentication was refused"),
    ("SSLCertVerificationError", "TLS certificate verification failed"),
    ("SSLError", "TLS handshake failed"),
    ("JSONDecodeError", "the answer is not valid JSON"),
    ("ConnectTimeout", "timed out connecting"),
    ("ReadTimeout", "timed out waiting for the answer"),
    ("TimeoutError", "timed out"),
    ("gaierror", "unknown host (DNS lookup failed)"),
    ("ConnectionRefusedError", "connection refused"),
    ("ConnectionResetError", "connection reset by the peer"),
    ("BrokenPipeError", "connection closed by the peer"),
    ("FileNotFoundError", "socket or file not found"),
    ("PermissionError", "permission denied"),
    ("ChannelOpenError", "the SSH server refused to open a channel"),
    ("ConnectionLost", "SSH connection lost"),
    ("DisconnectError", "SSH connection closed by the server"),
)
_BY_TEXT = (
    ("Fingerprints did not match", "TLS certificate does not match the pinned fingerprint"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed"),
    ("certificate verify failed", "TLS certificate verification failed"),
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host (DNS lookup failed)"),
    ("nodename nor servname", "unknown host (DNS lookup failed)"),
    ("Temporary failure in name resolution", "DNS lookup failed"),
    ("No route to host", "no route to host"),
    ("Network is unreachable", "network unreachable"),
    ("Connection reset", "connection reset by the peer"),
    ("timed out", "timed out"),
    ("Expecting value", "the answer is not valid JSON"),
)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 8:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def plain_reason(exc: BaseException) -> str:
    """A short readable reason for a failure from a library (never a class name):
    "connection refused", "timed out", "TLS certificate verification failed", "HTTP 502", ..."""
    chain = _chain(exc)
    for e in chain:  # an HTTP answer with a status says the most
        status = getattr(getattr(e, "response", None), "status_code", None) or getattr(e, "status_code", None)
        if isinstance(status, int) and status >= 400:
            return f"HTTP {status}"
    text = " ".join(str(e) for e in chain)
    for needle, says in _BY_TEXT[:3]:  # the TLS specifics before the generic SSLError class
        if needle in text:
            return says
    for e in reversed(chain):  # the root cause is the most specific (urllib3's NewConnectionError is a "timeout")
        names = {c.__name__ for c in type(e).__mro__}
        for name, says in _BY_CLASS:
            if name in names:
                if name == "JSONDecodeError" and getattr(e, "msg", None):
                    return f"the answer is not valid JSON ({json_problem(e)})"
                return says
    for needle, says in _BY_TEXT:
        if needle in text:
            return says
    for e in chain:
        if isinstance(e, OSError) and e.strerror:
            return inert(e.strerror).lower()
    if isinstance(exc, (TimeoutError,)):
        return "timed out"
    detail = " ".join(inert(str(exc)).split())
    return detail[:200] if detail else "failed without a message (details in the log)"


def json_problem(exc: Any) -> str:
    """"Expecting value at line 1 column 7" from a JSONDecodeError (whose messages such as
    "Unterminated string starting at" already end in "at")."""
    msg = str(getattr(exc, "msg", "") or "invalid JSON").removesuffix(" at")
    return f"{msg} at line {getattr(exc, 'lineno', '?')} column {getattr(exc, 'colno', '?')}"
