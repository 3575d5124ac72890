"""Root and sudo on the sim's hosts: what a user other than root may not do.

The SSH user is the one the client logged in as (any name is accepted with the
lab's key). root runs everything; another user gets, for the commands that
need root on a real Proxmox node or firewall, the error the real tool prints
there, unless it goes through `sudo -n` (the lab's users have password-less
sudo; SimHost.sudo_denied = True makes sudo refuse like a sudoers without
NOPASSWD). Reads that work unprivileged on a real host work here too.
"""

from __future__ import annotations

IPCC = ["ipcc_send_rec[1] failed: Permission denied", "ipcc_send_rec[2] failed: Permission denied",
        "ipcc_send_rec[3] failed: Permission denied", "Unable to load access control list: Permission denied"]
APT_LOCK = ["E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)",
            "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?"]
APT_LISTS = ["E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)",
             "E: Unable to lock directory /var/lib/apt/lists/"]
APT_WRITES = {"install", "upgrade", "dist-upgrade", "full-upgrade", "remove", "purge", "autoremove"}
PRIV = "/etc/pve/priv"  # root-only on a real node (the cluster lock lives there)
PRIV_DENIED = {"mkdir": "mkdir: cannot create directory '{}': Permission denied",
               "rmdir": "rmdir: failed to remove '{}': Permission denied",
               "touch": "touch: cannot touch '{}': Permission denied",
               "stat": "stat: cannot statx '{}': Permission denied",
               "cat": "cat: {}: Permission denied", "rm": "rm: cannot remove '{}': Permission denied"}
NO_PASSWORD = "sudo: a password is required"
NO_TERMINAL = ("sudo: a terminal is required to read the password; either use the -S option to read from "
               "standard input or configure an askpass helper")


def refusal(kind: str, argv: list[str]) -> tuple[list[str], int] | None:
    """(stderr lines, exit status) a non-root user gets for argv, or None when it may run it."""
    name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    words = [a for a in args if not a.startswith("-")]
    first = words[0] if words else ""
    if kind == "node":
        if name == "ha-manager":
            return IPCC, 255
        if name == "ceph":
            return ["[errno 13] RADOS permission denied (error connecting to the cluster)"], 13
        if name == "apt-get" and not {"-s", "--simulate", "--dry-run", "--just-print"} & set(args):
            if first == "update":
                return APT_LISTS, 100
            if first in APT_WRITES:
                return APT_LOCK, 100
        if name == "proxmox-boot-tool" and first in ("kernel", "refresh", "init", "format", "clean") \
                and (first != "kernel" or (words[1:2] or [""])[0] in ("pin", "unpin", "add", "remove")):
            return ["E: this command must be run as root"], 1
        private = [a for a in words if a.rstrip("/") == PRIV or a.startswith(PRIV + "/")]
        if name in PRIV_DENIED and private:
            return [PRIV_DENIED[name].format(private[0])], 1
        if name == "zfs" and first in ("snapshot", "rollback", "destroy", "set"):
            return [f"cannot {first} '{words[-1] if len(words) > 1 else ''}': permission denied"], 1
    if name in ("reboot", "poweroff", "shutdown"):
        verb = {"reboot": "Reboot", "poweroff": "PowerOff", "shutdown": "PowerOff"}[name]
        return [f"Call to {verb} failed: Interactive authentication required."], 1
    if name == "systemctl" and first in ("start", "stop", "restart", "reload"):
        unit = (words[1:2] or [""])[0].removesuffix(".service")
        return [f"Failed to {first} {unit}.service: Interactive authentication required.",
                f"See system logs and 'systemctl status {unit}.service' for details."], 1
    if kind == "firewall" and name == "kill" and any(a.lstrip("-").isdigit() for a in words) and args != ["-l"]:
        pid = next(a for a in words if a.lstrip("-").isdigit())  # every process here is root's
        return [f"bash: kill: ({pid}) - Operation not permitted"], 1
    return None


def parse_sudo(argv: list[str]) -> tuple[bool, list[str]] | str:
    """`sudo [-n] [-u root] [--] CMD ...` -> (non-interactive, CMD argv), or sudo's usage error."""
    noninteractive = False
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        opt = argv[i]
        if opt == "--":
            i += 1
            break
        if opt in ("-n", "--non-interactive"):
            noninteractive = True
        elif opt in ("-u", "--user") and i + 1 < len(argv):
            if argv[i + 1] not in ("root", "0", "#0"):
                return f"sudo: the lab only knows root as a target user, not {argv[i + 1]!r}"
            i += 1
        elif opt not in ("-H", "-E"):
            return f"sudo: invalid option -- '{opt.lstrip('-')[:1]}'"
        i += 1
    if i >= len(argv):
        return "usage: sudo -h | -K | -k | -V"
    return noninteractive, argv[i:]
