"""Upgrade U0-U2: record what is installed, dist-upgrade, reboot into the new kernel.

Undo, as the failure calls for: boot the previous kernel
(`proxmox-boot-tool kernel pin OLD --next-boot` + reboot), roll the root
dataset back to its snapshot where root is on ZFS, or downgrade the packages
recorded before the upgrade. The node stays drained throughout.
"""

from __future__ import annotations

import re
import time

from console.maintenance.engine import StepFailed
from console.maintenance.steps_preflight import BaseStep

KERNEL_RE = re.compile(r"^\d+\.\d+\.\d+-\d+-pve$")


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

    async def apply(self, ctx):
        svc = self.svc(ctx)
        if "packages" in ctx.facts:  # recorded already (resumed run): keep the first record
            ctx.progress("versions recorded before; keeping that record")
            return {}
        pkgs = parse_dpkg((await svc.sh(ctx.node, "dpkg-query -W -f '${Package} ${Version}\\n'")).stdout)
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        kernels = parse_kernels((await svc.sh(ctx.node, "proxmox-boot-tool kernel list")).stdout)
        ctx.facts.update(packages=pkgs, kernel=running, kernels=kernels)
        ctx.progress(f"recorded {len(pkgs)} packages, running kernel {running}, installed {', '.join(kernels)}")
        dataset = await root_dataset(ctx, svc)
        if dataset:
            snap = f"{dataset}@labconsole-{time.strftime('%Y%m%d-%H%M%S')}"
            await svc.sh(ctx.node, f"zfs snapshot {snap}")
            ctx.facts["snapshot"] = snap
            ctx.progress(f"zfs snapshot {snap}")
        return {}


async def root_dataset(ctx, svc) -> str | None:
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
    id, title, phase = "U1", "apt-get update && apt-get dist-upgrade", "upgrade"

    async def apply(self, ctx):
        svc = self.svc(ctx)
        cmd = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade"
        ctx.progress(f"$ {cmd}")
        code = await svc.ssh.stream(ctx.node, cmd, ctx.progress, timeout=svc.timeout(3600))
        if code != 0:
            raise StepFailed(self.id, f"dist-upgrade exited {code}", "the node stays drained; retry or roll back")
        kernels = parse_kernels((await svc.sh(ctx.node, "proxmox-boot-tool kernel list")).stdout)
        ctx.facts["target_kernel"] = max(kernels, key=kernel_key) if kernels else None
        ctx.facts["upgraded"] = parse_dpkg((await svc.sh(ctx.node, "dpkg-query -W -f '${Package} ${Version}\\n'")).stdout)
        return {}

    async def undo(self, ctx, data):
        svc = self.svc(ctx)
        recorded: dict[str, str] = ctx.facts.get("packages") or {}
        if not recorded:
            ctx.progress("no package record: nothing to downgrade")
            return
        now = parse_dpkg((await svc.sh(ctx.node, "dpkg-query -W -f '${Package} ${Version}\\n'")).stdout)
        changed = {p: v for p, v in recorded.items() if now.get(p) not in (None, v)}
        if not changed:
            ctx.progress("packages are at their recorded versions")
            return
        snap = ctx.facts.get("snapshot")
        if snap:
            ctx.progress(f"zfs rollback -r {snap} ({len(changed)} packages changed)")
            await svc.sh(ctx.node, f"zfs rollback -r {snap}")
            ctx.facts["rolled_back_root"] = True
            return
        spec = " ".join(f"{p}={v}" for p, v in sorted(changed.items()))
        ctx.progress(f"downgrading {len(changed)} packages to their recorded versions")
        code = await svc.ssh.stream(ctx.node, f"DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades {spec}",
                                    ctx.progress, timeout=svc.timeout(3600))
        if code != 0:
            raise StepFailed(self.id, f"downgrade exited {code}", "the node stays drained; fix by hand")


class U2Reboot(BaseStep):
    id, title, phase = "U2", "Reboot into the new kernel (when it changed)", "upgrade"

    async def apply(self, ctx):
        svc = self.svc(ctx)
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        target = ctx.facts.get("target_kernel")
        if not target or running == target:
            ctx.progress(f"running kernel {running} is current: no reboot needed")
            return {}
        ctx.progress(f"running {running}, installed {target}: rebooting")
        await reboot_and_wait(ctx, svc)
        return {}

    async def undo(self, ctx, data):
        svc = self.svc(ctx)
        old = ctx.facts.get("kernel")
        if not old:
            return
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        if running == old and not ctx.facts.get("rolled_back_root"):
            ctx.progress(f"already running the previous kernel {old}")
            return
        await svc.sh(ctx.node, f"proxmox-boot-tool kernel pin {old} --next-boot")
        ctx.progress(f"proxmox-boot-tool kernel pin {old} --next-boot; rebooting")
        await reboot_and_wait(ctx, svc)
        running = (await svc.sh(ctx.node, "uname -r")).stdout.strip()
        if running != old:
            raise StepFailed(self.id, f"node came back with kernel {running}, not {old}")


async def reboot_and_wait(ctx, svc) -> None:
    pve = svc.src("proxmox")
    before = (await pve.node_status(ctx.node)).get("uptime", 0)
    upid = await pve.reboot(ctx.node)
    ctx.progress(f"reboot requested ({upid.split(':')[5] if upid.count(':') > 5 else upid})")

    async def back():
        try:
            st = await pve.node_status(ctx.node)
        except Exception as exc:  # noqa: BLE001 - expected while it is down
            return f"down ({type(exc).__name__})"
        up = st.get("uptime", 0)
        return None if up < before else f"up {up} s, not rebooted yet"

    await svc.wait_for(ctx, f"{ctx.node} back from reboot", back, svc.cluster.maintenance.reboot_timeout)
    ctx.progress(f"{ctx.node} is back")


UPGRADE = (U0Record, U1DistUpgrade, U2Reboot)
