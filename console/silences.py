"""Silences: "I know about SUBJECT, do not count it for a while". One JSON file per
cluster in the state dir (<state>/silences/<cluster>.json); expired silences are
dropped whenever the file is read or written.

A silence matches a finding by its subject ("pve3", "osd.2", "VI_1", "whoami@docker")
or by "layer:subject" ("ceph:osd.2"). A silenced finding is still reported, marked,
but counts for nothing in the verdicts and `check`'s exit code; silencing the root of
an incident silences its effects too (console.incidents).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from console import paths
from console.errors import ConsoleError
from console.inert import cap, inert
from console.model import Finding

DURATION = re.compile(r"(\d+)\s*([smhdw])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SECONDS = 90 * 86400  # a silence longer than a quarter is a config change, not a silence


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    subject: str
    until: float  # epoch seconds
    reason: str
    created: float

    def matches(self, f: Finding) -> bool:
        return self.subject in (f.subject, f"{f.layer}:{f.subject}")

    def active(self, now: float) -> bool:
        return now < self.until

    def remaining(self, now: float) -> str:
        left = max(0, int(self.until - now))
        h, rest = divmod(left, 3600)
        return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


def parse_duration(text: str) -> int:
    """Seconds in "90s", "15m", "2h", "1d", "1h30m"; a clear error otherwise."""
    s = str(text).strip().lower()
    parts = DURATION.findall(s)
    if not s or not parts or DURATION.sub("", s).strip():
        raise ConsoleError("silence", f"--for {inert(cap(text, 40))!r} is not a duration",
                           "use a number with a unit: 90s, 15m, 2h, 1d, or 1h30m")
    seconds = sum(int(n) * UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0 or seconds > MAX_SECONDS:
        raise ConsoleError("silence", f"--for {s} is out of range", "between 1 second and 90 days")
    return seconds


def store_path(cluster: str) -> Path:
    return paths.state_dir() / "silences" / f"{cluster}.json"


def _decode(path: Path) -> list[Silence]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConsoleError(f"silences {path}", f"cannot be read: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text or "[]")
        if not isinstance(raw, list):
            raise ValueError("not a list")
        return [Silence(str(r["id"]), inert(r["subject"]), float(r["until"]), inert(r.get("reason", "")),
                        float(r.get("created", 0))) for r in raw]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConsoleError(f"silences {path}", f"is not a list of silences ({exc})",
                           "fix or delete the file; it only holds silences") from None


def _write(path: Path, silences: list[Silence]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps([asdict(s) for s in silences], indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load(cluster: str, now: float | None = None) -> list[Silence]:
    """The cluster's active silences; expired ones are dropped from the file."""
    now = time.time() if now is None else now
    path = store_path(cluster)
    every = _decode(path)
    active = [s for s in every if s.active(now)]
    if len(active) != len(every):
        try:
            _write(path, active)
        except OSError:
            pass  # read-only state dir: they are dropped from what we return all the same
    return active


def add(cluster: str, subject: str, seconds: int, reason: str, now: float | None = None) -> Silence:
    now = time.time() if now is None else now
    subject, reason = inert(subject).strip(), inert(reason).strip()
    if not subject:
        raise ConsoleError("silence", "SUBJECT is empty", "name what to silence: pve3, osd.2, VI_1, ceph:PG_DEGRADED")
    if not reason:
        raise ConsoleError("silence", "--reason is empty", "say why, so that the next person knows")
    silence = Silence(uuid.uuid4().hex[:8], cap(subject, 120), now + seconds, cap(reason, 200), now)
    _write(store_path(cluster), [*load(cluster, now), silence])
    return silence


def remove(cluster: str, silence_id: str, now: float | None = None) -> Silence:
    current = load(cluster, now)
    hit = next((s for s in current if s.id == silence_id.strip()), None)
    if hit is None:
        known = ", ".join(s.id for s in current) or "none"
        raise ConsoleError("silence", f"no active silence with id {inert(cap(silence_id, 40))!r} (active: {known})")
    _write(store_path(cluster), [s for s in current if s.id != hit.id])
    return hit
