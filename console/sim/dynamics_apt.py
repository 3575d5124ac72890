"""Node software: apt update / dist-upgrade, kernels and pins, downgrade, ZFS root snapshots."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from console.sim.sim_errors import SimCommandFailed, SimError
from console.sim.state import SimNode

KERNEL_PKG = re.compile(r"^proxmox-kernel-(\d+\.\d+\.\d+-\d+-pve)(-signed)?$")
LOCK_ERRORS = ("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)",
               "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using "
               "it?")
PROXMOX_REPO = "http://download.proxmox.com/debian/pve bookworm/pve-no-subscription"


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


class AptDynamics:
    """Mixed into World."""

    def _pending(self, n: SimNode) -> dict[str, str]:
        out = {}
        for name, newest in n.repo.items():
            have = n.packages.get(name)
            if have is None and KERNEL_PKG.match(name):
                out[name] = newest  # a new kernel comes in as a new dependency
            elif have is not None and version_key(newest) > version_key(have):
                out[name] = newest
        return out

    def _online_node(self, node: str) -> SimNode:
        n = self.nodes.get(node)
        if n is None:
            raise SimError(400, "Parameter verification failed.", {"node": f"no such cluster node '{node}'"})
        if n.status != "online":
            raise SimError(595, f"Connection refused ({node} is offline)")
        return n

    def apt_update(self, node: str) -> str:
        self.tick()
        n = self._online_node(node)
        task = self.new_task(node, "aptupdate", "")
        task.log.append("starting apt-get update")
        for i, line in enumerate(
            (
                "Hit:1 http://deb.debian.org/debian bookworm InRelease",
                "Hit:2 http://deb.debian.org/debian bookworm-updates InRelease",
                "Hit:3 http://security.debian.org bookworm-security InRelease",
                f"Get:4 {PROXMOX_REPO.split()[0]} bookworm InRelease [2,771 B]",
                "Get:5 http://download.proxmox.com/debian/ceph-reef bookworm InRelease [2,738 B]",
                "Reading package lists...",
            )
        ):
            self.at(self.duration("apt_update") * (i + 1) / 7, self._log, task, line)
        self.at(self.duration("apt_update"), self._apt_update_done, n, task)
        return task.upid

    def _apt_update_done(self, n: SimNode, task) -> None:
        from console.sim.pve_ops_node import apt_update_trap  # h-operate2: the enterprise-repo fault

        trap = apt_update_trap(self, n.name)
        if trap:
            task.log.extend(trap)
            self.finish_task(task, "command 'apt-get update' failed: exit code 100")
            return
        n.upgradable = self._pending(n)
        n.apt_updated_at = self._t
        self.finish_task(task)

    def _archives(self, node: str) -> dict[str, str]:
        """The node's /var/cache/apt/archives: package -> version downloaded and not yet installed."""
        return self.__dict__.setdefault("_apt_archives", {}).setdefault(node, {})

    def dpkg_locked(self, node: str) -> bool:
        """An apt-get dist-upgrade runs there (it holds /var/lib/dpkg/lock-frontend), also one whose
        SSH client is gone: the sim lets it run to its end, as `nohup` or a surviving dpkg would."""
        return node in self._upgrading

    async def dist_upgrade(self, node: str, out: Callable[[str], None], download_only: bool = False) -> int:
        """Stream `apt-get -y dist-upgrade` output through out(); return the exit code. With
        download_only (`apt-get -d`), fetch the archives into the node's cache and stop there: a
        later dist-upgrade fetches only what is not cached (the download takes `apt_fetch` lab
        seconds for the whole set, by share of packages; both pay it alike)."""
        self.tick()
        n = self.nodes.get(node)
        if n is None or n.status != "online":
            raise SimCommandFailed(255, f"{node} is not reachable")
        if self.dpkg_locked(node):
            for line in LOCK_ERRORS:
                out(line)
            return 100
        self._upgrading.add(node)
        try:
            return await self._dist_upgrade(n, out, download_only)
        finally:
            self._upgrading.discard(node)

    async def _dist_upgrade(self, n: SimNode, out: Callable[[str], None], download_only: bool = False) -> int:
        plan = dict(n.upgradable)
        cache = self._archives(n.name)
        fetch = {p: v for p, v in sorted(plan.items()) if cache.get(p) != v}
        new = sorted(p for p in plan if p not in n.packages)
        upgraded = sorted(p for p in plan if p in n.packages)

        async def emit(line: str) -> None:
            out(line)
            await asyncio.sleep(self.real_seconds("upgrade_line"))
            self.tick()
            if n.status != "online":
                raise SimCommandFailed(255, "Connection to host closed by remote host.")

        for line in ("Reading package lists...", "Building dependency tree...", "Reading state information...",
                     "Calculating upgrade..."):
            await emit(line)
        if new:
            await emit("The following NEW packages will be installed:")
            await emit("  " + " ".join(new))
        if upgraded:
            await emit("The following packages will be upgraded:")
            await emit("  " + " ".join(upgraded))
        await emit(f"{len(upgraded)} upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.")
        if not plan:
            return 0
        size = len(fetch) * 7.3
        await emit(f"Need to get {size:.1f} MB" + (f"/{len(plan) * 7.3:.1f} MB" if len(fetch) < len(plan) else "")
                   + " of archives.")
        if not download_only:
            await emit(f"After this operation, {len(new) * 480 + 3} MB of additional disk space will be used.")
        per_package = self.real_seconds("apt_fetch") / len(plan)  # the whole set takes apt_fetch lab seconds
        for i, (name, ver) in enumerate(fetch.items(), 1):
            if n.name in self.faults.apt_fail and i == 2:
                await emit(f"Err:{i} {PROXMOX_REPO} amd64 {name} amd64 {ver}")
                await emit("  Could not connect to download.proxmox.com:80 (212.224.123.70), connection timed out")
                await emit("E: Failed to fetch "
                           f"{PROXMOX_REPO.split()[0]}/dists/bookworm/pve-no-subscription/binary-amd64/"
                           f"{name}_{ver}_amd64.deb  Could not connect to download.proxmox.com:80 (212.224.123.70), "
                           "connection timed out")
                await emit("E: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?")
                return 100
            await asyncio.sleep(per_package)
            await emit(f"Get:{i} {PROXMOX_REPO} amd64 {name} amd64 {ver} [{(i * 731) % 9000 + 120} kB]")
            cache[name] = ver
        if fetch:
            secs = self.duration("apt_fetch") * len(fetch) / len(plan)
            await emit(f"Fetched {size:.1f} MB in {secs:.0f}s ({size * 1000 / secs:,.0f} kB/s)")
        if download_only:
            await emit("Download complete and in download only mode")
            return 0
        prev_manager = n.packages.get("pve-manager")
        for name, ver in sorted(plan.items()):
            old = n.packages.get(name)
            await emit(f"Preparing to unpack .../{name}_{ver}_amd64.deb ...")
            await emit(f"Unpacking {name} ({ver}) over ({old}) ..." if old else f"Unpacking {name} ({ver}) ...")
        for name, ver in sorted(plan.items()):
            await emit(f"Setting up {name} ({ver}) ...")
            n.packages[name] = ver
            if name == min(plan):  # what the first package's maintainer script prints
                for line in self.apt_noise:
                    await emit(line)
            m = KERNEL_PKG.match(name)
            if m and m.group(1) not in n.kernels:
                n.kernels.append(m.group(1))
                await emit("Examining /etc/kernel/postinst.d.")
                await emit(f"run-parts: executing /etc/kernel/postinst.d/zz-proxmox-boot {m.group(1)} "
                           f"/boot/vmlinuz-{m.group(1)}")
                await emit("Re-executing '/etc/kernel/postinst.d/zz-proxmox-boot' in new private mount namespace..")
                await emit("Copying and configuring kernels on /dev/disk/by-uuid/7A5C-1E2B")
                for k in sorted(n.kernels, key=version_key):
                    await emit(f"	Copying kernel and creating boot-entry for {k}")
        await emit("Processing triggers for man-db (2.11.2-2) ...")
        await emit("Processing triggers for pve-ha-manager (4.0.5) ...")
        n.upgradable = self._pending(n)
        for name in plan:
            cache.pop(name, None)  # apt-get clean in spirit: what is installed is not counted as cached
        if "pve-manager" in plan:
            self._manager_before_upgrade[n.name] = prev_manager or n.pve_version
            n.pve_version = n.packages["pve-manager"]  # pveproxy restarted by the upgrade
        return 0

    # --------------------------------------------------------------- kernels
    def _choose_boot_kernel(self, n: SimNode) -> None:
        if n.pinned_kernel and n.pinned_kernel in n.kernels:
            n.kernel = n.pinned_kernel
            if n.pin_next_boot_only:
                n.pinned_kernel = None
                n.pin_next_boot_only = False
        else:
            n.kernel = max(n.kernels, key=version_key)
        good = self._good_kernels.get(n.name, set())
        if n.name in self.faults.bad_kernel and n.kernel not in good:
            self.verify_failed.add(n.name)
            n.pve_version = self._manager_before_upgrade.get(n.name, n.pve_version)
        else:
            self.verify_failed.discard(n.name)
            n.pve_version = n.packages.get("pve-manager", n.pve_version)

    def kernel_pin(self, node: str, version: str, next_boot: bool = False) -> None:
        n = self._online_node(node)
        if version not in n.kernels:
            raise SimCommandFailed(1, f"E: no kernel version {version} installed, refusing to pin")
        n.pinned_kernel = version
        n.pin_next_boot_only = bool(next_boot)

    def kernel_unpin(self, node: str) -> None:
        n = self._online_node(node)
        n.pinned_kernel = None
        n.pin_next_boot_only = False

    def downgrade(self, node: str, pkgs: dict[str, str]) -> int:
        n = self._online_node(node)
        for name, ver in pkgs.items():
            if ver not in self._known_versions.get(name, set()):
                raise SimCommandFailed(100, f"E: Version '{ver}' for '{name}' was not found")
        for name, ver in pkgs.items():
            n.packages[name] = ver
        n.upgradable = self._pending(n)
        if "pve-manager" in pkgs:
            n.pve_version = pkgs["pve-manager"]  # its postinst restarts pveproxy, as an upgrade's does
        return 0

    # ------------------------------------------------------------------ ZFS
    def zfs_snapshot(self, node: str, name: str) -> None:
        n = self._online_node(node)
        if not n.zfs_root:
            raise SimCommandFailed(1, "cannot open 'rpool/ROOT/pve-1': dataset does not exist")
        snaps = self._zfs.setdefault(node, {})
        if name in snaps:
            raise SimCommandFailed(1, f"cannot create snapshot '{n.zfs_root}@{name}': dataset already exists")
        snaps[name] = {"packages": dict(n.packages), "kernels": list(n.kernels),
                       "pinned": (n.pinned_kernel, n.pin_next_boot_only)}
        n.zfs_snapshots.append(name)

    def zfs_rollback(self, node: str, name: str) -> None:
        n = self._online_node(node)
        snaps = self._zfs.get(node, {})
        if not n.zfs_root or name not in snaps:
            raise SimCommandFailed(1,
                                   f"cannot open '{n.zfs_root or 'rpool/ROOT/pve-1'}@{name}': dataset does not exist")
        rec = snaps[name]
        n.packages = dict(rec["packages"])
        n.kernels = list(rec["kernels"])
        n.pinned_kernel, n.pin_next_boot_only = rec["pinned"]
        later = n.zfs_snapshots[n.zfs_snapshots.index(name) + 1 :]
        for s in later:  # `zfs rollback -r` destroys later snapshots
            snaps.pop(s, None)
            n.zfs_snapshots.remove(s)
        n.upgradable = self._pending(n)
