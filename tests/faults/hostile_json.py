"""Malformed answers made from real ones: the same mutations for HTTP bodies and SSH command output.

Each variant turns a real, well-formed JSON answer into a hostile one a broken
or foreign endpoint could send. `envelope=True` is for Proxmox's `{"data": …}`:
the payload inside the envelope is mutated and the envelope kept, so the
source's envelope check passes and its shape checks are what is exercised.
"""

from __future__ import annotations

import json
from typing import Any, Callable

# The one variant every layer's matrix cell uses; the others run as extra cells.
PRIMARY = "bad-json"
VARIANTS = ("bad-json", "null", "data-null", "empty-list", "list-for-object", "object-for-list",
            "wrong-types", "infinity")


def mutate(body: bytes, variant: str, envelope: bool = False) -> bytes:
    """`body` (a real JSON answer) turned into the hostile `variant`."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown malformed variant {variant!r} (known: {', '.join(VARIANTS)})")
    if variant == "bad-json":  # cut mid-document, as a dropped proxy connection or a full disk leaves it
        text = body.strip()
        return text[: max(1, len(text) // 2)] if len(text) > 2 else b'{"data": ['
    if variant == "null":
        return b"null"
    if variant == "data-null":
        return b'{"data": null}'
    if variant == "empty-list":
        return b"[]"
    try:
        doc = json.loads(body)
    except ValueError:
        return body  # not JSON to begin with (a text answer): nothing to reshape
    if envelope and isinstance(doc, dict) and "data" in doc:
        doc = {**doc, "data": _reshape(doc["data"], variant)}
    else:
        doc = _reshape(doc, variant)
    return json.dumps(doc, allow_nan=True).encode()


def _reshape(payload: Any, variant: str) -> Any:
    if variant == "list-for-object":
        # every record becomes a one-element list: objects where lists are not expected
        if isinstance(payload, dict):
            return [payload]
        if isinstance(payload, list):
            return [[x] if isinstance(x, dict) else x for x in payload]
        return payload
    if variant == "object-for-list":
        if isinstance(payload, list):
            return {"items": payload}
        if isinstance(payload, dict):
            return {k: ({"items": v} if isinstance(v, list) else v) for k, v in payload.items()}
        return payload
    if variant == "wrong-types":  # every number a word: nothing a parser can honestly coerce
        return _numbers(payload, lambda n: "n/a")
    if variant == "infinity":  # Python's json accepts Infinity; int() of it raises
        return _numbers(payload, lambda n: float("inf"))
    raise ValueError(variant)


def _numbers(value: Any, replace: Callable[[Any], Any]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return replace(value)
    if isinstance(value, dict):
        return {k: _numbers(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v, replace) for v in value]
    return value
