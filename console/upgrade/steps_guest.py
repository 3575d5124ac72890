"""The upgrade of one guest (CT or VM) as steps of the maintenance engine:

  G0 preflight  running, reachable, Debian, free space, snapshot possible,
                backup age (a warning), the services it carries (read-only)
  G1 snapshot   labconsole-RUNID              undo: delete it
  G2 upgrade    apt-get dist-upgrade inside   undo: roll back to the snapshot,
                (noninteractive, confold;           start, check again
                a Swarm node VM with docker or
                containerd pending is drained first)
  G3 restart    when its kernel or libc changed (a Swarm node VM is drained first,
                steps_swarm_vm.py, and made active again after G4 or a rollback)
  G4 verify     running, agent/shell answers, not degraded, probes, routers
  G5 keep       the snapshot stays for the grace period (or goes now)

Any failure after G1 is rolled back to the snapshot (`upgrade run` does it at
once); a guest whose snapshot cannot be taken is never touched.
"""

from __future__ import annotations

import time
from typing import Any

from console.errors import ConsoleError
from console.inert import cap, inert
from console.maintenance.engine import BaseStep, StepContext, StepFailed  # noqa: F401 - BaseStep: guest_steps
from console.upgrade import apt_text as A
from console.upgrade import steps_swarm_vm as swarm_vm
from console.upgrade.guest_access import vmid_of_label
from console.upgrade.inventory import inspect
from console.upgrade.probes import all_problems, inside_problems
from console.upgrade.services import UpgradeServices

UPGRADE_CMD = ("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef "
               "-o Dpkg::Options::=--force-confold dist-upgrade")
APT_LOCKED = "Could not get lock"
KEEP_LINES = 12  # output lines quoted when the upgrade fails
SNAPSHOT_TYPES = {"rbd", "zfspool", "lvmthin", "btrfs", "cephfs"}  # storages PVE snapshots guests on


def _svc(ctx: StepContext) -> UpgradeServices:
    return ctx.services


class GuestStep(BaseStep):
    """A step of one guest's upgrade. Alone (`key` None) the guest is the engine's item and its
    facts are the run's; in the firewall pair each firewall's facts live under its key."""

    number = 0

    def __init__(self, key: str | None = None, prefix: str = "G", who: str = ""):
        self.key = key
        self.id = f"{prefix}{self.number}"
        self.title = f"{who}: {type(self).title}" if who else type(self).title

    def f(self, ctx: StepContext) -> dict:
        return ctx.facts if self.key is None else ctx.facts.setdefault(self.key, {})

    def todo(self, ctx: StepContext) -> dict | None:
        """This guest's facts, or None when preflight found nothing pending (the step has nothing to do)."""
        f = self.f(ctx)
        return None if f.get("nothing") else f

    def vmid(self, ctx: StepContext) -> int:
        return vmid_of_label(ctx.node) if self.key is None else int(self.f(ctx)["vmid"])

    async def target(self, ctx: StepContext) -> tuple[Any, Any]:
        return await _svc(ctx).target(ctx, self.vmid(ctx))


