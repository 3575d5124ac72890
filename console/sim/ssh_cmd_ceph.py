"""`ceph ...` on a sim node: JSON from ceph_json, text from ceph_text, exit codes
and stderr messages as the Ceph Pacific+ CLI gives them (EBUSY 16, EINVAL 22,
ENOENT 2; status messages like "noout is set" go to stderr).
"""

from __future__ import annotations

import asyncio
import json

from console.sim import ceph_json, ceph_text
from console.sim.sim_errors import SimCommandFailed, SimError
from console.sim.ssh_commands import Io, Shell

EBUSY, EINVAL, ENOENT = 16, 22, 2
JSON_FORMATS = {"json", "json-pretty"}


def _split_format(args: list[str]) -> tuple[list[str], str | None, str | None]:
    """Remove -f/--format FMT (and --cluster/-c/--conf noise); returns (args, fmt, error)."""
    rest: list[str] = []
    fmt = None
    it = iter(args)
    for a in it:
        if a in ("-f", "--format"):
            fmt = next(it, None)
            if fmt is None:
                return rest, None, "Option --format requires an argument"
        elif a.startswith("--format="):
            fmt = a.split("=", 1)[1]
        elif a in ("-c", "--conf", "--cluster", "--name", "-n", "--id", "-i", "--connect-timeout"):
            next(it, None)
        elif a.startswith(("--cluster=", "--conf=", "--connect-timeout=")):
            continue
        else:
            rest.append(a)
    if fmt is not None and fmt not in JSON_FORMATS | {"plain", "xml", "xml-pretty"}:
        return rest, None, f"ceph: error: argument -f/--format: invalid choice: '{fmt}'"
    return rest, fmt, None


def _emit_json(io: Io, doc, fmt: str | None) -> None:
    # Pacific's CLI prints a blank line before the JSON of mon commands
    text = json.dumps(doc, indent=4 if fmt == "json-pretty" else None,
                      separators=None if fmt == "json-pretty" else (",", ":"))
    io.out("\n" + text + "\n")


def _invalid(io: Io, hint: str | None = None) -> int:
    if hint:
        io.errln(hint)
    io.errln("Error EINVAL: invalid command")
    return EINVAL


def _osd_ids(words: list[str]) -> list[int] | None:
    ids = []
    for w in words:
        w = w.removeprefix("osd.")
        if not w.isdigit():
            return None
        ids.append(int(w))
    return ids


