"""Packages inside the simulated guests (CTs, VMs, the firewall VMs): what is
installed, what the guest's repositories offer (some security updates, some
bumping the kernel or libc), the running kernel of a VM, its systemd units,
and whether its service answers.

Reached by the console through `pct exec` on the CT's node (ssh_cmd_node),
the QEMU guest agent (pve_ops_agent) and the firewalls' SSH (ssh_server);
the commands themselves are in guest_shell.

An upgrade that changes docker-ce/docker.io/containerd restarts dockerd inside
the guest: when the guest is a Swarm node, its tasks stop and Swarm restarts
them (World.dockerd_restarted), as on a real node that was not drained first.

A snapshot captures a guest's package state and a rollback restores it
(dynamics_ops calls capture/restore), so a rolled-back upgrade really is
undone. Faults (World.inject):
- guest-upgrade-breaks-service VMID   its next dist-upgrade leaves its service
  failing (probe down, a unit failed, `systemctl is-system-running` degraded)
- snapshot-fails VMID                 its snapshots fail as on a storage without
  snapshot support (the guest is not touched)
- backup-firewall-fails-check [FW]    the firewall (default: whichever is BACKUP
  when it is upgraded) comes out of its upgrade with keepalived failing
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

OLD_GUEST_KERNEL = "6.1.0-27-amd64"
NEW_GUEST_KERNEL = "6.1.0-28-amd64"
LIBC = "libc6"
DEBIAN_BASE = {"base-files": "12.4+deb12u7", "libc6": "2.36-9+deb12u8", "openssl": "3.0.14-1~deb12u2",
               "libssl3": "3.0.14-1~deb12u2", "curl": "7.88.1-10+deb12u7", "tzdata": "2024a-0+deb12u1",
               "systemd": "252.30-1~deb12u2", "openssh-server": "1:9.2p1-2+deb12u3"}
DEBIAN_NEWER = {"base-files": "12.4+deb12u8", "libc6": "2.36-9+deb12u9", "openssl": "3.0.15-1~deb12u1",
                "libssl3": "3.0.15-1~deb12u1", "curl": "7.88.1-10+deb12u8", "tzdata": "2024b-0+deb12u1"}
SECURITY = {"openssl", "libssl3", "curl", "libc6", "openssh-server", "postfix", "postgresql-15"}
VM_KERNEL = {f"linux-image-{OLD_GUEST_KERNEL}": "6.1.115-1", "linux-image-amd64": "6.1.115-1"}
VM_KERNEL_NEWER = {f"linux-image-{NEW_GUEST_KERNEL}": "6.1.119-1", "linux-image-amd64": "6.1.119-1"}

# role -> (own packages installed, newer versions, units); a CT shares its node's kernel
ROLE_PACKAGES: dict[str, tuple[dict[str, str], dict[str, str], tuple[str, ...]]] = {
    "mail": ({"postfix": "3.7.11-0+deb12u1", "dovecot-imapd": "1:2.3.19.1+dfsg1-2.1+deb12u1"},
             {"postfix": "3.7.12-0+deb12u1"}, ("postfix", "dovecot")),
    "db": ({"postgresql-15": "15.8-0+deb12u1"}, {"postgresql-15": "15.10-0+deb12u1"}, ("postgresql",)),
    "firewall": ({"keepalived": "1:2.2.7-1+b2", "nftables": "1.0.6-2+deb12u2"}, {"nftables": "1.0.6-2+deb12u3"},
                 ("keepalived", "nftables")),
    "swarm": ({"docker-ce": "5:27.3.1-1~debian.12~bookworm"}, {"docker-ce": "5:27.4.0-1~debian.12~bookworm"},
              ("docker",)),
    "app": ({}, {}, ()),
}
DOCKER_PACKAGES = frozenset({"docker-ce", "docker-ce-cli", "docker.io", "containerd", "containerd.io"})
NOT_DEBIAN = {"homeassistant": 'ID=haos\nNAME="Home Assistant OS"\nVERSION_ID=13.2\n'}
NO_AGENT = {"jellyfin"}  # a VM without the guest agent and without an SSH address: not inspectable


@dataclass
class GuestPkgs:
    os_release: str
    installed: dict[str, str]
    repo: dict[str, str]  # newest version of every package the repositories offer
    units: dict[str, str]  # unit -> "active" | "failed"
    agent: bool = True
    kernel: str | None = None  # running kernel (VMs); None: a CT, the node's kernel
    kernels: list[str] = field(default_factory=list)  # installed kernels (VMs)
    libc_at_boot: str | None = None  # the libc version the running processes use
    broken: bool = False  # its service fails (fault guest-upgrade-breaks-service took effect)
    upgrading: bool = False

    @property
    def debian(self) -> bool:
        return "ID=debian" in self.os_release

    def pending(self) -> dict[str, tuple[str, str]]:
        return {p: (self.installed.get(p, ""), v) for p, v in sorted(self.repo.items())
                if self.installed.get(p) != v}

    def reboot_required(self) -> bool:
        if self.kernel is None:
            return False
        newest = max(self.kernels, key=_kkey) if self.kernels else self.kernel
        return newest != self.kernel or (self.libc_at_boot is not None
                                         and self.libc_at_boot != self.installed.get(LIBC))


def _kkey(k: str) -> tuple[int, ...]:
    import re

    return tuple(int(x) for x in re.findall(r"\d+", k))


@dataclass
class GuestLab:
    pkgs: dict[int, GuestPkgs] = field(default_factory=dict)
    snapshots: dict[tuple[int, str], GuestPkgs] = field(default_factory=dict)
    break_on_upgrade: set[int] = field(default_factory=set)
    snapshot_fail: set[int] = field(default_factory=set)
    fw_fail_check: set[str] = field(default_factory=set)  # firewall names; "" = whichever is BACKUP
    agent_runs: dict[tuple[int, int], dict] = field(default_factory=dict)  # (vmid, pid) -> exec-status
    next_pid: int = 1000


def lab_of(world) -> GuestLab:
    lab = getattr(world, "guest_lab", None)
    if lab is None:
        lab = world.guest_lab = GuestLab()
        seed(world, lab)
    return lab


def seed(world, lab: GuestLab) -> None:
    for g in world.guests.values():
        lab.pkgs[g.vmid] = _initial(g)


def _initial(g) -> GuestPkgs:
    if g.name in NOT_DEBIAN:
        return GuestPkgs(NOT_DEBIAN[g.name], {}, {}, {"ha-core": "active"}, agent=True,
                         kernel="6.6.46-haos", kernels=["6.6.46-haos"])
    own, newer, units = ROLE_PACKAGES.get(g.role, ROLE_PACKAGES["app"])
    installed = {**DEBIAN_BASE, **own}
    repo = {**installed, **DEBIAN_NEWER, **newer}
    os_release = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
    p = GuestPkgs(os_release, installed, repo, {u: "active" for u in ("cron", "ssh", *units)})
    if g.type == "qemu":
        p.installed.update(VM_KERNEL)
        p.repo.update({**VM_KERNEL, **VM_KERNEL_NEWER})
        p.kernel, p.kernels = OLD_GUEST_KERNEL, [OLD_GUEST_KERNEL]
        p.libc_at_boot = p.installed[LIBC]
        p.agent = g.name not in NO_AGENT
    if "template" in g.tags:
        p.repo = dict(p.installed)  # a template is kept current by hand: nothing pending
    return p


def pkgs(world, vmid: int) -> GuestPkgs:
    lab = lab_of(world)
    if vmid not in lab.pkgs:  # a guest made after the scenario
        lab.pkgs[vmid] = _initial(world.guests[vmid])
    return lab.pkgs[vmid]


# --------------------------------------------------------------- snapshots
def snapshot_error(world, g) -> str | None:
    """The task error of a snapshot of `g` under the snapshot-fails fault (None: it works)."""
    if g.vmid in lab_of(world).snapshot_fail:
        return "snapshot feature is not available"
    return None


def capture(world, g, name: str) -> None:
    lab = lab_of(world)
    lab.snapshots[(g.vmid, name)] = copy.deepcopy(pkgs(world, g.vmid))


def forget(world, g, name: str) -> None:
    lab_of(world).snapshots.pop((g.vmid, name), None)


def restore(world, g, name: str) -> None:
    """A rollback: the disk's package state as it was; a VM boots its newest installed kernel."""
    lab = lab_of(world)
    saved = lab.snapshots.get((g.vmid, name))
    if saved is None:
        return
    state = copy.deepcopy(saved)
    lab.pkgs[g.vmid] = state
    booted(world, g)
    _firewall_follows(world, g, state)


