"""What a Docker Engine failure means, in words: the reason, whether to retry, what to check."""

from __future__ import annotations

from console.errors import ConsoleError, plain_reason
from console.inert import inert


def retryable(exc) -> bool:
    status = getattr(exc, "status_code", None) or 0
    return status >= 500


def not_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the engine (connect failed)."""
    import requests

    return isinstance(exc, (requests.exceptions.ConnectionError, FileNotFoundError, ConnectionRefusedError)) \
        and not isinstance(exc, requests.exceptions.ReadTimeout)


def docker_reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    status = getattr(exc, "status_code", None)
    if explanation:
        text = " ".join(inert(explanation).split())
        text = f"HTTP {status}: {text}" if status else text
        return text if len(text) <= 200 else text[:200] + "…"
    return plain_reason(exc)


def failure_hint(kinds: set[str]) -> str:
    """What to check, from what went wrong (a TLS failure is not a quorum problem)."""
    text = " ".join(kinds)
    if "TLS" in text:
        return "check swarm.tls_ca / tls_cert / tls_key against the managers' certificates"
    if "HTTP 503" in text or "no leader" in text.lower():
        return "the swarm may have lost its leader (quorum): check that a majority of managers is up"
    return "check that the managers are up and reachable"


def api_error(endpoint: str, exc) -> ConsoleError:
    status = getattr(exc, "status_code", None)
    hint = None
    if status == 409:
        hint = "the object changed meanwhile (version conflict) or the request conflicts; refresh and retry"
    elif status == 404:
        hint = "it may have been removed; refresh"
    elif status == 503:
        hint = "the swarm may have lost its leader (quorum)"
    return ConsoleError("swarm", f"{endpoint}: {docker_reason(exc)}", hint)
