"""A typed, problem-collecting reader over one TOML table.

Every getter records the key as known, checks its type and collects a
problem (key path, message) instead of raising, so one pass over a file
reports everything that is wrong with it. `finish()` reports unknown keys
and secrets written inline.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# Keys that would hold a secret inline -> the reference keys to use instead.
INLINE_SECRETS = {
    "token_secret": "token_secret",
    "secret": "token_secret",
    "token": "token_secret",
    "api_token": "token_secret",
    "password": "password",
    "pass": "password",
    "auth_pass": "password",
}

_TYPE_NAMES = {str: "a string", bool: "true or false", list: "an array", dict: "a table"}


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class Table:
    def __init__(self, data: dict, path: str, problems: list[tuple[str, str]], base_dir: Path):
        self.data = data
        self.prefix = path
        self.problems = problems
        self.base_dir = base_dir
        self.known: set[str] = set()

    # --- helpers ---------------------------------------------------------
    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, key_path: str, message: str) -> None:
        self.problems.append((key_path, message))

    def has(self, name: str) -> bool:
        self.known.add(name)
        return name in self.data

    def _get(self, name: str, kind: type | tuple, required: bool, what: str | None = None) -> Any:
        self.known.add(name)
        if name not in self.data:
            if required:
                self.problem(self.key(name), "missing (required)")
            return None
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = what or _TYPE_NAMES.get(kind, "a number")
            self.problem(self.key(name), f"must be {expected}, not {type_name(value)}")
            return None
        return value

    # --- scalars ---------------------------------------------------------
    def str(self, name: str, default: str | None = None, required: bool = False,
            choices: tuple[str, ...] | None = None, nonempty: bool = True) -> str | None:
        value = self._get(name, str, required)
        if value is None:
            return default
        if nonempty and not value.strip():
            self.problem(self.key(name), "must not be empty")
            return default
        if choices and value not in choices:
            self.problem(self.key(name), f"must be one of {', '.join(choices)}, not {value!r}")
            return default
        return value

    def bool(self, name: str, default: bool) -> bool:
        value = self._get(name, bool, False)
        return default if value is None else value

    def number(self, name: str, default: float | None, positive: bool = True) -> float | None:
        value = self._get(name, (int, float), False, "a number")
        if value is None:
            return default
        if positive and value <= 0:
            self.problem(self.key(name), f"must be greater than 0, not {value}")
            return default
        return float(value)

    def int(self, name: str, default: int | None, lo: int = 1, hi: int | None = None,
            required: bool = False) -> int | None:
        value = self._get(name, int, required, "an integer")
        if value is None:
            return default
        if value < lo or (hi is not None and value > hi):
            bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            self.problem(self.key(name), f"must be {bounds}, not {value}")
            return default
        return value

    def path(self, name: str) -> Path | None:
        value = self.str(name)
        return None if value is None else resolve_path(value, self.base_dir)

    # --- arrays ----------------------------------------------------------
    def str_items(self, name: str, required: bool = False, nonempty: bool = False) -> list[tuple[int, str]] | None:
        """(index, string) for every valid element of an array; None when absent or not an array."""
        value = self._get(name, list, required)
        if value is None:
            return None
        if nonempty and not value:
            self.problem(self.key(name), "must list at least one entry")
        out: list[tuple[int, str]] = []
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append((i, item))
            else:
                what = "an empty one" if isinstance(item, str) else type_name(item)
                self.problem(f"{self.key(name)}[{i}]", f"must be a non-empty string, not {what}")
        return out

    def str_list(self, name: str, required: bool = False, nonempty: bool = False) -> tuple[str, ...] | None:
        items = self.str_items(name, required, nonempty)
        return None if items is None else tuple(v for _, v in items)

    def path_list(self, name: str, default: tuple[Path, ...] = ()) -> tuple[Path, ...]:
        items = self.str_list(name)
        if items is None:
            return default
        return tuple(resolve_path(p, self.base_dir) for p in items)

    # --- tables ----------------------------------------------------------
    def table(self, name: str, required: bool = False) -> Table | None:
        value = self._get(name, dict, required)
        return None if value is None else Table(value, self.key(name), self.problems, self.base_dir)

    def tables(self, name: str) -> list[Table] | None:
        """An array of tables ([[name]]); None when absent."""
        value = self._get(name, list, False, "an array of tables ([[...]])")
        if value is None:
            return None
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append(Table(item, f"{self.key(name)}[{i}]", self.problems, self.base_dir))
            else:
                self.problem(f"{self.key(name)}[{i}]", f"must be a table, not {type_name(item)}")
        return out

    def subtables(self) -> list[tuple[str, Table]]:
        """Every entry of this table as a named sub-table (e.g. [clusters.NAME])."""
        out = []
        for name, value in self.data.items():
            self.known.add(name)
            if isinstance(value, dict):
                out.append((name, Table(value, self.key(name), self.problems, self.base_dir)))
            else:
                self.problem(self.key(name), f"must be a table ([{self.key(name)}]), not {type_name(value)}")
        return out

    # --- special values --------------------------------------------------
    def secret_ref(self, base: str, required: bool) -> tuple[Path | None, str | None]:
        """`<base>_file` / `<base>_env`: exactly one when required, at most one otherwise."""
        file_given, env_given = self.has(f"{base}_file"), self.has(f"{base}_env")
        file = self.path(f"{base}_file")
        env = self.str(f"{base}_env")
        if env is not None and not _ENV_NAME.match(env):
            self.problem(self.key(f"{base}_env"), f"{env!r} is not an environment variable name")
            env = None
        if file_given and env_given:
            self.problem(self.key(f"{base}_env"), f"give only one of {base}_file or {base}_env, not both")
        elif required and not (file_given or env_given) and not self._inline_secret(base):
            self.problem(self.key(base),
                         f"missing: set {base}_file (a file holding it) or {base}_env (an environment variable "
                         "holding it)")
        return file, env

    def _inline_secret(self, base: str) -> bool:
        """An inline secret is reported by finish(); do not also call the reference missing."""
        return any(key in self.data for key, ref in INLINE_SECRETS.items() if ref == base)

    def fingerprint(self, name: str = "fingerprint") -> str | None:
        value = self.str(name)
        if value is None:
            return None
        normal = value.replace(":", "").replace(" ", "").lower()
        if not _HEX64.match(normal):
            self.problem(self.key(name), "must be a SHA-256 fingerprint: 64 hex digits (colons allowed)")
            return None
        return normal

    def finish(self) -> None:
        """Report keys that nothing asked for (typos, inline secrets)."""
        for name in self.data:
            if name in self.known:
                continue
            if name in INLINE_SECRETS:
                base = INLINE_SECRETS[name]
                self.problem(self.key(name), "secrets are never written in the config file: put it in a file and "
                             f"set {base}_file = \"PATH\", or in an environment variable and set {base}_env = \"NAME\"")
                continue
            close = difflib.get_close_matches(name, sorted(self.known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(self.key(name), f"unknown key{hint}")


def resolve_path(value: str, base_dir: Path) -> Path:
    """~ expanded; relative paths are relative to the config file's directory."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base_dir / path)