async def cmd_ceph(sh: Shell, argv: list[str], io: Io) -> int:
    world = sh.world
    args, fmt, err = _split_format(argv[1:])
    if err:
        io.errln(err)
        return 2
    if not args:
        io.errln("ceph: interactive mode is not supported here")
        return 1
    delay = world.fault_delay("ceph")
    if delay:
        await asyncio.sleep(delay)
    if world.fault_error("ceph"):
        io.errln("[errno 110] RADOS timed out (error connecting to the cluster)")
        return 1
    world.tick()
    if not world.mon_quorum():
        await asyncio.sleep(min(world.real_seconds(5.0), 5.0))
        io.errln("[errno 110] RADOS timed out (error connecting to the cluster)")
        return 1
    as_json = fmt in JSON_FORMATS
    cmd = " ".join(args[:2])
    try:
        if args[0] in ("status", "-s", "s") and len(args) == 1:
            _emit_json(io, ceph_json.status(world), fmt) if as_json else io.out(ceph_text.status_text(world))
            return 0
        if args[0] == "health":
            detail = args[1:] == ["detail"]
            if args[1:] and not detail:
                return _invalid(io, "health [<detail:detail>] :  show cluster health")
            doc = ceph_json.health(world, detail=detail)
            _emit_json(io, doc, fmt) if as_json else io.out(ceph_text.health_text(doc, detail))
            return 0
        if cmd == "osd tree" and len(args) == 2:
            _emit_json(io, ceph_json.osd_tree(world), fmt) if as_json else io.out(ceph_text.osd_tree_text(world))
            return 0
        if cmd == "osd dump" and len(args) == 2:
            _emit_json(io, ceph_json.osd_dump(world), fmt) if as_json else io.out(ceph_text.osd_dump_text(world))
            return 0
        if cmd == "osd df" and len(args) == 2:
            _emit_json(io, ceph_json.osd_df(world), fmt) if as_json else io.out(ceph_text.osd_df_text(world))
            return 0
        if cmd == "pg stat" and len(args) == 2:
            _emit_json(io, ceph_json.pg_stat(world), fmt) if as_json else io.out(ceph_text.pg_stat_text(world))
            return 0
        if cmd == "mon stat" and len(args) == 2:
            _emit_json(io, ceph_json.mon_stat(world), fmt) if as_json else io.outln(_mon_stat_text(world))
            return 0
        if args == ["df"]:
            _emit_json(io, ceph_json.df(world), fmt) if as_json else io.out(ceph_text.df_text(world))
            return 0
        if cmd == "mon dump" and len(args) == 2:
            doc = ceph_json.mon_dump(world)
            _emit_json(io, doc, fmt) if as_json else io.out(ceph_text.mon_dump_text(world))
            io.errln(f"dumped monmap epoch {doc['epoch']}")
            return 0
        if cmd == "mgr stat" and len(args) == 2:
            _emit_json(io, ceph_json.mgr_stat(world), fmt if as_json else "json-pretty")
            return 0
        if cmd == "osd ok-to-stop":
            return _osd_ok_to_stop(world, args[2:], io, fmt)
        if cmd in ("mon ok-to-stop", "mds ok-to-stop"):
            if len(args) < 3:
                return _invalid(io, f"{cmd} <ids>... :  check whether daemon(s) can be safely stopped")
            fn = world.mon_ok_to_stop if args[0] == "mon" else world.mds_ok_to_stop
            ok, msg = fn(args[2:])
            if as_json:
                io.out("\n")  # these print their verdict on stderr only; -f json leaves an empty line
            if ok:
                io.errln(msg)
                return 0
            io.errln(f"Error EBUSY: {msg}")
            return EBUSY
        if cmd in ("osd set", "osd unset"):
            if len(args) != 3 or args[2] not in ceph_json.SETTABLE_FLAGS:
                flags = "|".join(ceph_json.SETTABLE_FLAGS)
                io.errln(f"Invalid command: {args[2] if len(args) > 2 else 'missing'} not in {flags}")
                return _invalid(io, f"osd {args[1]} {flags} :  {args[1]} <key>")
            world.set_ceph_flag(args[2], args[1] == "set")
            io.errln(f"{args[2]} is {args[1]}")
            return 0
        if cmd in ("osd set-group", "osd unset-group"):
            return _set_group(world, args, io)
    except SimCommandFailed as e:
        io.errln(e.message)
        return e.exit_status
    except SimError as e:
        io.errln(f"Error EINVAL: {e.message}")
        return EINVAL
    io.errln("no valid command found; 10 closest matches:")
    for hint in ("osd tree", "osd dump", "osd df", "osd ok-to-stop <ids>...", "osd set <key>", "osd unset <key>",
                 "pg stat", "health [detail]", "status", "df"):
        io.errln(hint)
    io.errln("Error EINVAL: invalid command")
    return EINVAL


def _osd_ok_to_stop(world, words: list[str], io: Io, fmt: str | None) -> int:
    ids = _osd_ids(words)
    if not words:
        return _invalid(io,
                        "osd ok-to-stop <ids>... [<max:int>] :  check whether osd(s) can be safely stopped without "
                        "reducing immediate data availability")
    if ids is None:
        bad = next(w for w in words if not w.removeprefix("osd.").isdigit())
        io.errln(f"Error EINVAL: Expected option value to be integer, got '{bad}'invalid osd id '{bad}'")
        return EINVAL
    ok, doc = world.osd_ok_to_stop(ids)
    # Ceph lists the PG arrays only when they are not empty
    doc = {k: v for k, v in doc.items() if not (isinstance(v, list) and not v and k != "osds")}
    if fmt in JSON_FORMATS:
        _emit_json(io, doc, fmt)
    else:
        io.outln(json.dumps(doc, separators=(",", ":")))
    if ok:
        return 0
    io.errln(f"Error EBUSY: unsafe to stop osd(s) at this time ({doc.get('num_not_ok_pgs', 0)} PGs are or would "
             "become offline)")
    return EBUSY


def _set_group(world, args: list[str], io: Io) -> int:
    """`ceph osd set-group|unset-group FLAG[,FLAG] WHO...`: silent on success, like Ceph."""
    if len(args) < 4:
        return _invalid(io, f"osd {args[1]} <flags> <who>... :  set <flags> for batch osds or crush nodes")
    note = ""
    for who in args[3:]:
        for flag in args[2].split(","):
            note += world.set_ceph_group_flag(flag, who, args[1] == "set-group")
    if note:
        io.errln(note)
    return 0


def _mon_stat_text(world) -> str:
    doc = ceph_json.mon_stat(world)
    mons = sorted(world.ceph.mons)
    addrs = ",".join(f"{m}=[v2:{world.nodes[h].ip}:3300/0,v1:{world.nodes[h].ip}:6789/0]"
                     for m, h in sorted(world.ceph.mons.items()))
    leader = doc["leader"]
    q = ",".join(f"{mons.index(x['name'])} {x['name']}" for x in doc["quorum"])
    return (f"e{doc['epoch']}: {len(mons)} mons at {{{addrs}}} removed_ranks: {{}}, election epoch 12, "
            f"leader {mons.index(leader) if leader else -1} {leader}, quorum {q}")