class G0Preflight(GuestStep):
    number, title, phase = 0, "Preflight: running, reachable, Debian, space, snapshot possible, services", "preflight"

    async def apply(self, ctx: StepContext) -> dict:
        svc = _svc(ctx)
        f = self.f(ctx)
        g, t = await self.target(ctx)
        problems: list[str] = []
        if g.template:
            raise StepFailed(self.id, f"{g.name} is a template: nothing to upgrade inside")
        if g.status != "running":
            raise StepFailed(self.id, f"{g.name} is {g.status}: only a running guest is upgraded (start it first)")
        if g.lock:
            problems.append(f"{g.name} is locked ({g.lock}): no snapshot can be taken")
        if not t.via:
            raise StepFailed(self.id, f"{g.name} is not inspectable: {t.why_not}")
        why = await svc.shell.ping(t)
        if why:
            raise StepFailed(self.id, f"{g.name} does not answer ({t.via}): {why}")
        facts = await inspect(svc.shell, t)
        if facts.get("why_not"):
            raise StepFailed(self.id, f"{g.name}: {facts['why_not']}")
        pending: list[A.Pending] = facts["pending"]
        f.update(vmid=g.vmid, type=g.type, via=t.via, os=facts["os"], kernel_before=facts["kernel"],
                         pending_count=len(pending), security=sum(p.security for p in pending),
                         pending=[p.name for p in pending][:100], restart_expected=_restart_needed(g.type, pending),
                         nothing=not pending)
        ctx.progress(f"{t.kind_word} {g.vmid} {g.name} on {g.node}, reached by {t.via}; {facts['os']}; kernel "
                     f"{facts['kernel']}")
        ctx.progress(f"{len(pending)} packages pending ({f['security']} security)"
                     + (": " + ", ".join(p.name for p in pending[:12]) + (" ..." if len(pending) > 12 else "")
                        if pending else ""))
        if not pending:
            ctx.progress("nothing pending: no snapshot, no upgrade")
            return {}
        free = facts.get("free_kb")
        need = svc.settings.min_free_mb * 1024
        if free is not None and free < need:
            problems.append(f"only {free // 1024} MiB free on / (needs {svc.settings.min_free_mb:g} MiB)")
        problems += await _snapshot_possible(svc, g)
        await _backup_note(ctx, svc, g.vmid)
        f["services"] = await _services_on(svc, g)
        majority = await swarm_vm.note_swarm_node(ctx, svc, f)
        if majority:
            problems.append(majority)
        probe = svc.settings.probe_for(g.vmid, g.name)
        ctx.progress("checks after the upgrade: is-system-running"
                     + (f", units {', '.join(probe.units)}" if probe and probe.units else "")
                     + (f", tcp {', '.join(probe.tcp)}" if probe and probe.tcp else "")
                     + (f", http {', '.join(probe.http)}" if probe and probe.http else "")
                     + (f", routers of {', '.join(f['services'])}" if f["services"] else ""))
        if problems:
            raise StepFailed(self.id, "; ".join(problems), "nothing was changed")
        return {}


def _restart_needed(kind: str, pending: list[A.Pending]) -> bool:
    if kind == "lxc":
        return any(p.name in A.LIBC for p in pending)  # a CT has no kernel of its own
    return A.needs_reboot(pending)


async def _snapshot_possible(svc: UpgradeServices, g: Any) -> list[str]:
    """The guest's disks live on storages that take snapshots (else it is never upgraded)."""
    from console.ops.common import pve

    ops = pve(svc.sources)
    try:
        conf = await ops.guest_config(g.node, g.type, g.vmid)
        storages = {str(s.get("storage")): str(s.get("type")) for s in await ops.storages(g.node)}
    except ConsoleError as exc:
        return [f"cannot tell whether a snapshot is possible: {exc.message}"]
    disk_keys = ("rootfs",) if g.type == "lxc" else ()
    out = []
    for key, value in conf.items():
        is_disk = key in disk_keys or key.startswith("mp") if g.type == "lxc" else \
            key[:4] in ("scsi", "virt", "sata") or key.startswith("ide")
        if not is_disk or not isinstance(value, str) or "media=cdrom" in value or ":" not in value:
            continue
        st = value.split(":", 1)[0]
        kind = storages.get(st)
        if kind is not None and kind not in SNAPSHOT_TYPES:
            out.append(f"disk {key} is on storage {inert(st)} ({inert(kind)}), which takes no snapshots")
    return out


async def _backup_note(ctx: StepContext, svc: UpgradeServices, vmid: int) -> None:
    from console.ops.backups import DAY, backup_report

    try:
        rep = await backup_report(svc.sources, svc.cluster.max_backup_age)
    except ConsoleError as exc:
        ctx.progress(f"warning: backups not checked: {exc.message}")
        return
    row = next((r for r in rep.guests if r.vmid == vmid), None)
    if row is None or row.state == "never":
        ctx.progress("warning: never backed up (the snapshot is the only way back)")
    elif row.state == "stale":
        ctx.progress(f"warning: last backup {(row.age_s or 0) / DAY:.1f} days ago (the snapshot is the way back)")
    else:
        ctx.progress(f"backup {(row.age_s or 0) / DAY:.1f} days old on {row.last.storage if row.last else '?'}")


