"""Commands of a sim firewall VM: keepalived's JSON dump (signal + file, or the
`ka-state` helper), its text dump (SIGUSR1 -> keepalived.data), `ip -j addr`,
`systemctl stop|start keepalived`, the track file.

A firewall's instances all share its state: in the seed lab they are one
vrrp_sync_group (WAN, LAN, IOT), which keepalived moves as a whole.

The JSON has the exact shape keepalived 2.2.7 (Debian 12) writes to
$TMPDIR/keepalived.json on `kill -s $(keepalived --signum=JSON)`: an array of
{"data": {...}, "stats": {...}} per VRRP instance, VRRPv2 with PASS auth, so the
dump carries a (fake) password in `auth_data` like the real one does.
"""

from __future__ import annotations

import ipaddress
import json

from console.sim.ssh_commands import Io, Shell

JSON_SIGNUM = 36  # `keepalived --signum=JSON` on Debian 12's build
DUMP_PATH = "/tmp/keepalived.json"
DATA_PATH = "/tmp/keepalived.data"  # SIGUSR1's text dump
PID_PATH = "/run/keepalived.pid"
TRACK_PATH = "/etc/keepalived/track"
FAKE_AUTH_PASS = "lab-vrrp-s3cret"  # consumers are tested for never showing it
IFNAME = "eth0"
ADVER_INT = 1
STATE_NAMES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"}


def _fw(sh: Shell):
    return sh.world.firewalls[sh.host.name]


def _fw_index(sh: Shell) -> int:
    return sorted(sh.world.firewalls).index(sh.host.name)


def fw_address(sh: Shell) -> ipaddress.IPv4Interface:
    """The firewall's own address: next to the VIP in the VIP's network (.2, .3, ...)."""
    vip = ipaddress.IPv4Interface(_fw(sh).vrrp_instances()[0].vips[0].split()[0])
    return ipaddress.IPv4Interface(f"{vip.ip + 1 + _fw_index(sh)}/{vip.network.prefixlen}")


def _vip_set(sh: Shell) -> bool:
    fw = _fw(sh)
    return fw.keepalived_running and fw.state == 2


def keepalived_dump(sh: Shell) -> list[dict]:
    world = sh.world
    world.tick()
    fw = _fw(sh)
    return [_instance_json(sh, inst) for inst in fw.vrrp_instances()]


def _instance_json(sh: Shell, inst) -> dict:
    fw = _fw(sh)
    now = sh.world.now()
    vipset = _vip_set(sh)
    # weight-0 track file: FAULT without touching the priority (as keepalived does)
    effective = _effective(fw)
    since = max(now - fw.last_transition, 0.0)
    sent = int(since / ADVER_INT) + 2 if fw.state == 2 else fw.become_master * 5
    rcvd = int(since / ADVER_INT) if fw.state == 1 else 0
    vips = [f"{v.split()[0]} dev {IFNAME} scope global" + (" set" if vipset else "") for v in inst.vips]
    data = {
        "iname": inst.iname,
        "dont_track_primary": 0,
        "skip_check_adv_addr": 0,
        "strict_mode": 0,
        "vmac_ifname": "",
        "ifp_ifname": IFNAME,
        "master_priority": 0 if fw.state == 2 else _peer_priority(sh),
        "last_transition": round(fw.last_transition, 6),
        "garp_delay": 5,
        "garp_refresh": 0,
        "garp_rep": 5,
        "garp_refresh_rep": 1,
        "garp_lower_prio_delay": 5,
        "garp_lower_prio_rep": 5,
        "lower_prio_no_advert": 0,
        "higher_prio_send_advert": 0,
        "vrid": inst.vrid,
        "base_priority": fw.base_priority,
        "effective_priority": effective,
        "vipset": vipset,
        "promote_secondaries": False,
        "adver_int": ADVER_INT,
        "master_adver_int": ADVER_INT,
        "accept": 1,
        "nopreempt": bool(fw.nopreempt),
        "preempt_delay": 0,
        "state": fw.state,
        "wantstate": fw.state,
        "version": 2,
        "smtp_alert": False,
        "notify_deleted": False,
        "vips": vips,
        "auth_type": 1,
        "auth_data": FAKE_AUTH_PASS,
    }
    stats = {
        "advert_rcvd": rcvd,
        "advert_sent": sent,
        "become_master": fw.become_master,
        "release_master": fw.release_master,
        "packet_len_err": 0,
        "advert_interval_err": 0,
        "ip_ttl_err": 0,
        "invalid_type_rcvd": 0,
        "addr_list_err": 0,
        "invalid_authtype": 0,
        "authtype_mismatch": 0,
        "auth_failure": 0,
        "pri_zero_rcvd": 0,
        "pri_zero_sent": fw.release_master,
    }
    return {"data": data, "stats": stats}


