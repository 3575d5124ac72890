"""Fail the VIP back to the preferred firewall, and measure the gap.

The move uses the keepalived track file the maintenance already uses
(VrrpSource.set_track): the preferred firewall's track file goes to 0
(healthy), the current master's to 1 (FAULT: it hands the VIP over with a
priority-0 advert), and once the preferred firewall is MASTER the other's
track file goes back to 0, so it is an ordinary BACKUP again.

The gap is the time no firewall showed MASTER, measured by polling both
firewalls' keepalived dumps every POLL seconds during the move (so it is
accurate to about one poll interval plus one SSH round trip).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.ops.command_log import recorded
from console.ops.common import ActionResult, Progress, guard

POLL = 0.1  # s between reads of both firewalls while the VIP moves


@dataclass
class FailbackPlan:
    preferred: str
    current: str | None  # the MASTER now (None: no MASTER visible)
    needed: bool
    reason: str = ""


@dataclass
class FailbackResult(ActionResult):
    gap_s: float | None = None  # seconds with no MASTER visible
    resolution_s: float = POLL
    samples: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, who is MASTER)


def _vrrp(sources: Any):
    src = sources.get("vrrp")
    if src is None:
        raise ConsoleError("vrrp", "not configured for this cluster", "add a [clusters.NAME.vrrp] table")
    return src


def masters(state) -> list[str]:
    return [fw.name for fw in state.firewalls if fw.answering and any(i.state == "MASTER" for i in fw.instances)]


async def wait_until_backup(src: Any, firewall: str, timeout: float = 10.0) -> bool:
    """After its track file went back to 0, wait until `firewall` has left FAULT (an ordinary
    BACKUP again), so an action or run ends with a healthy pair and no check sees a FAULT it left
    behind. False when it did not within `timeout` (the caller says so; nothing is undone)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            st = await src.fetch()
        except ConsoleError:
            st = None
        if st is not None:
            fw = next((f for f in st.firewalls if f.name == firewall), None)
            if fw is not None and fw.answering and not any(i.state == "FAULT" for i in fw.instances):
                return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL)


def plan_failback(sources: Any, state) -> FailbackPlan:
    cfg = sources.cluster.vrrp
    preferred = cfg.preferred_master if cfg else None
    if not preferred:
        raise ConsoleError("vrrp", "no preferred firewall configured", "set vrrp.preferred_master")
    fw = next((f for f in state.firewalls if f.name == preferred), None)
    if fw is None or not fw.answering:
        why = fw.error if fw is not None and fw.error else "it does not answer"
        raise ConsoleError("vrrp", f"cannot fail back to {preferred}: {why}", "fix keepalived on it first")
    now = masters(state)
    if len(now) > 1:
        raise ConsoleError("vrrp", f"split brain: {', '.join(now)} are all MASTER", "fix that before moving the VIP")
    current = now[0] if now else None
    if current == preferred:
        return FailbackPlan(preferred, current, False, f"{preferred} already holds the VIP")
    return FailbackPlan(preferred, current, True)


def failback_sentence(p: FailbackPlan) -> str:
    if not p.needed:
        return f"Nothing to do: {p.reason}."
    frm = f"from {p.current} " if p.current else "(no firewall is MASTER now) "
    push = f"{p.current}'s to 1 until {p.preferred} is MASTER, then back to 0" if p.current else "no other change"
    return (f"Move the VIP {frm}back to the preferred firewall {p.preferred}: {p.preferred}'s track file to 0, "
            f"{push}. Expect a short gap with no MASTER (about one VRRP advert interval); it is measured.")


async def failback(sources: Any, progress: Progress | None = None, timeout: float = 30.0,
                   plan: FailbackPlan | None = None) -> FailbackResult:
    guard(sources, "fail the VIP back to the preferred firewall")
    say = progress or (lambda _: None)
    src = _vrrp(sources)
    p = plan or plan_failback(sources, await src.fetch())
    res = FailbackResult("vip-failback", p.preferred, failback_sentence(p))
    if not p.needed:
        res.ok, res.message = True, p.reason
        return res
    t0 = time.monotonic()
    gap_start: float | None = None
    gap = 0.0
    async with recorded("vrrp", f"vip failback: track {p.preferred}=0"
                        + (f", {p.current}=1 then 0" if p.current else ""), p.preferred, res.sentence) as rec:
        await src.set_track(p.preferred, 0)
        if p.current:
            await src.set_track(p.current, 1)
        try:
            while True:
                st = await src.fetch()
                now = time.monotonic() - t0
                who = masters(st)
                res.samples.append((round(now, 3), ",".join(who) or "-"))
                if not who and gap_start is None:
                    gap_start = now
                    say(f"{now:5.2f} s  no MASTER")
                elif who and gap_start is not None:
                    gap += now - gap_start
                    gap_start = None
                    say(f"{now:5.2f} s  {','.join(who)} MASTER")
                if who == [p.preferred]:
                    break
                if now >= timeout:
                    raise ConsoleError("vrrp", f"{p.preferred} did not become MASTER within {timeout:g} s "
                                       f"(MASTER now: {','.join(who) or 'none'})",
                                       f"its track file stays 0; {p.current or 'the peer'} is set back to 0")
                await asyncio.sleep(POLL)
        finally:
            if p.current:
                await src.set_track(p.current, 0)
        if p.current and not await wait_until_backup(src, p.current):
            say(f"{p.current} has not left FAULT yet after its track file went back to 0; see the VRRP screen")
        if gap_start is not None:
            gap += (time.monotonic() - t0) - gap_start
        res.gap_s = round(gap, 3)
        rec.result = f"{p.preferred} MASTER, gap {res.gap_s:.2f} s"
    res.ok = True
    res.duration = time.monotonic() - t0
    res.message = f"{p.preferred} holds the VIP; gap with no MASTER {res.gap_s:.2f} s (±{POLL:g} s)"
    return res
