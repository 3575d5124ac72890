"""Load, validate and write the labconsole TOML config.

`load_config(path)` returns a frozen `Config` (console/config_model.py) or
raises `ConfigError` listing EVERY problem of the file at once, each with
its key path (`clusters.home.proxmox.endpoints[1]`) and line when known.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from console.config_lines import key_lines, line_of
from console.config_model import Config
from console.config_schema import build_config
from console.errors import ConsoleError
from console.paths import config_path

_SYNTAX_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True, slots=True)
class Problem:
    key: str  # key path, e.g. clusters.home.proxmox.endpoints[1]; "" for the whole file
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class ConfigError(ConsoleError):
    """The config file is unusable; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem], path: Path | None = None):
        self.problems = list(problems)
        self.path = path
        count = len(self.problems)
        title = f"config {path}" if path else "config"
        lines = [f"{count} problem{'s' if count != 1 else ''}:"] + [f"  {p}" for p in self.problems]
        super().__init__(title, "\n".join(lines), "run `labconsole config check` after fixing it")

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate the config at `path` (default: --config/env/platformdirs)."""
    file = Path(path).expanduser().absolute() if path else config_path()
    text = _read(file)
    return parse_config(text, file)


def parse_config(text: str, file: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _SYNTAX_POS.search(message)
        line = int(match.group(1)) if match else getattr(exc, "lineno", None)
        raise ConfigError([Problem("", f"not valid TOML: {_SYNTAX_POS.sub('', message).strip()}"
                                   + (f" (column {match.group(2)})" if match else ""), line)], file) from None
    raw: list[tuple[str, str]] = []
    config = build_config(data, file.parent, file, raw)
    if raw or config is None:
        raise ConfigError(_with_lines(raw, text), file)
    return config


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem("", "no config file here: write a starter with `labconsole config init`, "
                                   "or try the simulated lab with `labconsole --demo`")], file) from None
    except IsADirectoryError:
        raise ConfigError([Problem("", "is a directory, not a config file")], file) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([Problem("", f"cannot read it: {reason}")], file) from None


def _with_lines(raw: list[tuple[str, str]], text: str) -> list[Problem]:
    lines = key_lines(text)
    problems = [Problem(key, message, line_of(lines, key)) for key, message in raw]
    return sorted(problems, key=lambda p: p.line if p.line is not None else 1 << 30)


def check_references(config: Config) -> list[Problem]:
    """Problems with what the config points at: missing files, unset env vars.

    Not part of `load_config` (a config may be loaded on one machine and the
    files exist elsewhere); `labconsole config check` reports these too."""
    raw: list[tuple[str, str]] = []

    def need_file(key: str, path: Path | None) -> None:
        if path is not None and not path.exists():
            raw.append((key, f"{path} does not exist"))

    for c in config.clusters:
        base = f"clusters.{c.name}"
        refs = []
        if c.proxmox:
            refs.append(c.proxmox.token_secret)
            need_file(f"{base}.proxmox.ca_file", c.proxmox.tls.ca_file)
        if c.traefik:
            if c.traefik.password:
                refs.append(c.traefik.password)
            need_file(f"{base}.traefik.ca_file", c.traefik.tls.ca_file)
        for ref in refs:
            if ref.file is not None:
                need_file(ref.where, ref.file)
            elif ref.env is not None and not os.environ.get(ref.env, "").strip():
                raw.append((ref.where, f"environment variable {ref.env} is not set"))
        need_file(f"{base}.ssh.known_hosts", c.ssh.known_hosts)
        for i, key in enumerate(c.ssh.keys):
            need_file(f"{base}.ssh.keys[{i}]", key)
        for h in c.ssh.hosts:
            if h.keys != c.ssh.keys:
                for i, key in enumerate(h.keys):
                    need_file(f"{base}.ssh.hosts.{h.alias}.keys[{i}]", key)
        if c.swarm:
            for name in ("tls_ca", "tls_cert", "tls_key"):
                need_file(f"{base}.swarm.{name}", getattr(c.swarm, name))
    if not raw:
        return []
    text = config.path.read_text(encoding="utf-8") if config.path and config.path.exists() else ""
    return _with_lines(raw, text)


def write_starter(path: str | os.PathLike) -> Path:
    """Write a commented starter config; never overwrites an existing file."""
    from console.config_starter import STARTER

    file = Path(path).expanduser().absolute()
    if file.exists():
        raise ConsoleError(str(file), "already exists; not overwriting it",
                           "edit it, check it with `labconsole config check`, or move it away first")
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(file, "x", encoding="utf-8") as out:  # "x": fails rather than overwrite
            out.write(STARTER)
    except FileExistsError:
        raise ConsoleError(str(file), "already exists; not overwriting it") from None
    return file


def dump_config(data: dict, path: str | os.PathLike) -> Path:
    """Write `data` as TOML (tomli-w) atomically: a temp file renamed over `path`."""
    import tomli_w

    file = Path(path)
    tmp = file.with_name(f".{file.name}.tmp{os.getpid()}")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.replace(tmp, file)
    return file