def booted(world, g) -> None:
    """The guest (re)started: a VM runs its newest kernel and the installed libc."""
    p = lab_of(world).pkgs.get(g.vmid)
    if p is None or p.kernel is None:
        return
    if p.kernels:
        p.kernel = max(p.kernels, key=_kkey)
    p.libc_at_boot = p.installed.get(LIBC)


def _firewall_follows(world, g, state: GuestPkgs) -> None:
    fw = next((f for f in world.firewalls.values() if f.vmid == g.vmid), None)
    if fw is not None and not state.broken and not fw.keepalived_running:
        world.keepalived(fw.name, True)


# ------------------------------------------------------------------ upgrade
def apply_upgrade(world, g) -> list[str]:
    """Install every pending version; the names of what changed. The fault decides whether
    the guest's service survives it."""
    p = pkgs(world, g.vmid)
    changed = sorted(p.pending())
    for name in changed:
        p.installed[name] = p.repo[name]
        if name.startswith("linux-image-") and name.endswith("-amd64") and name != "linux-image-amd64":
            kernel = name.removeprefix("linux-image-")
            if kernel not in p.kernels:
                p.kernels.append(kernel)
    if DOCKER_PACKAGES.intersection(changed) and hasattr(world, "dockerd_restarted"):
        world.dockerd_restarted(g.name)  # the package's postinst restarts docker.service
    if changed and _breaks(world, g):
        p.broken = True
        for unit in list(p.units)[2:] or list(p.units):
            p.units[unit] = "failed"
            break
        fw = next((f for f in world.firewalls.values() if f.vmid == g.vmid), None)
        if fw is not None:
            p.units["keepalived"] = "failed"
            world.keepalived(fw.name, False)
    return changed


