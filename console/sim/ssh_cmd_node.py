"""Commands of a sim Proxmox node: ha-manager, pveversion, proxmox-boot-tool,
reboot, zfs, findmnt, systemctl (ceph-osd@N), the pmxcfs lock directory
(ssh_cmd_pmxcfs), plus ceph (ssh_cmd_ceph) and
apt-get/dpkg-query (ssh_cmd_apt). Output and exit codes as the real tools give
them (PVE CLI errors exit 255).
"""

from __future__ import annotations

import hashlib
import re

from console.sim import pve_render
from console.sim.guest_shell import cmd_pct
from console.sim.sim_errors import SimCommandFailed, SimError
from console.sim.ssh_cmd_apt import cmd_apt_get, cmd_dpkg_query, cmd_fuser, version_key
from console.sim.ssh_cmd_ceph import cmd_ceph
from console.sim.ssh_cmd_pmxcfs import PMXCFS_COMMANDS
from console.sim.ssh_commands import Io, Shell


def _node(sh: Shell):
    return sh.world.nodes[sh.host.name]


def _pve_error(io: Io, e: SimError) -> int:
    io.errln(f"{e.status} {e.message}")
    for k, v in e.errors.items():
        io.errln(f"{k}: {v}")
    return 255


# ------------------------------------------------------------------ HA
async def cmd_ha_manager(sh: Shell, argv: list[str], io: Io) -> int:
    world = sh.world
    args = argv[1:]
    if args[:1] == ["status"]:
        world.tick()
        for row in pve_render.ha_status_current(world, sh.host.name):
            if row["type"] == "service":
                io.outln(f"service {row['sid']} ({row['node']}, {row['state']})")
            else:
                io.outln(f"{row['type']} {row['status']}")
        return 0
    if args[:2] == ["crm-command", "node-maintenance"]:
        if len(args) != 4 or args[2] not in ("enable", "disable"):
            io.errln("400 wrong number of arguments" if len(args) != 4
                     else f"400 Parameter verification failed.\naction: value '{args[2]}' does not have a value in "
                          "the enumeration 'enable, disable'")
            io.errln("ha-manager crm-command node-maintenance <action> <node>")
            return 255
        node = args[3]
        if node not in world.nodes:
            io.errln("400 Parameter verification failed.")
            io.errln(f"node: no such cluster node '{node}'")
            return 255
        try:
            world.ha_node_maintenance(node, args[2] == "enable")
        except SimError as e:
            return _pve_error(io, e)
        return 0
    if not args:
        io.errln("ERROR: no command specified")
    else:
        io.errln(f"ERROR: unknown command 'ha-manager {' '.join(args)}'")
    io.errln("USAGE: ha-manager <COMMAND> [ARGS] [OPTIONS]")
    return 255


# --------------------------------------------------------------- PVE
def _build_hash(version: str) -> str:
    return hashlib.sha1(version.encode()).hexdigest()[:16]


async def cmd_pveversion(sh: Shell, argv: list[str], io: Io) -> int:
    node = _node(sh)
    running = node.pve_version
    if not any(a in ("-v", "--verbose") for a in argv[1:]):
        io.outln(f"pve-manager/{running}/{_build_hash(running)} (running kernel: {node.kernel})")
        return 0
    pk = node.packages
    io.outln(f"proxmox-ve: {pk.get('proxmox-ve', '8.2.0')} (running kernel: {node.kernel})")
    io.outln(f"pve-manager: {pk.get('pve-manager', running)} (running version: {running}/{_build_hash(running)})")
    for name in sorted(pk):
        if name not in ("proxmox-ve", "pve-manager"):
            io.outln(f"{name}: {pk[name]}")
    return 0


