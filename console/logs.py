"""Logging to a rotated file in the platformdirs log dir, never to the terminal.

`setup_logging()` replaces every root handler with one RotatingFileHandler
(so nothing is written to the terminal the TUI draws on) and attaches
`RedactSecrets`, which scrubs tokens, Authorization headers, keepalived
auth_data and passwords from every record, exception texts included.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from collections.abc import Callable
from pathlib import Path

from console.paths import log_file

MAX_BYTES = 1_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
NOISY = ("asyncssh", "urllib3", "docker", "aiohttp", "asyncio", "requests", "proxmoxer")
MASK = "***"

_SECRET_KEYS = r"\b(?:auth_data|auth_pass|password|passwd|secret|token_secret|api_key|apikey)"


def _mask_unless_prose(m: re.Match) -> str:
    word, more = m.group(2), m.group(3)
    if more and word.isalpha():
        return m.group(0)
    return f"{m.group(1)}{MASK}{more or ''}"


_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Proxmox token header value: PVEAPIToken=user@realm!id=SECRET
    (re.compile(r"(PVEAPIToken[=\s]+[^\s=]+=)[^\s'\",;}\]]+"), rf"\1{MASK}"),
    (re.compile(r"(PVEAuthCookie=)[^\s'\",;]+"), rf"\1{MASK}"),
    # Authorization / X-Registry-Auth header, in any dict/str rendering
    (re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)(x-registry-auth['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"), rf"\1{MASK}"),
    # key = value / "key": "value" / key:value for secret-looking keys (quoted, or no space after ':')
    (re.compile(rf"(?i)({_SECRET_KEYS}['\"]?(?:\s*=\s*['\"]?|\s*:\s*['\"]|:))[^'\"\s,;}}&]+"), rf"\1{MASK}"),
    # key: value, unquoted: a value unless it is a plain word followed by more words (a message that
    # names the key, "token_secret: secrets are never written ..."), which is prose and kept
    (re.compile(rf"(?i)({_SECRET_KEYS}['\"]?:\s+)([^'\"\s,;}}&]+)(\s+[A-Za-z])?"), _mask_unless_prose),
    # keepalived.conf style: auth_pass SECRET
    (re.compile(r"(?i)(\bauth_(?:pass|data)\s+)(?![:=])[^\s'\",;}]+"), rf"\1{MASK}"),
    # credentials in a URL: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:)[^@\s/'\"]+@"), rf"\1{MASK}@"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
     "-----PRIVATE KEY REDACTED-----"),
]


def redact(text: str) -> str:
    """`text` with every secret-looking value replaced by ***."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Renders each record's message (and traceback) and scrubs secrets from it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging(level: str = "info", debug: bool = False, path: Path | None = None) -> Path | None:
    """Send all logging to the rotated file at `path` (default: the platformdirs log file).

    Returns the log file, or None when it cannot be written (logging is then dropped)."""
    path = path or log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                       encoding="utf-8")
    except OSError:  # unwritable log dir: run without a log rather than not at all, and never to the terminal
        handler, path = logging.NullHandler(), None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    logging.captureWarnings(True)  # warnings.warn (e.g. urllib3) go to the file, not stderr
    set_level(level, debug)
    return path


def set_level(level: str = "info", debug: bool = False) -> None:
    """Apply the config's level (or debug); keep chatty libraries at WARNING unless debugging."""
    root_level = logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO)
    logging.getLogger().setLevel(root_level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else max(root_level, logging.WARNING))
