"""Upgrade U0-U2: record what is installed, dist-upgrade, reboot into the new kernel.

Undo, as the failure calls for: boot the previous kernel
(`proxmox-boot-tool kernel pin OLD --next-boot` + reboot), roll the root
dataset back to its snapshot where root is on ZFS, or downgrade the packages
recorded before the upgrade. The node stays drained throughout.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from console.maintenance.engine import BaseStep, StepContext, StepFailed

if TYPE_CHECKING:
    from console.maintenance.services import MaintenanceServices

KERNEL_RE = re.compile(r"^\d+\.\d+\.\d+-\d+-pve$")
DPKG_LIST = "dpkg-query -W -f '${Package} ${Version}\\n'"


def parse_dpkg(text: str) -> dict[str, str]:
    pkgs = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pkgs[parts[0]] = parts[1]
    return pkgs


def parse_kernels(text: str) -> list[str]:
    """`proxmox-boot-tool kernel list` -> kernel versions (manual + automatic sections)."""
    return [w for line in text.splitlines() for w in line.split() if KERNEL_RE.match(w)]


def kernel_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


class U0Record(BaseStep):
    id, title, phase = "U0", "Record packages and kernels; snapshot the root dataset (ZFS)", "upgrade"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        if "packages" in ctx.facts:  # recorded already (resumed run): keep the first record
            ctx.progress("versions recorded before; keeping that record")
            return {}
        dpkg, uname, klist = await asyncio.gather(  # three reads at once (one SSH connection, three channels)
            svc.sh(ctx.node, DPKG_LIST), svc.sh(ctx.node, "uname -r"),
            svc.sh(ctx.node, "proxmox-boot-tool kernel list"))
        pkgs, running, kernels = parse_dpkg(dpkg.stdout), uname.stdout.strip(), parse_kernels(klist.stdout)
        ctx.facts.update(packages=pkgs, kernel=running, kernels=kernels)
        ctx.progress(f"recorded {len(pkgs)} packages, running kernel {running}, installed {', '.join(kernels)}")
        dataset = await root_dataset(ctx, svc)
        if dataset:
            snap = f"{dataset}@labconsole-{time.strftime('%Y%m%d-%H%M%S')}"
            await svc.sh(ctx.node, f"zfs snapshot {snap}", privileged=True)
            ctx.facts["snapshot"] = snap
            ctx.progress(f"zfs snapshot {snap}")
        return {}


async def root_dataset(ctx: StepContext, svc: MaintenanceServices) -> str | None:
    setting = svc.cluster.maintenance.root_dataset
    if setting == "":
        return None
    if setting != "auto":
        return setting
    r = await svc.sh(ctx.node, "findmnt -n -o SOURCE /", check=False)
    src = r.stdout.strip()
    if r.exit_status == 0 and src and not src.startswith("/dev/"):
        return src  # a ZFS dataset name, e.g. rpool/ROOT/pve-1
    return None


class U1DistUpgrade(BaseStep):
    """The lists are those P8 refreshed (`POST apt/update` runs apt-get update) and the archives
    were fetched meanwhile (apt_download.py): no second `apt-get update`, which could only bring in
    versions the plan did not show."""

    id, title, phase = "U1", "apt-get dist-upgrade (the lists P8 refreshed, the archives fetched meanwhile)", "upgrade"

    async def apply(self, ctx: StepContext) -> dict:
        from console.maintenance.apt_download import finish_download

        svc = self.svc(ctx)
        await finish_download(ctx, svc)
        cmd = "DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade"
        ctx.progress(f"$ {cmd}")
        code = await svc.ssh.stream(ctx.node, cmd, ctx.output, timeout=svc.timeout(3600), privileged=True)
        if code != 0:
            raise StepFailed(self.id, f"dist-upgrade exited {code}", "the node stays drained; retry or roll back")
        kernels = parse_kernels((await svc.sh(ctx.node, "proxmox-boot-tool kernel list")).stdout)
        ctx.facts["target_kernel"] = max(kernels, key=kernel_key) if kernels else None
        ctx.facts["upgraded"] = parse_dpkg((await svc.sh(ctx.node, DPKG_LIST)).stdout)
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        svc = self.svc(ctx)
        if await restore_packages(ctx, svc):
            await restart_if_stale(ctx, svc)


async def restart_if_stale(ctx: StepContext, svc: MaintenanceServices) -> None:
    """The packages are back, but what the upgrade restarted (pveproxy, the pve daemons) still runs
    the new version until it starts again; a root dataset rolled back under a running system wants a
    boot anyway. The node is drained: reboot it onto what is installed."""
    want = (ctx.facts.get("packages") or {}).get("pve-manager")
    shown = (await svc.sh(ctx.node, "pveversion")).stdout.strip()  # pve-manager/8.2.4/HASH (running kernel: ...)
    running = shown.split("/")[1] if shown.count("/") >= 2 else ""
    if want and running and running != want:
        ctx.progress(f"pve-manager {running} still runs (the restored {want} is installed): rebooting the "
                     f"drained {ctx.node}")
        await reboot_and_wait(ctx, svc)


async def wait_for_dpkg_lock(ctx: StepContext, svc: MaintenanceServices) -> None:
    """Until no apt/dpkg holds the dpkg lock: a console killed during U1 leaves its dist-upgrade
    running on the node (or dpkg finishing), and what it changes after the versions are read
    would outlive the downgrade. Without fuser (psmisc) on the node this does not wait."""
    async def holder() -> str | None:
        r = await svc.sh(ctx.node, f"fuser {DPKG_LOCK}", check=False, privileged=True)
        return f"held by PID {r.stdout.split(':')[-1].strip()}" if r.exit_status == 0 and r.stdout.strip() else None

    await svc.wait_for(ctx, f"the dpkg lock on {ctx.node} (an interrupted apt may still run there)", holder,
                       svc.limit("apt_lock"))


async def restore_packages(ctx: StepContext, svc: MaintenanceServices) -> bool:
    """Put the recorded package versions back: roll the root dataset back to its snapshot
    where there is one, else downgrade what changed. True when something was restored."""
    recorded: dict[str, str] = ctx.facts.get("packages") or {}
    if not recorded:
        ctx.progress("no package record: nothing to downgrade")
        return False
    await wait_for_dpkg_lock(ctx, svc)
    now = parse_dpkg((await svc.sh(ctx.node, DPKG_LIST)).stdout)
    changed = {p: v for p, v in recorded.items() if now.get(p) != v}
    added = sorted(set(now) - set(recorded))
    if not changed and not added:
        ctx.progress("packages are at their recorded versions")
        return False
    snap = ctx.facts.get("snapshot")
    if snap:
        ctx.progress(f"zfs rollback -r {snap} ({len(changed)} packages changed, {len(added)} added)")
        await svc.sh(ctx.node, f"zfs rollback -r {snap}", privileged=True)
        ctx.facts["rolled_back_root"] = True
        return True
    if not changed:
        ctx.progress(f"only new packages since the record ({', '.join(added[:4])}): kept, the old kernel is pinned")
        return False
    spec = " ".join(f"{p}={v}" for p, v in sorted(changed.items()))
    ctx.progress(f"downgrading {len(changed)} packages to their recorded versions")
    code = await svc.ssh.stream(ctx.node,
                                f"DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades {spec}",
                                ctx.output, timeout=svc.timeout(3600), privileged=True)
    if code != 0:
        raise StepFailed("U1", f"downgrade exited {code}", "the node stays drained; fix by hand")
    return True


DPKG_LOCK = "/var/lib/dpkg/lock-frontend"


class U2Reboot(BaseStep):
    id, title, phase = "U2", "Reboot into the new kernel (when it changed)", "upgrade"

    async def apply(self, ctx: StepContext) -> dict:
        svc = self.svc(ctx)
        await wait_online(ctx, svc)  # a resumed run may find the node still rebooting
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        target = ctx.facts.get("target_kernel")
        if target and running != target:
            ctx.progress(f"running {running}, installed {target}: rebooting")
        elif await needrestart_wants_reboot(ctx, svc):
            ctx.progress("needrestart -b: the running kernel is outdated: rebooting")
        elif svc.plan(ctx.node).force_reboot:
            ctx.progress("nothing changed, but a reboot was asked for (--force): rebooting")
        else:
            ctx.progress(f"running kernel {running} is current: no reboot needed")
            return {}
        await reboot_and_wait(ctx, svc)
        return {}

    async def undo(self, ctx: StepContext, data: dict) -> None:
        """Back to the state before the upgrade: packages (or root dataset) first, then boot the
        previous kernel, so the node comes up on the software it ran before."""
        svc = self.svc(ctx)
        old = ctx.facts.get("kernel")
        if not old:
            return
        await wait_online(ctx, svc)
        restored = await restore_packages(ctx, svc)
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        if running == old and not restored:
            ctx.progress(f"already running the previous kernel {old}")
            return
        kernels = parse_kernels((await svc.sh(ctx.node, "proxmox-boot-tool kernel list")).stdout)
        newer = [k for k in kernels if kernel_key(k) > kernel_key(old)]
        # with a newer kernel still installed (packages downgraded, not rolled back), a
        # --next-boot pin would last one boot only: pin for good and say how to undo it
        pin = f"proxmox-boot-tool kernel pin {old}" + ("" if newer else " --next-boot")
        await svc.sh(ctx.node, pin, privileged=True)
        ctx.progress(f"{pin}; rebooting")
        if newer:
            ctx.progress(f"{', '.join(newer)} stays installed but is not booted; "
                         "`proxmox-boot-tool kernel unpin` once it is fixed")
        await reboot_and_wait(ctx, svc)
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        if running != old:
            raise StepFailed(self.id, f"node came back with kernel {running}, not {old}")
        ctx.progress(f"{ctx.node} runs the previous kernel {old} again")


async def needrestart_wants_reboot(ctx: StepContext, svc: MaintenanceServices) -> bool:
    """`needrestart -b` (batch mode), where installed: NEEDRESTART-KSTA 2 (ABI) or 3 (version)
    means the running kernel is not the one installed."""
    r = await svc.sh(ctx.node, "needrestart -b", check=False)
    if r.exit_status != 0:
        return False  # not installed (127) or failed: the kernel comparison decides
    for line in r.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "NEEDRESTART-KSTA":
            return value.strip() in ("2", "3")
    return False


async def wait_online(ctx: StepContext, svc: MaintenanceServices) -> None:
    """Until the node answers over the API and over SSH."""

    async def up() -> str | None:
        st = await svc.src("proxmox").node_status(ctx.node)
        if not st.get("uptime"):
            return "no uptime yet"
        r = await svc.ssh.run(ctx.node, "true", timeout=10)
        return None if r.exit_status == 0 else f"ssh exited {r.exit_status}"

    await svc.wait_for(ctx, f"{ctx.node} reachable", up, svc.limit("reboot"), errors_for=svc.limit("reboot"))


async def reboot_and_wait(ctx: StepContext, svc: MaintenanceServices) -> None:
    pve = svc.src("proxmox")
    before = (await pve.node_status(ctx.node)).get("uptime", 0)
    upid = await pve.reboot(ctx.node)
    ctx.progress("reboot requested" + (f" ({upid})" if upid else ""))

    seen_down = False

    async def back() -> str | None:
        # rebooted: it was seen down and answers again, or its uptime started over
        # (uptime alone misleads when the node had only just booted before)
        nonlocal seen_down
        try:
            st = await pve.node_status(ctx.node)
        except Exception:  # noqa: BLE001 - expected while it is down
            seen_down = True
            return "down (not answering)"
        up = st.get("uptime", 0)
        if not up:
            seen_down = True
            return "booting"
        return None if seen_down or up < before else f"up {up} s, not rebooted yet"

    await svc.wait_for(ctx, f"{ctx.node} back from reboot", back, svc.limit("reboot"))
    ctx.progress(f"{ctx.node} is back")


UPGRADE = (U0Record, U1DistUpgrade, U2Reboot)