def _effective(fw) -> int:
    return fw.base_priority if fw.track_value and fw.effective_priority == 0 else fw.effective_priority


def keepalived_data(sh: Shell) -> str:
    """The text dump keepalived writes to $TMPDIR/keepalived.data on SIGUSR1 (2.2.7's layout,
    the lines the console reads), with the sync group section when the firewall has one."""
    sh.world.tick()
    fw = _fw(sh)
    state = STATE_NAMES.get(fw.state, "INIT")
    vipset = _vip_set(sh)
    out = ["------< Global definitions >------", f" Router ID = {fw.name}", "------< VRRP Topology >------"]
    for inst in fw.vrrp_instances():
        out += [f" VRRP Instance = {inst.iname}", "   VRRP Version = 2"]
        out += [f"   Sync group = {fw.sync_group}"] if fw.sync_group else []
        out += [f"   State = {state}", f"   Wantstate = {state}",
                f"   Last transition = {fw.last_transition:.6f}", f"   Interface = {IFNAME}",
                f"   Virtual Router ID = {inst.vrid}", f"   Priority = {fw.base_priority}",
                f"   Effective priority = {_effective(fw)}", f"   Advert interval = {ADVER_INT} sec",
                "   Accept = enabled", f"   Preempt = {'disabled' if fw.nopreempt else 'enabled'}",
                "   Authentication type = SIMPLE_PASSWORD", f"   Password = {FAKE_AUTH_PASS}",
                f"   Virtual IP ({len(inst.vips)}):"]
        out += [f"     {v.split()[0]} dev {IFNAME} scope global" + (" set" if vipset else "") for v in inst.vips]
    if fw.sync_group:
        out += ["------< VRRP Sync groups >------", f" VRRP Sync Group = {fw.sync_group}, {state}",
                f"   Num member fault {len(fw.vrrp_instances()) if fw.state == 3 else 0}, num member init 0",
                "   VRRP member instances :"]
        out += [f"     {inst.iname}" for inst in fw.vrrp_instances()]
        out += ["   Using smtp notification = no"]
    return "\n".join(out) + "\n"


def _peer_priority(sh: Shell) -> int:
    masters = [f for f in sh.world.firewalls.values()
               if f.name != sh.host.name and f.state == 2 and f.keepalived_running]
    return masters[0].effective_priority if masters else 0


def _write_dump(sh: Shell) -> None:
    sh.host.files[DUMP_PATH] = json.dumps(keepalived_dump(sh), separators=(",", ":")).replace("/", "\\/")


def keepalived_running(sh: Shell) -> bool:
    return bool(_fw(sh).keepalived_running)


# ------------------------------------------------------------ commands
async def cmd_keepalived(sh: Shell, argv: list[str], io: Io) -> int:
    args = argv[1:]
    if args in (["--signum=JSON"], ["--signum", "JSON"]):
        io.outln(str(JSON_SIGNUM))
        return 0
    if args and args[0].startswith("--signum"):
        io.outln({"DATA": "10", "STATS": "12", "STOP": "15", "RELOAD": "1"}.get(args[-1].split("=")[-1], "-1"))
        return 0
    if args[:1] in (["-v"], ["--version"]):
        io.errln("Keepalived v2.2.7 (01/16,2022)")
        io.errln("")
        io.errln("Configuration options : PIDFILE VRRP VRRP_AUTH VRRP_VMAC OLD_CHKSUM_COMPAT INIT=systemd JSON")
        return 0
    io.errln("keepalived is managed by systemd here: use systemctl start|stop keepalived")
    return 1