async def _services_on(svc: UpgradeServices, g: Any) -> list[str]:
    """The Swarm services with a running task on this guest (a Swarm node VM): their routers are checked."""
    node_ids = {n.id for n in await swarm_vm.swarm_nodes_in(svc, g.vmid)}
    if not node_ids:
        return []
    try:
        swarm = await svc.swarm()
    except ConsoleError:
        return []
    ids = {t.service_id for t in swarm.tasks if t.node_id in node_ids and t.state == "running"}
    return sorted(s.name for s in swarm.services if s.id in ids)


class G1Snapshot(GuestStep):
    number, title, phase = 1, "Snapshot labconsole-RUNID", "snapshot"

    async def apply(self, ctx: StepContext) -> dict:
        f = self.todo(ctx)
        if f is None:
            return {}
        from console.ops import snapshots as S

        svc = _svc(ctx)
        name = svc.snapshot_name(f)
        vmid = int(f["vmid"])
        have = await S.list_snapshots(svc.sources, vmid)
        if any(s.name == name for s in have.snapshots):
            ctx.progress(f"snapshot {name} exists already")
        else:
            until = time.time() + svc.settings.snapshot_grace_hours * 3600
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))
            desc = f"labconsole upgrade run {svc.run_id}; remove after {stamp}"
            res = await S.create(svc.sources, vmid, name, desc, progress=ctx.output,
                                 follow_timeout=svc.timeout(svc.limit("snapshot")))
            if not res.ok:
                raise StepFailed(self.id, f"snapshot {name} failed: {res.message}",
                                 "the guest was not touched; fix the storage or lock and run again")
        f["snapshot"] = name
        ctx.progress(f"snapshot {name} taken")
        return {"snapshot": name}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        from console.ops import snapshots as S

        svc = _svc(ctx)
        f = self.f(ctx)
        # caught mid-apply (killed while PVE took it): the name is the run's, the snapshot may exist
        name = f.get("snapshot") or data.get("snapshot") or (svc.snapshot_name(f) if svc.run_id else None)
        if not name or "vmid" not in f:
            return
        if f.get("keep_upgraded") and not data.get("remove"):  # a rollback keeps an upgraded one's snapshot
            ctx.progress(f"snapshot {name} kept for the grace period: this guest stays upgraded")
            return
        vmid = int(f["vmid"])
        have = await S.list_snapshots(svc.sources, vmid)
        if not any(s.name == name for s in have.snapshots):
            return
        res = await S.delete(svc.sources, vmid, str(name), follow_timeout=svc.timeout(svc.limit("snapshot")))
        if not res.ok:
            raise StepFailed(self.id, f"could not delete snapshot {name}: {res.message}",
                             "delete it by hand (labconsole upgrade cleanup)")
        ctx.progress(f"snapshot {name} deleted")


