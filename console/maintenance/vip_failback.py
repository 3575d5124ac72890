"""The last step of a maintenance run: fail the VIPs back to their preferred firewall.

D1 moved the VIPs off the node's firewall and its undo restored that firewall's
track file, but with nopreempt the peer keeps them. Once the whole run is done
(a rolling run: once, at its end), each sync group and each independent
instance that is not on its configured preferred firewall (vrrp.preferred_masters,
else vrrp.preferred_master) is failed back the way the operator would: the
holder's keepalived track file -> 1 (FAULT, the preferred BACKUP takes over),
wait until the preferred firewall is MASTER of every member, track file -> 0.
The gap (no MASTER visible) is measured by polling the firewalls and reported.

A holder that also holds an instance preferred on itself is left alone (the
track file moves everything it holds), and so is a preferred firewall that is
not a healthy BACKUP: the report says why and how to do it by hand.

The hand-over itself is the console's `vip failback` action (console/ops/firewall.py:
track files, polling, the gap, the command log) whenever the target holds no
VIP yet, which is the usual case (a whole sync group comes home); the action
judges "MASTER" per firewall, so when the target already holds another instance
this module's own per-member wait is used instead. Either way every member is
confirmed MASTER on the target before the step reports success.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.model import VrrpState
from console.ops.firewall import wait_until_backup
from console.verdict import group_views, vrrp_instances

POLL = 0.05  # s between two reads of the firewalls while the VIP moves: the gap is measured to this
ADVERTS_EXPECTED = 2  # a graceful (FAULT) hand-over takes about one advert, at most two


@dataclass
class Unit:
    """A sync group, or an instance outside any group: what moves as one."""

    name: str
    members: tuple[str, ...]
    holder: str | None
    preferred: str | None

    @property
    def label(self) -> str:
        return self.name if self.members == (self.name,) else f"{self.name} ({', '.join(self.members)})"


@dataclass
class Failback:
    moved: list[dict] = field(default_factory=list)  # {units, from, to, gap_s, took_s}
    skipped: list[str] = field(default_factory=list)  # why a unit stays where it is

    def to_dict(self) -> dict:
        return {"moved": self.moved, "skipped": self.skipped}


def units_of(vrrp: VrrpState) -> list[Unit]:
    views = vrrp_instances(vrrp)
    out, grouped = [], set()
    for g in group_views(vrrp, views):
        grouped |= set(g.member_names)
        holders = set(g.holders.values())
        preferred = vrrp.preferred_for(g.name) or next(
            (p for p in (vrrp.preferred_for(m) for m in g.member_names) if p), None) or vrrp.preferred_master
        out.append(Unit(g.name, g.member_names, holders.pop() if len(holders) == 1 and not g.split else None,
                        preferred))
    for v in views:
        if v.name not in grouped:
            preferred = vrrp.preferred_for(v.name) or vrrp.preferred_master
            out.append(Unit(v.name, (v.name,), v.masters[0] if len(v.masters) == 1 else None, preferred))
    return out


def _state_of(vrrp: VrrpState, fw: str) -> dict[str, str]:
    f = next((f for f in vrrp.firewalls if f.name == fw and f.answering), None)
    return {i.name: i.state for i in f.instances} if f else {}


async def fail_back(svc: Any, say: Callable[[str], None], timeout: float = 10.0) -> Failback:
    """Fail every unit away from its preferred firewall back to it; measure each hand-over's gap."""
    result = Failback()
    vrrp = await svc.vrrp()
    units = units_of(vrrp)
    if not any(u.preferred for u in units):
        holders = sorted({u.holder for u in units if u.holder})
        result.skipped.append("no preferred firewall configured (vrrp.preferred_master or vrrp.preferred_masters):"
                              f" the VIPs stay on {', '.join(holders) or 'their current holder'}")
        return result
    away = [u for u in units if u.preferred and u.holder and u.holder != u.preferred]
    for u in units:
        if u.preferred and not u.holder:
            result.skipped.append(f"{u.label}: no single MASTER to fail back from")
    if not away:
        if not result.skipped:
            result.skipped.append("every VIP is already on its preferred firewall")
        return result
    for holder in sorted({u.holder for u in away if u.holder}):
        mine = [u for u in units if u.holder == holder]
        targets = {u.preferred for u in mine}
        if len(targets) != 1 or None in targets:
            keep = [u.label for u in mine if u.preferred in (holder, None)]
            result.skipped.extend(
                f"{u.label}: stays on {holder}, which also holds {', '.join(keep) or 'VIPs preferred elsewhere'} "
                f"(the track file would move them all); by hand: stop keepalived's instance on {holder}"
                for u in mine if u.preferred and u.preferred != holder)
            continue
        target = next(t for t in targets if t is not None)
        states = _state_of(vrrp, target)
        members = [m for u in mine for m in u.members]
        if not states or any(states.get(m) != "BACKUP" for m in members):
            result.skipped.append(f"{', '.join(u.label for u in mine)}: {target} is not a healthy BACKUP of every "
                                  f"member; the VIPs stay on {holder}")
            continue
        result.moved.append(await _hand_over(svc, say, holder, target, mine, timeout))
    return result


