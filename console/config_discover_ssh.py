"""SSH host keys for `config discover`: read them without logging in, write known_hosts.

asyncssh.get_server_host_key runs the key exchange only (no authentication),
so nothing but the host key is learnt and no credential is offered. Lines
are written as OpenSSH does: `HOST` for port 22, `[HOST]:PORT` otherwise.
An existing entry with a different key for the same host is never replaced:
that is a changed host key, for the user to look into.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from console.errors import ConsoleError
from console.inert import inert

TIMEOUT = 5.0


@dataclass(frozen=True)
class HostKey:
    algorithm: str  # ssh-ed25519
    fingerprint: str  # SHA256:...
    line: str  # "ssh-ed25519 AAAA..." (no comment)


def host_pattern(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


async def _one(address: str, port: int) -> tuple[HostKey | None, str]:
    try:
        async with asyncio.timeout(TIMEOUT):
            key = await asyncssh.get_server_host_key(address, port, config=None, server_host_key_algs="default")
    except TimeoutError:
        return None, f"no SSH answer within {TIMEOUT:g} s"
    except ConnectionRefusedError:
        return None, "connection refused (is sshd running there, on that port?)"
    except OSError as exc:
        return None, f"cannot connect: {inert(exc.strerror or exc)}"
    except asyncssh.Error as exc:
        return None, f"SSH failed: {inert(exc.reason)}"
    if key is None:
        return None, "no host key presented"
    line = " ".join(key.export_public_key("openssh").decode().split()[:2])
    return HostKey(key.get_algorithm(), key.get_fingerprint("sha256"), line), ""


def fetch_host_keys(addresses: dict[str, tuple[str, int]]) -> dict[str, tuple[HostKey | None, str]]:
    """alias -> (key or None, why not), all hosts concurrently."""
    async def run():
        aliases = list(addresses)
        found = await asyncio.gather(*(_one(*addresses[a]) for a in aliases))
        return dict(zip(aliases, found, strict=True))

    return asyncio.run(run())


def write_known_hosts(path: Path, keys: dict[tuple[str, int], str]) -> int:
    """Append `keys` ((address, port) -> "type base64") to `path`; the number of lines added."""
    existing: dict[str, set[str]] = {}
    if path.exists():
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = raw.split()
            if len(parts) >= 3 and not raw.startswith("#"):
                for host in parts[0].split(","):
                    existing.setdefault(host, set()).add(" ".join(parts[1:3]))
    new_lines = []
    for (address, port), line in keys.items():
        pattern = host_pattern(address, port)
        known = existing.get(pattern, set())
        if line in known:
            continue
        same_type = [k for k in known if k.split()[0] == line.split()[0]]
        if same_type:
            raise ConsoleError(str(path), f"already holds a different {line.split()[0]} key for {pattern}",
                               "a changed host key: verify it on the host before removing the old line")
        new_lines.append(f"{pattern} {line}\n")
    if new_lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.writelines(new_lines)
    return len(new_lines)
