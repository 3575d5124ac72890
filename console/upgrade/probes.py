"""Is a guest's service up? The checks after its upgrade (and after a rollback):
the configured TCP ports and HTTP URLs (from this machine), its systemd units
and `systemctl is-system-running` (inside it), the Traefik routers that lead
to it. Each check returns the problems it found, as sentences."""

from __future__ import annotations

import asyncio
from typing import Any

from console.config_model import GuestProbe
from console.errors import ConsoleError
from console.inert import cap, inert
from console.upgrade.guest_access import GuestShell, GuestTarget


async def tcp_problem(addr: str, timeout: float) -> str | None:
    host, _, port = addr.rpartition(":")
    try:
        async with asyncio.timeout(timeout):
            _r, w = await asyncio.open_connection(host.strip("[]"), int(port))
    except (TimeoutError, OSError) as exc:
        return f"tcp {addr}: {cap(inert(str(exc) or type(exc).__name__), 120)}"
    w.close()
    try:
        await w.wait_closed()
    except OSError:
        pass
    return None


def _http_get(url: str, timeout: float) -> int:
    import requests

    return requests.get(url, timeout=timeout, allow_redirects=False).status_code


async def http_problem(url: str, timeout: float) -> str | None:
    import requests

    try:
        code = await asyncio.to_thread(_http_get, url, timeout)
    except requests.RequestException as exc:
        return f"http {url}: {cap(inert(type(exc).__name__ + ': ' + str(exc)), 160)}"
    return None if 200 <= code < 400 else f"http {url}: answered {code}"


async def inside_problems(shell: GuestShell, t: GuestTarget, units: tuple[str, ...]) -> list[str]:
    """`systemctl is-system-running` must not be degraded; each named unit must be active."""
    out = []
    r = await shell.run(t, "systemctl is-system-running", timeout=60)
    state = inert(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "")
    if state in ("degraded", "maintenance", "stopping", "offline") or (r.exit_status != 0 and state != "starting"):
        failed = await shell.run(t, "systemctl --failed --plain --no-legend", timeout=60)
        names = [inert(ln.split()[0]) for ln in failed.stdout.splitlines() if ln.strip()]
        out.append(f"systemctl is-system-running: {state or f'exit {r.exit_status}'}"
                   + (f" (failed: {', '.join(names[:6])})" if names else ""))
    for unit in units:
        r = await shell.run(t, f"systemctl is-active {unit}", timeout=60)
        if r.exit_status != 0:
            out.append(f"unit {unit}: {inert(r.stdout.strip()) or f'exit {r.exit_status}'}")
    return out


async def router_problems(svc: Any, services: list[str]) -> list[str]:
    """The Traefik routers of these services: enabled, and their service has a server UP."""
    if not services or not svc.has("traefik"):
        return []
    try:
        state = await svc.read(svc.src("traefik").fetch)
    except ConsoleError as exc:
        return [f"traefik: {exc.message}"]
    out = []
    by_name = {s.name.split("@")[0]: s for s in state.services}
    for r in state.routers:
        base = (r.service or "").split("@")[0]
        if base not in services:
            continue
        s = by_name.get(base)
        if r.status != "enabled" or r.errors:
            out.append(f"router {r.name}: {r.status}" + (f" ({'; '.join(r.errors)[:120]})" if r.errors else ""))
        elif s is not None and s.servers and not any(x.status == "UP" for x in s.servers):
            out.append(f"router {r.name}: no server of {s.name} is UP")
    return out


async def all_problems(svc: Any, shell: GuestShell, t: GuestTarget, probe: GuestProbe | None,
                       services: list[str], timeout: float) -> list[str]:
    out: list[str] = []
    if probe is not None:
        for addr in probe.tcp:
            p = await tcp_problem(addr, timeout)
            out += [p] if p else []
        for url in probe.http:
            p = await http_problem(url, timeout)
            out += [p] if p else []
    out += await inside_problems(shell, t, probe.units if probe else ())
    out += await router_problems(svc, services)
    return out