async def clear_left_fault(svc: Any, names: list[str], say: Callable[[str], None], timeout: float = 10.0) -> list[str]:
    """Of `names`, the firewalls FAULT in every instance while the run that owns them ends: a hand-over
    cut off between its two track-file writes (a killed console) leaves the former holder's file at 1.
    Its track file goes back to 0 (a BACKUP again, nopreempt: the VIPs stay where they are) and this
    waits until it has left FAULT. Returns the names it restored."""
    vrrp = await svc.vrrp()
    faulted = [n for n in names if (st := _state_of(vrrp, n)) and all(v == "FAULT" for v in st.values())]
    if not faulted:
        return []
    src = svc.src("vrrp")
    for name in faulted:
        say(f"{name} is in FAULT (its track file left at 1 by an interrupted hand-over): track file -> 0")
        await src.set_track(name, 0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        vrrp = await svc.vrrp()
        still = [n for n in faulted if any(v == "FAULT" for v in _state_of(vrrp, n).values())]
        if not still:
            return faulted
        if loop.time() > deadline:
            raise ConsoleError("maintenance", f"{', '.join(still)} still FAULT {timeout:g} s after its track file "
                               "went back to 0", "see the VRRP screen: keepalived's own checks may fail there")
        await asyncio.sleep(POLL)


class _ActionSources:
    """What console/ops/firewall.failback needs of `sources`, with the maintenance's journaled VRRP source."""

    read_only = False  # MaintenanceServices refused a read-only cluster already

    def __init__(self, svc: Any):
        self._svc = svc
        self.cluster = svc.cluster

    def get(self, name: str) -> Any:
        return self._svc.src(name)


async def _hand_over(svc: Any, say: Callable[[str], None], holder: str, target: str, units: list[Unit],
                     timeout: float) -> dict:
    members = [m for u in units for m in u.members]
    labels = ", ".join(u.label for u in units)
    if not any(st == "MASTER" for st in _state_of(await svc.vrrp(), target).values()):
        from console.ops.firewall import FailbackPlan, failback

        say(f"failing {labels} back to {target} (the vip failback action): {holder}'s track file -> 1 (FAULT)")
        res = await failback(_ActionSources(svc), say, timeout, plan=FailbackPlan(target, holder, True))
        await _all_on(svc, target, holder, members, labels, timeout)
        say(f"{target} is MASTER of {labels}: {res.message}")
        return {"units": [u.label for u in units], "from": holder, "to": target, "gap_s": res.gap_s or 0.0,
                "took_s": round(res.duration, 3), "at": round(time.time(), 3), "by": "vip failback action"}
    return await _own_hand_over(svc, say, holder, target, units, members, labels, timeout)


async def _all_on(svc: Any, target: str, holder: str, members: list[str], labels: str, timeout: float) -> None:
    """Every member MASTER on `target` (the action judges per firewall; a sync group is per member)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        st = await svc.vrrp()
        new = _state_of(st, target)
        missing = [m for m in members if new.get(m) != "MASTER"]
        if not missing:
            return
        if loop.time() > deadline:
            raise ConsoleError("maintenance", f"{target} is not MASTER of {', '.join(missing)} within {timeout:g} s",
                               f"{holder}'s track file was restored; see the VRRP screen")
        await asyncio.sleep(POLL)


async def _own_hand_over(svc: Any, say: Callable[[str], None], holder: str, target: str, units: list[Unit],
                         members: list[str], labels: str, timeout: float) -> dict:
    vrrp_src = svc.src("vrrp")
    say(f"failing {labels} back to {target}: {holder}'s track file -> 1 (FAULT)")
    loop = asyncio.get_running_loop()
    start = loop.time()
    last_held = start  # the last time some firewall was seen MASTER of every member
    gap_from: float | None = None
    gap = 0.0
    await vrrp_src.set_track(holder, 1)
    try:
        while True:
            try:
                st = await vrrp_src.fetch()
            except ConsoleError as exc:  # a read that fails says nothing about the VIP: keep polling
                st, why = None, str(exc)
            now = loop.time()
            if st is not None:
                new, old = _state_of(st, target), _state_of(st, holder)
                if all(new.get(m) == "MASTER" for m in members) and not any(old.get(m) == "MASTER" for m in members):
                    gap = now - gap_from if gap_from is not None else 0.0
                    break
                if any(old.get(m) == "MASTER" for m in members) or any(new.get(m) == "MASTER" for m in members):
                    last_held = now
                    gap_from = None
                elif gap_from is None:
                    gap_from = last_held  # nobody MASTER: the gap began after the last sight of a holder
            if now - start > timeout:
                raise ConsoleError("maintenance", f"{target} did not become MASTER of {labels} within {timeout:g} s"
                                   + ("" if st is not None else f" (last read failed: {why})"),
                                   f"{holder}'s track file was restored; the VIPs stay on {holder}")
            await asyncio.sleep(POLL)
    finally:
        await vrrp_src.set_track(holder, 0)  # healthy again (a BACKUP, nopreempt): also when the wait failed
    took = loop.time() - start
    if not await wait_until_backup(vrrp_src, holder):
        say(f"{holder} has not left FAULT yet after its track file went back to 0; see the VRRP screen")
    say(f"{target} is MASTER of {labels} after {took:.2f} s; no MASTER seen for {gap:.2f} s; "
        f"{holder}'s track file -> 0")
    return {"units": [u.label for u in units], "from": holder, "to": target, "gap_s": round(gap, 3),
            "took_s": round(took, 3), "at": round(time.time(), 3)}


def report_lines(facts: dict | None) -> list[str]:
    """The end report's lines about the fail-back (facts: Failback.to_dict(), or an error)."""
    if not facts:
        return []
    lines = []
    for m in facts.get("moved") or ():
        lines.append(f"  VIP fail-back: {', '.join(m.get('units') or ())} {m.get('from')} -> {m.get('to')}, "
                     f"no MASTER for {m.get('gap_s', 0):.2f} s (the hand-over took {m.get('took_s', 0):.2f} s)")
    for why in facts.get("skipped") or ():
        lines.append(f"  VIP fail-back skipped: {why}")
    if facts.get("error"):
        lines.append(f"  VIP fail-back failed: {facts['error']}")
    return lines
