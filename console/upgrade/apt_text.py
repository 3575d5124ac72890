"""What apt and friends print inside a guest, read into facts (pure functions).

`apt-get -s dist-upgrade` prints one line per package to be upgraded:
    Inst libssl3 [3.0.14-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
The suite in parentheses tells a security update ("-security").
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from console.inert import cap, inert

INST_RE = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) ([^\[)]*)")
KERNEL_PKG_RE = re.compile(r"^(linux-image-|proxmox-kernel-|pve-kernel-)")
LIBC = ("libc6", "libc-bin")
# a script that reads everything the inventory needs in one round trip; sections split by MARK
MARK = "@@labconsole@@"
INSPECT = (f"cat /etc/os-release 2>/dev/null; echo {MARK}; uname -r; echo {MARK}; "
           "LANG=C apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>&1; echo \"exit=$?\"; "
           f"echo {MARK}; test -f /var/run/reboot-required && echo reboot-required; "
           f"needrestart -b 2>/dev/null; echo {MARK}; df -Pk / 2>/dev/null")


@dataclass(frozen=True)
class Pending:
    name: str
    old: str
    new: str
    security: bool

    def to_dict(self) -> dict:
        return asdict(self)


def parse_simulate(text: str) -> list[Pending]:
    out = []
    for line in text.splitlines():
        m = INST_RE.match(line.strip())
        if m:
            name, old, new, suite = m.groups()
            out.append(Pending(cap(inert(name), 80), cap(inert(old or ""), 60), cap(inert(new), 60),
                               "security" in suite.lower()))
    return out


def os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = inert(value.strip().strip('"'))
    return out


def is_debian(rel: dict[str, str]) -> bool:
    return rel.get("ID") in ("debian", "ubuntu") or "debian" in rel.get("ID_LIKE", "").split()


def os_name(rel: dict[str, str]) -> str:
    return cap(rel.get("PRETTY_NAME") or rel.get("NAME") or rel.get("ID") or "an unknown OS", 60)


def df_free_kb(text: str) -> int | None:
    """`df -Pk /`: the Available column of the last line."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    cols = lines[-1].split()
    return int(cols[3]) if len(cols) >= 4 and cols[3].isdigit() else None


def restart_asked(text: str) -> bool:
    """/var/run/reboot-required exists, or `needrestart -b` says the running kernel is outdated
    (NEEDRESTART-KSTA 2: ABI, 3: version)."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if line.strip() == "reboot-required" or (key.strip() == "NEEDRESTART-KSTA" and value.strip() in ("2", "3")):
            return True
    return False


def needs_reboot(pending: list[Pending]) -> bool:
    """A new kernel or libc among the updates: the guest must restart to run them."""
    return any(KERNEL_PKG_RE.match(p.name) or p.name in LIBC for p in pending)


def sections(text: str, n: int) -> list[str]:
    parts = text.split(MARK)
    parts += [""] * (n - len(parts))
    return [p.strip("\n") for p in parts[:n]]