async def cmd_kill(sh: Shell, argv: list[str], io: Io) -> int:
    sig = "TERM"
    pids: list[str] = []
    it = iter(argv[1:])
    for a in it:
        if a in ("-s", "-n"):
            sig = next(it, "")
        elif a.startswith("-") and len(a) > 1 and not pids:
            sig = a[1:]
        else:
            pids.append(a)
    if not pids:
        io.errln("kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]")
        return 2
    code = 0
    fw = _fw(sh)
    for p in pids:
        if not p.lstrip("-").isdigit():
            io.errln(f"bash: kill: {p}: arguments must be process or job IDs")
            code = 1
            continue
        if not (fw.keepalived_running and int(p) == fw.pid):
            io.errln(f"bash: kill: ({p}) - No such process")
            code = 1
            continue
        s = sig.upper().removeprefix("SIG")
        if s in (str(JSON_SIGNUM), "RTMIN+2"):
            _write_dump(sh)
        elif s in ("USR1", "10"):
            sh.host.files[DATA_PATH] = keepalived_data(sh)
        elif s in ("0",):
            pass
        elif s in ("TERM", "15", "KILL", "9", "INT", "2"):
            sh.world.keepalived(sh.host.name, False)
            sh.host.files.pop(PID_PATH, None)
        elif s in ("HUP", "1", "USR2", "12"):
            pass
        else:
            io.errln(f"bash: kill: {sig}: invalid signal specification")
            code = 1
    return code


async def cmd_ka_state(sh: Shell, argv: list[str], io: Io) -> int:
    """The helper of real-daemons/keepalived-ssh/setup.sh: signal, wait for the file, print it."""
    if not keepalived_running(sh):
        io.errln(f"kill: ({_fw(sh).pid}) - No such process")
        return 2
    _write_dump(sh)
    io.out(sh.host.files[DUMP_PATH])
    return 0


async def cmd_pidof(sh: Shell, argv: list[str], io: Io) -> int:
    if argv[1:] == ["keepalived"] and keepalived_running(sh):
        io.outln(str(_fw(sh).pid))
        return 0
    return 1


async def cmd_systemctl(sh: Shell, argv: list[str], io: Io) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    if len(args) < 2:
        io.errln("Too few arguments.")
        return 1
    verb, unit = args[0], args[1].removesuffix(".service")
    if unit != "keepalived":
        if verb == "is-active":
            io.outln("inactive")
            return 3
        io.errln(f"Failed to {verb} {unit}.service: Unit {unit}.service not found.")
        return 5
    running = keepalived_running(sh)
    if verb == "is-active":
        io.outln("active" if running else "inactive")
        return 0 if running else 3
    if verb in ("stop", "start", "restart"):
        if verb in ("stop", "restart") and running:
            sh.world.keepalived(sh.host.name, False)
        if verb in ("start", "restart"):
            sh.world.keepalived(sh.host.name, True)
        return 0
    if verb == "status":
        io.outln("● keepalived.service - Keepalive Daemon (LVS and VRRP)")
        io.outln(f"     Active: {'active (running)' if running else 'inactive (dead)'}")
        return 0 if running else 3
    io.errln(f"Unknown command verb {verb}.")
    return 1