async def cmd_boot_tool(sh: Shell, argv: list[str], io: Io) -> int:
    world = sh.world
    node = _node(sh)
    args = argv[1:]
    if args[:2] == ["kernel", "list"]:
        io.outln("Manually selected kernels:")
        io.outln("None.")
        io.outln("")
        io.outln("Automatically selected kernels:")
        for k in sorted(node.kernels, key=version_key):
            io.outln(k)
        if node.pinned_kernel:
            io.outln("")
            io.outln("Kernel pinned on next-boot:" if node.pin_next_boot_only else "Pinned kernel:")
            io.outln(node.pinned_kernel)
        return 0
    if args[:2] == ["kernel", "pin"] and len(args) >= 3:
        version = args[2]
        next_boot = "--next-boot" in args[3:]
        try:
            world.kernel_pin(sh.host.name, version, next_boot)
        except SimCommandFailed as e:
            io.errln(e.message)
            return e.exit_status
        target = "/etc/kernel/next-boot-pin" if next_boot else "/etc/kernel/proxmox-boot-pin"
        io.outln(f"Set kernel '{version}' in {target}.")
        io.outln("Refreshing kernels and initrds...")
        io.outln("Running hook script 'proxmox-auto-removal'..")
        io.outln("Running hook script 'zz-proxmox-boot'..")
        io.outln("Copying and configuring kernels on /dev/disk/by-uuid/7A5C-1E2B")
        for k in sorted(node.kernels, key=version_key):
            io.outln(f"\tCopying kernel and creating boot-entry for {k}")
        return 0
    if args[:2] == ["kernel", "unpin"]:
        world.kernel_unpin(sh.host.name)
        io.outln("Removing pinned kernel")
        return 0
    if args[:1] == ["status"]:
        io.outln("Re-executing '/usr/sbin/proxmox-boot-tool' in new private mount namespace..")
        io.outln("System currently booted with uefi")
        io.outln("7A5C-1E2B is configured with: uefi (versions: " + ", ".join(sorted(node.kernels, key=version_key))
                 + ")")
        return 0
    io.errln("USAGE: proxmox-boot-tool <commands> [ARGS]")
    io.errln("  proxmox-boot-tool kernel <add|remove> <kernel-version>")
    io.errln("  proxmox-boot-tool kernel pin <kernel-version> [--next-boot]")
    io.errln("  proxmox-boot-tool kernel unpin [--next-boot]")
    io.errln("  proxmox-boot-tool kernel list")
    return 2


async def cmd_reboot(sh: Shell, argv: list[str], io: Io) -> int:
    try:
        sh.world.reboot_node(sh.host.name)
    except SimError as e:
        io.errln(f"Failed to reboot: {e.message}")
        return 1
    sh.host.drop_after_command = True
    return 0


async def cmd_poweroff(sh: Shell, argv: list[str], io: Io) -> int:
    try:
        sh.world.shutdown_node(sh.host.name)
    except SimError as e:
        io.errln(f"Failed to power off: {e.message}")
        return 1
    sh.host.drop_after_command = True
    return 0


async def cmd_shutdown(sh: Shell, argv: list[str], io: Io) -> int:
    """`shutdown -r [now]` reboots; `shutdown [-h|-P] [now]` powers off (stays off until node-up)."""
    if "-r" in argv[1:]:
        return await cmd_reboot(sh, argv, io)
    if all(a in ("-h", "-P", "now", "+0") for a in argv[1:]):
        return await cmd_poweroff(sh, argv, io)
    io.errln("shutdown: only 'shutdown -r|-h [now]' is supported on this lab node")
    return 1


# ----------------------------------------------------------------- ZFS
def _datasets(node) -> list[str]:
    root = node.zfs_root
    if not root:
        return []
    pool = root.split("/")[0]
    parents = ["/".join(root.split("/")[:i]) for i in range(1, root.count("/") + 1)]
    return sorted({pool, *parents, root, f"{pool}/data", f"{pool}/var-lib-vz"})


