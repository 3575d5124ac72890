"""Shape checks for everything the sources decode: one error type, small typed accessors.

A parser states what it needs ("a list of objects in data", "an object with
`health`"); anything else raises ShapeError with a message naming the source,
the endpoint or command, and what was expected, e.g.

    proxmox /cluster/resources: expected a list of objects in data, got an object

so a wrong answer fails its layer (stale banner, red dot, `check` exit 3)
instead of becoming an empty healthy one. Unknown extra fields are ignored;
optional fields may be absent (None); a field that is present with the wrong
type, or a number that is NaN, infinite or out of range, is an error.
"""

from __future__ import annotations

import functools
import math
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from console.errors import ConsoleError
from console.inert import cap, inert

F = TypeVar("F", bound=Callable[..., Any])
INT_LIMIT = 2 ** 63  # no counter, size or id the cluster reports is larger


class ShapeError(ConsoleError):
    """An answer that does not have the shape the parser needs. `where` names the source
    and endpoint/command ("proxmox /cluster/resources", "vrrp fw1 keepalived dump")."""

    def __init__(self, where: str, message: str, hint: str | None = None):
        super().__init__(where, message, hint)


def kind(value: Any) -> str:
    """What a decoded JSON value is, in words ("an object", "a list", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return "a number"
    if isinstance(value, int):
        return "a number"
    return "a value of an unknown type"


def _in(what: str) -> str:
    return f" in {what}" if what else ""


def obj(value: Any, where: str, what: str = "data") -> dict:
    """An object (dict), else ShapeError."""
    if isinstance(value, dict):
        return value
    raise ShapeError(where, f"expected an object{_in(what)}, got {kind(value)}")


def objects(value: Any, where: str, what: str = "data") -> list[dict]:
    """A list whose every item is an object, else ShapeError."""
    if not isinstance(value, list):
        raise ShapeError(where, f"expected a list of objects{_in(what)}, got {kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ShapeError(where, f"expected a list of objects{_in(what)}, got {kind(item)} at item {i}")
    return value


def opt_obj(value: Any, where: str, what: str) -> dict:
    """An optional object: absent/null -> {}, anything but an object -> ShapeError."""
    return {} if value is None else obj(value, where, what)


def opt_list(value: Any, where: str, what: str) -> list:
    """An optional list: absent/null -> [], anything but a list -> ShapeError."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ShapeError(where, f"expected a list{_in(what)}, got {kind(value)}")


def opt_objects(value: Any, where: str, what: str) -> list[dict]:
    """An optional list of objects: absent/null -> []."""
    return [] if value is None else objects(value, where, what)


def need(d: dict, key: str, where: str, what: str = "data") -> Any:
    """d[key], which must be present and not null."""
    value = d.get(key)
    if value is None:
        raise ShapeError(where, f"missing `{key}`{_in(what)}" if key not in d else f"`{key}`{_in(what)} is null")
    return value


def _number(value: Any, where: str, field: str) -> float | int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise ShapeError(where, f"`{field}` must be a finite number, got {kind(value)}")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            f = float(text)
        except ValueError:
            raise ShapeError(where, f"`{field}` must be a number, got the string {cap(value, 40)!r}") from None
        if not math.isfinite(f):
            raise ShapeError(where, f"`{field}` must be a finite number, got {cap(value, 40)!r}")
        return f
    raise ShapeError(where, f"`{field}` must be a number, got {kind(value)}")


def num(value: Any, where: str, field: str, default: float = 0.0,
        lo: float | None = None, hi: float | None = None) -> float:
    """An optional finite number (numeric strings accepted); absent/null -> default."""
    if value is None:
        return default
    n = _number(value, where, field)
    if abs(n) >= INT_LIMIT:
        raise ShapeError(where, f"`{field}` is out of range ({_short_num(n)})")
    _bounds(n, where, field, lo, hi)
    return float(n)


def integer(value: Any, where: str, field: str, default: int = 0,
            lo: int | None = None, hi: int | None = None) -> int:
    """An optional whole number (numeric strings accepted); absent/null -> default."""
    if value is None:
        return default
    n = _number(value, where, field)
    if abs(n) >= INT_LIMIT:
        raise ShapeError(where, f"`{field}` is out of range ({_short_num(n)})")
    n = int(n)
    _bounds(n, where, field, lo, hi)
    return n


def _bounds(n: float, where: str, field: str, lo: float | None, hi: float | None) -> None:
    if lo is not None and n < lo:
        raise ShapeError(where, f"`{field}` must be at least {lo:g}, got {_short_num(n)}")
    if hi is not None and n > hi:
        raise ShapeError(where, f"`{field}` must be at most {hi:g}, got {_short_num(n)}")


def _short_num(n: float | int) -> str:
    text = f"{n:g}" if isinstance(n, float) else str(n)
    return text if len(text) <= 24 else f"{text[:12]}… ({len(text)} digits)"


def text(value: Any, where: str, field: str, default: str = "") -> str:
    """An optional string (numbers are written out); absent/null -> default; objects/lists -> ShapeError."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ShapeError(where, f"`{field}` must be a string, got {kind(value)}")
        return str(value)
    raise ShapeError(where, f"`{field}` must be a string, got {kind(value)}")


def opt_text(value: Any, where: str, field: str) -> str | None:
    """An optional string that stays None when absent, null or empty."""
    return text(value, where, field) or None


def flag(value: Any, where: str, field: str, default: bool = False) -> bool:
    """An optional boolean as APIs spell it: true/false, 1/0, "1"/"0", "true"/"false", "yes"/"no"."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise ShapeError(where, f"`{field}` must be true or false, got {kind(value)}")


HERE = "(where: see at())"  # placeholder title: `at(where)` fills in the source and endpoint


@contextmanager
def at(where: str) -> Iterator[None]:
    """Name `where` in every ShapeError raised inside with the placeholder title HERE
    (helpers deep in a parser do not need to know which endpoint they parse)."""
    try:
        yield
    except ShapeError as exc:
        if exc.title != inert(HERE):
            raise
        raise ShapeError(where, exc.message, exc.hint) from None


def parser(default_where: str) -> Callable[[F], F]:
    """Decorate a parser: it takes an optional `where=` keyword (the source and
    endpoint/command it parses), which names every HERE ShapeError raised inside."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, where: str = default_where, **kwargs: Any) -> Any:
            with at(where):
                return fn(*args, **kwargs)
        return inner  # type: ignore[return-value]
    return wrap