def ip_addr_json(sh: Shell) -> list[dict]:
    own = fw_address(sh)
    forever = 4294967295
    lo = {
        "ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "mtu": 65536, "qdisc": "noqueue",
        "operstate": "UNKNOWN", "group": "default", "txqlen": 1000, "link_type": "loopback",
        "address": "00:00:00:00:00:00", "broadcast": "00:00:00:00:00:00",
        "addr_info": [
            {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo",
             "valid_life_time": forever, "preferred_life_time": forever},
            {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host", "valid_life_time": forever,
             "preferred_life_time": forever},
        ],
    }
    mac = f"bc:24:11:00:{_fw(sh).vmid // 256:02x}:{_fw(sh).vmid % 256:02x}"
    addrs = [{"family": "inet", "local": str(own.ip), "prefixlen": own.network.prefixlen, "scope": "global",
              "label": IFNAME, "valid_life_time": forever, "preferred_life_time": forever}]
    if _vip_set(sh):
        for v in (v for inst in _fw(sh).vrrp_instances() for v in inst.vips):
            vip = ipaddress.IPv4Interface(v.split()[0])
            addrs.append({"family": "inet", "local": str(vip.ip), "prefixlen": vip.network.prefixlen, "scope": "global",
                          "secondary": True, "label": IFNAME, "valid_life_time": forever,
                          "preferred_life_time": forever})
    addrs.append({"family": "inet6", "local": f"fe80::be24:11ff:fe00:{_fw(sh).vmid:x}", "prefixlen": 64,
                  "scope": "link", "valid_life_time": forever, "preferred_life_time": forever})
    eth = {
        "ifindex": 2, "ifname": IFNAME, "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "mtu": 1500,
        "qdisc": "fq_codel",
        "operstate": "UP", "group": "default", "txqlen": 1000, "link_type": "ether", "address": mac,
        "broadcast": "ff:ff:ff:ff:ff:ff", "altnames": ["enp0s18"], "addr_info": addrs,
    }
    return [lo, eth]


async def cmd_ip(sh: Shell, argv: list[str], io: Io) -> int:
    args = argv[1:]
    as_json = pretty = False
    family = None
    while args and args[0].startswith("-"):
        a = args.pop(0)
        as_json |= a in ("-j", "-json", "--json")
        pretty |= a in ("-p", "-pretty")
        family = {"-4": "inet", "-6": "inet6"}.get(a, family)
    if not args or args[0] not in ("addr", "a", "address"):
        io.errln(f'Object "{args[0] if args else ""}" is unknown, try "ip help".' if args
                 else "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }")
        return 255 if args else 255
    rest = args[1:]
    if rest[:1] in (["show"], ["list"], ["ls"]):
        rest = rest[1:]
    dev = rest[1] if rest[:1] == ["dev"] and len(rest) > 1 else (rest[0] if rest else None)
    links = ip_addr_json(sh)
    if dev is not None:
        links = [ln for ln in links if ln["ifname"] == dev]
        if not links:
            io.errln(f'Device "{dev}" does not exist.')
            return 1
    if family:
        for ln in links:
            ln["addr_info"] = [a for a in ln["addr_info"] if a["family"] == family]
    if as_json:
        io.outln(json.dumps(links, indent=4 if pretty else None, separators=None if pretty else (",", ":")))
        return 0
    for ln in links:
        io.outln(f"{ln['ifindex']}: {ln['ifname']}: <{','.join(ln['flags'])}> mtu {ln['mtu']} qdisc {ln['qdisc']} "
                 f"state {ln['operstate']} group default qlen 1000")
        io.outln(f"    link/{ln['link_type']} {ln['address']} brd {ln['broadcast']}")
        for a in ln["addr_info"]:
            sec = " secondary" if a.get("secondary") else ""
            io.outln(f"    {a['family']} {a['local']}/{a['prefixlen']} scope {a['scope']}{sec} "
                     f"{a.get('label', '')}".rstrip())
            io.outln("       valid_lft forever preferred_lft forever")
    return 0


FW_COMMANDS = {
    "keepalived": cmd_keepalived,
    "kill": cmd_kill,
    "ka-state": cmd_ka_state,
    "pidof": cmd_pidof,
    "systemctl": cmd_systemctl,
    "ip": cmd_ip,
}