class G2Upgrade(GuestStep):
    number, title, phase = 2, "apt-get dist-upgrade inside the guest (noninteractive, confold)", "upgrade"

    async def apply(self, ctx: StepContext) -> dict:
        f = self.todo(ctx)
        if f is None:
            return {}
        svc = _svc(ctx)
        _g, t = await self.target(ctx)
        await swarm_vm.drain_before_upgrade(ctx, f)  # docker/containerd pending: dockerd restarts in it
        ctx.progress(f"$ {UPGRADE_CMD}" + ("  (the guest agent gives the output when it ends)"
                                           if t.via == "agent" else ""))
        tail: list[str] = []

        def line(text: str) -> None:
            tail.append(text)
            del tail[:-KEEP_LINES]
            ctx.output(text)

        limit = svc.timeout(svc.limit("guest_upgrade"))
        deadline = time.monotonic() + limit
        while True:  # a resumed run may find the first dist-upgrade still running inside: wait for it
            tail.clear()
            code = await svc.shell.stream(t, UPGRADE_CMD, line, timeout=limit)
            if code != 100 or not any(APT_LOCKED in x for x in tail) or time.monotonic() > deadline:
                break
            ctx.progress("another apt holds the lock (an earlier run still upgrading?): waiting")
            await _sleep(svc.timeout(2.0))
        if code != 0:
            quoted = " | ".join(cap(inert(x), 160) for x in tail[-4:])
            raise StepFailed(self.id, f"dist-upgrade exited {code}: {quoted}", "it is rolled back to the snapshot")
        after = await inspect(svc.shell, t)
        left = after.get("pending") or []
        f["reboot_required"] = bool(after.get("reboot_required"))
        ctx.progress(f"upgraded; {len(left)} still pending" + ("; the guest asks for a reboot"
                                                               if after.get("reboot_required") else ""))
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        f = self.f(ctx)
        if f.get("keep_upgraded"):  # the firewall pair's upgraded BACKUP, holding the VIPs now
            ctx.progress(f"{f.get('name') or f.get('vmid')} stays upgraded: it passed its checks")
            return
        await swarm_vm.drain_for_rollback(ctx, f)  # the rollback stops the VM: its tasks go first
        try:
            await rollback_guest(ctx, _svc(ctx), f, self.id)
        except StepFailed as exc:
            if f.get("swarm_node"):
                raise StepFailed(exc.title, exc.message, f"{exc.hint}; Swarm node {f['swarm_node']} stays drained "
                                 "until it is fixed (docker node update --availability active)") from None
            raise
        await swarm_vm.activate(ctx, f)


async def rollback_guest(ctx: StepContext, svc: UpgradeServices, f: dict, step: str = "G2") -> None:
    """Back to the snapshot, started, and checked again; what still fails is the error."""
    from console.ops import snapshots as S

    name = f.get("snapshot")
    if not name:
        ctx.progress("no snapshot was taken: nothing to roll back")
        return
    vmid = int(f["vmid"])
    ctx.progress(f"rolling {vmid} back to snapshot {name} and starting it")
    res = await S.rollback(svc.sources, vmid, str(name), start=True, progress=ctx.output,
                           follow_timeout=svc.timeout(svc.limit("snapshot")))
    if not res.ok:
        raise StepFailed(step, f"rollback to {name} failed: {res.message}", "roll it back by hand in PVE")
    problems = await wait_healthy(ctx, svc, f, raise_on_timeout=False)
    if problems:
        raise StepFailed(step, f"rolled back to {name}, but it still fails: {'; '.join(problems)}",
                         "look at the guest; the snapshot is kept")
    ctx.progress(f"rolled back to {name}: running and its checks pass again")


async def wait_healthy(ctx: StepContext, svc: UpgradeServices, f: dict, raise_on_timeout: bool = True,
                       extra: Any = None) -> list[str]:
    """Wait until the guest runs, answers, and every check passes (and `extra(guest)`, a coroutine
    returning problems, finds none); the problems left at the deadline."""
    last: list[str] = []

    async def probe() -> str | None:
        nonlocal last
        g, t = await svc.target(ctx, int(f["vmid"]))
        if g.status != "running":
            last = [f"guest is {g.status}"]
            return last[0]
        why = await svc.shell.ping(t)
        if why:
            last = [f"does not answer: {why}"]
            return last[0]
        p = svc.settings.probe_for(g.vmid, g.name)
        last = await all_problems(svc, svc.shell, t, p, list(f.get("services") or ()),
                                  svc.settings.probe_timeout)
        if extra is not None:
            last += await extra(g)
        return "; ".join(last) or None

    try:
        await svc.wait_for(ctx, "the guest and its checks", probe, svc.limit("probe_settle"),
                           errors_for=svc.limit("probe_settle"))
    except StepFailed:
        if raise_on_timeout:
            raise StepFailed(ctx.step_id or "G4", "checks fail after the upgrade: " + "; ".join(last or ["timed out"]),
                             "it is rolled back to the snapshot") from None
        return last or ["timed out"]
    return []


