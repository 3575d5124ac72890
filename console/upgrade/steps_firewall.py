"""The firewall pair, BACKUP first (item "firewalls" of an upgrade run):

  F0        the pair: one MASTER of every instance, the peer a healthy BACKUP
  B0 M0     each firewall's guest preflight (steps_guest G0)
  B1-B4     the BACKUP: snapshot, upgrade, restart, verify (keepalived BACKUP again)
  V1        the VIP to the upgraded firewall (the track-file hand-over, gap measured)
  M1-M4     the former MASTER, now BACKUP: snapshot, upgrade, restart, verify
  V2        the VIP back to the preferred firewall (vip_failback, gap measured)
  B5 M5     the snapshots kept for the grace period

A failure rolls back in reverse: the firewall that failed goes back to its
snapshot while it is BACKUP, the VIP returns to the former MASTER only once
that one is healthy, so a healthy firewall always holds the VIP. The MASTER is
never touched before the BACKUP has passed its checks. Once V1 has handed the
VIPs to the upgraded BACKUP, that firewall is kept: a failure of the former
MASTER rolls back that one alone (its snapshot), and the upgraded one stays
MASTER (V1 and the B steps undo nothing; its snapshot stays for the grace
period, `labconsole upgrade cleanup` removes it).
"""

from __future__ import annotations

import time
from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import BaseStep, StepContext, StepFailed
from console.maintenance.vip_failback import _hand_over, clear_left_fault, fail_back, units_of
from console.upgrade.services import UpgradeServices
from console.upgrade.steps_guest import G0Preflight, G1Snapshot, G2Upgrade, G3Restart, G4Verify, G5Keep

ROLES = ("backup", "master")


def _svc(ctx: StepContext) -> UpgradeServices:
    return ctx.services


def holders(vrrp: Any) -> dict[str, set[str]]:
    """firewall -> the instances it is MASTER of (answering firewalls only)."""
    return {f.name: {i.name for i in f.instances if i.state == "MASTER"} for f in vrrp.firewalls if f.answering}


class F0Pair(BaseStep):
    id, title, phase = "F0", "The pair: one MASTER, the peer a healthy BACKUP", "preflight"

    async def apply(self, ctx: StepContext) -> dict:
        svc = _svc(ctx)
        cfg = svc.cluster.vrrp
        if cfg is None or len(cfg.firewalls) != 2 or any(f.vmid is None for f in cfg.firewalls):
            raise StepFailed(self.id, "the firewall pair needs [vrrp] with two firewalls, each with its vmid")
        vrrp = await svc.vrrp()
        by_name = {f.name: f for f in vrrp.firewalls}
        held = holders(vrrp)
        masters = [n for n, inst in held.items() if inst]
        problems = [f"{f.name} does not answer: {f.error or 'no keepalived dump'}"
                    for f in vrrp.firewalls if not f.answering]
        if len(masters) != 1:
            problems.append(f"{len(masters)} firewalls are MASTER ({', '.join(masters) or 'none'}): need exactly one")
        else:
            master = masters[0]
            peer = next(f.name for f in cfg.firewalls if f.name != master)
            p = by_name.get(peer)
            if p is None or not p.answering or any(i.state != "BACKUP" for i in p.instances):
                problems.append(f"{peer} is not a healthy BACKUP of every instance")
            mine = by_name[master]
            if any(i.state != "MASTER" for i in mine.instances):
                problems.append(f"{master} is not MASTER of every instance (a split sync group?)")
        if problems:
            raise StepFailed(self.id, "; ".join(problems), "nothing was changed")
        vmid = {f.name: f.vmid for f in cfg.firewalls}
        ctx.facts["master"] = {**ctx.facts.get("master", {}), "name": master, "vmid": vmid[master]}
        ctx.facts["backup"] = {**ctx.facts.get("backup", {}), "name": peer, "vmid": vmid[peer]}
        ctx.facts["preferred"] = cfg.preferred_master or master
        ctx.progress(f"{master} holds the VIPs, {peer} is BACKUP: {peer} is upgraded first; the VIPs end on "
                     f"{ctx.facts['preferred']}" + ("" if cfg.preferred_master else " (no preferred_master: "
                                                                                  "where they are now)"))
        return {}


class FwVerify(G4Verify):
    """The guest checks, and keepalived: answering, a healthy BACKUP (the peer holds the VIP)."""

    async def extra(self, ctx: StepContext, g: Any) -> list[str]:
        svc = _svc(ctx)
        name = self.f(ctx).get("name")
        try:
            vrrp = await svc.vrrp()
        except ConsoleError as exc:
            return [f"keepalived: {exc.message}"]
        fw = next((f for f in vrrp.firewalls if f.name == name), None)
        if fw is None or not fw.answering:
            return [f"keepalived on {name}: {fw.error if fw and fw.error else 'does not answer'}"]
        bad = [f"{i.name} {i.state}" for i in fw.instances if i.state not in ("BACKUP", "MASTER")]
        return [f"keepalived on {name}: {', '.join(bad)}"] if bad else []


