"""/etc/pve/priv/lock as pmxcfs serves it: one directory tree shared by every node.

mkdir of a lock directory is atomic cluster-wide (EEXIST when it exists); a
touch with a real time renews the lock; a touch to mtime 0 is cfs_lock's
"unlock request", which removes the lock only when it has expired (not renewed
for LOCK_TIMEOUT). Lock times run on the wall clock, not the lab's clock: they
are pmxcfs's own timers, not part of what the lab simulates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

ROOT = "/etc/pve/priv/lock"
LOCK_TIMEOUT = 120.0


@dataclass
class LockDir:
    mtime: float
    files: dict[str, str] = field(default_factory=dict)


class PmxcfsLocks:
    def __init__(self, timeout: float = LOCK_TIMEOUT) -> None:
        self.timeout = timeout
        self.dirs: dict[str, LockDir] = {}

    @staticmethod
    def split(path: str) -> tuple[str, str] | None:
        """'/etc/pve/priv/lock/NAME[/FILE]' -> (NAME, FILE or ''); None when not under ROOT."""
        path = path.rstrip("/")
        if not path.startswith(ROOT + "/"):
            return None
        rest = path[len(ROOT) + 1:].split("/")
        if len(rest) > 2 or not rest[0]:
            return ("", "")  # deeper than a lock's files: not something pmxcfs allows
        return rest[0], rest[1] if len(rest) == 2 else ""

    def expired(self, name: str) -> bool:
        d = self.dirs.get(name)
        return d is not None and time.time() - d.mtime > self.timeout

    def mkdir(self, name: str) -> str | None:
        if name in self.dirs:
            return "File exists"
        self.dirs[name] = LockDir(time.time())
        return None

    def rmdir(self, name: str) -> str | None:
        d = self.dirs.get(name)
        if d is None:
            return "No such file or directory"
        if d.files:
            return "Directory not empty"
        del self.dirs[name]
        return None

    def touch(self, name: str, mtime: float | None) -> str | None:
        d = self.dirs.get(name)
        if d is None:
            return "No such file or directory"  # touch does not create directories
        if mtime == 0:  # unlock request
            if self.expired(name):
                del self.dirs[name]
            return None
        d.mtime = time.time() if mtime is None else mtime
        return None

    def read(self, name: str, file: str) -> str | None:
        d = self.dirs.get(name)
        return d.files.get(file) if d is not None else None

    def write(self, name: str, file: str, data: str, append: bool) -> bool:
        d = self.dirs.get(name)
        if d is None or not file:
            return False
        d.files[file] = (d.files.get(file, "") if append else "") + data
        return True

    def remove(self, name: str, file: str) -> bool:
        d = self.dirs.get(name)
        return d is not None and d.files.pop(file, None) is not None