def _breaks(world, g) -> bool:
    lab = lab_of(world)
    if g.vmid in lab.break_on_upgrade:
        return True
    fw = next((f for f in world.firewalls.values() if f.vmid == g.vmid), None)
    if fw is None or not lab.fw_fail_check:
        return False
    return fw.name in lab.fw_fail_check or ("" in lab.fw_fail_check and fw.state != 2)


def service_up(world, vmid: int) -> bool:
    """What a probe of the guest's service sees: it runs, and its upgrade did not break it."""
    g = world.guests.get(vmid)
    if g is None or not world.guest_available(g):
        return False
    p = lab_of(world).pkgs.get(vmid)
    return p is None or not p.broken


# ------------------------------------------------------------------ faults
GUEST_FAULTS = ("guest-upgrade-breaks-service", "snapshot-fails", "backup-firewall-fails-check")


def inject(world, kind: str, target) -> None:
    lab = lab_of(world)
    if kind == "guest-upgrade-breaks-service":
        lab.break_on_upgrade.add(world._t_vmid(kind, target))
    elif kind == "snapshot-fails":
        lab.snapshot_fail.add(world._t_vmid(kind, target))
    elif kind == "backup-firewall-fails-check":
        from console.sim.sim_errors import SimError

        if target and target not in world.firewalls:
            raise SimError(404, f"fault {kind}: no firewall named {target!r}")
        lab.fw_fail_check.add(str(target or ""))


def clear(world, kind: str, target) -> None:
    lab = lab_of(world)
    if kind == "guest-upgrade-breaks-service":
        lab.break_on_upgrade.discard(int(target)) if target else lab.break_on_upgrade.clear()
    elif kind == "snapshot-fails":
        lab.snapshot_fail.discard(int(target)) if target else lab.snapshot_fail.clear()
    elif kind == "backup-firewall-fails-check":
        lab.fw_fail_check.discard(str(target)) if target else lab.fw_fail_check.clear()


def faults_dict(world) -> dict:
    lab = lab_of(world)
    return {"guest_upgrade_breaks": sorted(lab.break_on_upgrade), "snapshot_fails": sorted(lab.snapshot_fail),
            "backup_firewall_fails_check": sorted(lab.fw_fail_check)}


def summary(world) -> dict:
    """Per guest: pending count, running kernel, broken (for tests and the control interface)."""
    lab = lab_of(world)
    return {str(v): {"pending": len(p.pending()), "kernel": p.kernel, "broken": p.broken,
                     "reboot_required": p.reboot_required(),
                     "units_failed": sorted(u for u, s in p.units.items() if s != "active")}
            for v, p in sorted(lab.pkgs.items())}