async def cmd_zfs(sh: Shell, argv: list[str], io: Io) -> int:
    world = sh.world
    node = _node(sh)
    args = argv[1:]
    if not args:
        io.errln("missing command")
        return 2
    sub, rest = args[0], args[1:]
    if sub == "list":
        scripted = False
        cols = ["name", "used", "avail", "refer", "mountpoint"]
        types = "filesystem"
        names: list[str] = []
        it = iter(rest)
        for a in it:
            if a == "-H":
                scripted = True
            elif a == "-o":
                cols = next(it, "name").split(",")
            elif a == "-t":
                types = next(it, "filesystem")
            elif a in ("-r", "-p"):
                continue
            else:
                names.append(a)
        fs = _datasets(node)
        snaps = [f"{node.zfs_root}@{s}" for s in node.zfs_snapshots] if node.zfs_root else []
        rows = (fs if "filesystem" in types or types == "all"
                else []) + (snaps if "snapshot" in types or types == "all" else [])
        if names:
            missing = [n for n in names if n not in fs + snaps]
            if missing:
                io.errln(f"cannot open '{missing[0]}': dataset does not exist")
                return 1
            rows = [r for r in rows if r in names] or [n for n in names]
        if not rows:
            io.errln("no datasets available")
            return 0
        vals = {"name": None, "used": "1.21G", "avail": "212G", "refer": "96K", "mountpoint": "-"}
        if not scripted:
            io.outln("  ".join(c.upper() for c in cols))
        for r in rows:
            mount = "/" if r == node.zfs_root else ("-" if "@" in r else "/" + r)
            line = [r if c == "name" else (mount if c == "mountpoint" else vals.get(c, "-")) for c in cols]
            io.outln(("\t" if scripted else "  ").join(line))
        return 0
    if sub in ("snapshot", "snap", "rollback"):
        targets = [a for a in rest if not a.startswith("-")]
        if len(targets) != 1 or "@" not in targets[0]:
            io.errln("missing snapshot argument" if not targets else f"invalid snapshot name '{targets[0]}'")
            return 2
        ds, _, name = targets[0].partition("@")
        if ds != node.zfs_root:
            io.errln(f"cannot open '{ds}': dataset does not exist")
            return 1
        if sub == "rollback":
            later = node.zfs_snapshots[node.zfs_snapshots.index(name) + 1 :] if name in node.zfs_snapshots else []
            if later and "-r" not in rest:
                io.errln(f"cannot rollback to '{targets[0]}': more recent snapshots or bookmarks exist")
                io.errln("use '-r' to force deletion of the following snapshots and bookmarks:")
                for s in later:
                    io.errln(f"{ds}@{s}")
                return 1
        try:
            (world.zfs_rollback if sub == "rollback" else world.zfs_snapshot)(sh.host.name, name)
        except SimCommandFailed as e:
            io.errln(e.message)
            return e.exit_status
        return 0
    io.errln(f"unrecognized command '{sub}'")
    return 2


async def cmd_findmnt(sh: Shell, argv: list[str], io: Io) -> int:
    node = _node(sh)
    cols = ["TARGET", "SOURCE", "FSTYPE", "OPTIONS"]
    target = None
    noheadings = False
    it = iter(argv[1:])
    for a in it:
        if a in ("-o", "--output"):
            cols = next(it, "SOURCE").upper().split(",")
        elif a in ("-n", "--noheadings"):
            noheadings = True
        elif a.startswith("-"):
            continue
        else:
            target = a
    if target not in ("/", None):
        return 1
    zfs = bool(node.zfs_root)
    vals = {"TARGET": "/", "SOURCE": node.zfs_root if zfs else "/dev/mapper/pve-root",
            "FSTYPE": "zfs" if zfs else "ext4", "OPTIONS": "rw,relatime"}
    if not noheadings:
        io.outln(" ".join(cols))
    io.outln(" ".join(vals.get(c, "") for c in cols))
    return 0


async def cmd_systemctl(sh: Shell, argv: list[str], io: Io) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if len(args) < 2:
        io.errln("Too few arguments.")
        return 1
    verb, unit = args[0], args[1].removesuffix(".service")
    m = re.fullmatch(r"ceph-osd@(\d+)", unit)
    osd = sh.world.osds.get(int(m.group(1))) if m else None
    if osd is None or osd.host != sh.host.name:
        if verb == "is-active":
            io.outln("inactive")
            return 3
        io.errln(f"Failed to {verb} {unit}.service: Unit {unit}.service not found.")
        return 5
    if verb == "is-active":
        io.outln("active" if osd.up else "inactive")
        return 0 if osd.up else 3
    if verb not in ("start", "stop", "restart"):
        io.errln(f"Unknown command verb {verb}.")
        return 1
    try:
        if verb in ("stop", "restart"):
            sh.world.osd_daemon(osd.id, False)
        if verb in ("start", "restart"):
            sh.world.osd_daemon(osd.id, True)
    except SimCommandFailed as e:
        io.errln(e.message)
        return 1
    return 0


NODE_COMMANDS = {
    "ha-manager": cmd_ha_manager,
    "ceph": cmd_ceph,
    "apt-get": cmd_apt_get,
    "dpkg-query": cmd_dpkg_query,
    "fuser": cmd_fuser,
    "pveversion": cmd_pveversion,
    "proxmox-boot-tool": cmd_boot_tool,
    "reboot": cmd_reboot,
    "poweroff": cmd_poweroff,
    "shutdown": cmd_shutdown,
    "zfs": cmd_zfs,
    "findmnt": cmd_findmnt,
    "systemctl": cmd_systemctl,
    **PMXCFS_COMMANDS,
    "pct": cmd_pct,  # h-upgguest: commands inside a CT (console/sim/guest_shell.py)
}