class VipMove(BaseStep):
    """V1: the VIPs from the former MASTER to the upgraded BACKUP."""

    id, title, phase = "V1", "Move the VIPs to the upgraded firewall", "vip"

    async def apply(self, ctx: StepContext) -> dict:
        svc = _svc(ctx)
        old, new = ctx.facts["master"]["name"], ctx.facts["backup"]["name"]
        if ctx.facts["master"].get("nothing"):
            ctx.progress(f"{old} has nothing pending: the VIPs stay on it")
            moved = False
        else:
            moved = await move_vips(ctx, svc, old, new)
        ctx.facts["backup"]["keep_upgraded"] = True  # it passed its checks: a later failure does not undo it
        return {"from": old, "to": new, "moved": moved}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        svc = _svc(ctx)
        old, new = ctx.facts["master"]["name"], ctx.facts["backup"]["name"]
        held = holders(await svc.vrrp())
        if ctx.facts["backup"].get("keep_upgraded") and held.get(new):
            ctx.progress(f"the VIPs stay on {new}: upgraded, it passed its checks (only {old} is rolled back)")
            return
        if held.get(old) and not held.get(new):
            ctx.progress(f"the VIPs are on {old} already")
            return
        await move_vips(ctx, svc, new, old)


async def move_vips(ctx: StepContext, svc: UpgradeServices, holder: str, target: str) -> bool:
    """Every unit `holder` is MASTER of, handed to `target` (a healthy BACKUP); the gap measured."""
    vrrp = await svc.vrrp()
    mine = [u for u in units_of(vrrp) if u.holder == holder]
    if not mine:
        ctx.progress(f"{holder} holds no VIP: nothing to move")
        return False
    timeout = svc.timeout(svc.limit("vip_move"))
    try:
        moved = await _hand_over(svc, ctx.progress, holder, target, mine, timeout)
    except ConsoleError as exc:
        raise StepFailed(ctx.step_id or "V", exc.message, exc.hint) from None
    _record(ctx, moved)
    return True


def _record(ctx: StepContext, moved: dict) -> None:
    moves = list(ctx.facts.get("vip_moves") or [])
    moves.append({"from": moved.get("from"), "to": moved.get("to"), "gap_s": moved.get("gap_s"),
                  "took_s": moved.get("took_s"), "step": ctx.step_id, "at": round(time.time(), 3)})
    ctx.facts["vip_moves"] = moves
    ctx.progress(f"VIP gap {moved.get('to')} <- {moved.get('from')}: no MASTER for {moved.get('gap_s', 0):.2f} s")


class VipHome(BaseStep):
    """V2: the VIPs back to the preferred firewall."""

    id, title, phase = "V2", "The VIPs back to the preferred firewall", "vip"

    async def apply(self, ctx: StepContext) -> dict:
        svc = _svc(ctx)
        timeout = svc.timeout(svc.limit("vip_move"))
        res = await fail_back(svc, ctx.progress, timeout)
        for m in res.moved:
            _record(ctx, m)
        for why in res.skipped:
            ctx.progress(why)
        pair = [ctx.facts["master"]["name"], ctx.facts["backup"]["name"]]
        try:  # resumed after a kill inside the hand-over: the VIPs are home, the other one still FAULT
            await clear_left_fault(svc, pair, ctx.progress, timeout)
        except ConsoleError as exc:
            raise StepFailed(ctx.step_id or "V2", exc.message, exc.hint) from None
        return {}


def firewall_steps(item: str) -> list[BaseStep]:
    b = {"key": "backup", "who": "BACKUP"}
    m = {"key": "master", "who": "former MASTER"}
    return [F0Pair(),
            G0Preflight(prefix="B", **b), G0Preflight(prefix="M", **m),
            G1Snapshot(prefix="B", **b), G2Upgrade(prefix="B", **b), G3Restart(prefix="B", **b),
            FwVerify(prefix="B", **b),
            VipMove(),
            G1Snapshot(prefix="M", **m), G2Upgrade(prefix="M", **m), G3Restart(prefix="M", **m),
            FwVerify(prefix="M", **m),
            VipHome(),
            G5Keep(prefix="B", **b), G5Keep(prefix="M", **m)]


def vip_lines(facts: dict) -> list[str]:
    return [f"VIP {m.get('from')} -> {m.get('to')} ({m.get('step')}): no MASTER for {m.get('gap_s') or 0:.2f} s"
            for m in facts.get("vip_moves") or ()]