class G3Restart(GuestStep):
    number, title, phase = 3, "Restart the guest if its kernel or libc changed", "upgrade"

    async def apply(self, ctx: StepContext) -> dict:
        f = self.todo(ctx)
        if f is None:
            return {}
        svc = _svc(ctx)
        g, t = await self.target(ctx)
        want = bool(f.get("restart_expected") or (g.type == "qemu" and f.get("reboot_required")))
        if not want:
            ctx.progress("no kernel or libc change: no restart")
            return {}
        from console.ops.guests import power

        await swarm_vm.drain(ctx, f)
        ctx.progress(f"{'kernel or libc' if g.type == 'qemu' else 'libc'} changed: rebooting {g.name}")
        res = await power(svc.sources, g.vmid, "reboot", progress=ctx.output,
                          follow_timeout=svc.timeout(svc.limit("guest_boot")))
        if not res.ok:
            raise StepFailed(self.id, f"reboot failed: {res.message}", "it is rolled back to the snapshot")

        async def answers() -> str | None:
            g2, t2 = await self.target(ctx)
            if g2.status != "running":
                return f"guest is {g2.status}"
            return await svc.shell.ping(t2)

        await svc.wait_for(ctx, f"{g.name} back", answers, svc.limit("guest_boot"),
                           errors_for=svc.limit("guest_boot"))
        if t.type == "qemu":
            r = await svc.shell.run(t, "uname -r", timeout=30)
            now = cap(inert(r.stdout.strip()), 60)
            ctx.progress(f"{g.name} runs kernel {now} (was {f.get('kernel_before')})")
        return {}


class G4Verify(GuestStep):
    number, title, phase = 4, "Verify: running, answers, not degraded, probes, routers", "verify"

    async def extra(self, ctx: StepContext, g: Any) -> list[str]:
        """More checks of this kind of guest (the firewall pair adds its keepalived's)."""
        return []

    async def apply(self, ctx: StepContext) -> dict:
        f = self.todo(ctx)
        if f is None:
            return {}
        svc = _svc(ctx)
        await wait_healthy(ctx, svc, f, extra=lambda g: self.extra(ctx, g))
        g, t = await self.target(ctx)
        left = await inspect(svc.shell, t)
        ctx.progress(f"{g.name}: running, checks pass; {len(left.get('pending') or [])} packages pending")
        if f.get("swarm_drained"):
            await swarm_vm.activate(ctx, f)
        return {}


class G5Keep(GuestStep):
    number, title, phase = 5, "Keep the snapshot for the grace period", "done"

    async def apply(self, ctx: StepContext) -> dict:
        f = self.f(ctx)
        name = f.get("snapshot")
        if f.get("nothing") or not name:
            return {}
        svc = _svc(ctx)
        hours = svc.settings.snapshot_grace_hours
        if hours <= 0:  # no grace period: the snapshot goes now, also an upgraded BACKUP's
            await G1Snapshot(self.key).undo(ctx, {"remove": True})
            return {}
        ctx.progress(f"snapshot {name} kept {hours:g} h; a later run or `labconsole upgrade cleanup` removes it")
        from console.upgrade.cleanup import remove_expired

        for line in await remove_expired(svc, vmids={int(f["vmid"])}):
            ctx.progress(line)
        return {}


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


GUEST_STEPS = (G0Preflight, G1Snapshot, G2Upgrade, G3Restart, G4Verify, G5Keep)


def guest_steps(label: str) -> list[BaseStep]:
    return [c() for c in GUEST_STEPS]


__all__ = ["GUEST_STEPS", "guest_steps", "inside_problems", "rollback_guest", "wait_healthy"]
