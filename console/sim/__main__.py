"""`python -m console.sim --scenario seed|large --dir DIR [--speed X] [--parent-pid PID [--remove-dir-on-exit]] [--host 127.0.0.1]`

and the control CLI: `python -m console.sim fault|clear|state|availability|reset-availability --dir DIR ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys

from console.sim import SCENARIOS
from pathlib import Path

CONTROL_COMMANDS = ("fault", "clear", "state", "availability", "reset-availability")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in CONTROL_COMMANDS:
        from console.sim.control import cli

        return cli(argv)
    parser = argparse.ArgumentParser(prog="python -m console.sim", description="The simulated lab (Proxmox VE, Ceph, Swarm, Traefik, Keepalived) on loopback.",
                                     epilog=f"Control a running sim: python -m console.sim {{{','.join(CONTROL_COMMANDS)}}} --dir DIR ...")
    parser.add_argument("--scenario", choices=SCENARIOS, default="seed")
    parser.add_argument("--dir", required=True, type=Path, help="where config.toml, keys, sockets, sim.json and ready are written")
    parser.add_argument("--speed", type=float, default=1.0, help="lab seconds per real second (default 1)")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--remove-dir-on-exit", action="store_true",
                        help="with --parent-pid: when the parent is gone, remove DIR too (a SIGKILLed launcher leaves no temp dir)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (only loopback is allowed)")
    parser.add_argument("--token-lacks", action="append", default=[], metavar="PRIV",
                        help="a PVE privilege the sim's API token does not have (e.g. Sys.Audit; repeat or comma-separate)")
    args = parser.parse_args(argv)
    from console.sim.pve_access import unknown_privileges

    lacks = tuple(p.strip() for item in args.token_lacks for p in item.split(",") if p.strip())
    if unknown_privileges(lacks):
        print(f"console.sim: --token-lacks: unknown PVE privilege {', '.join(unknown_privileges(lacks))}", file=sys.stderr)
        return 2
    if not _loopback(args.host):
        print(f"console.sim: refusing to bind {args.host!r}: the simulated lab serves on loopback only (127.0.0.1 or ::1)", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print(f"console.sim: --speed must be > 0, got {args.speed}", file=sys.stderr)
        return 2
    if args.remove_dir_on_exit and not args.parent_pid:
        print("console.sim: --remove-dir-on-exit needs --parent-pid (the dir is removed when that process is gone)", file=sys.stderr)
        return 2
    host = "127.0.0.1" if args.host == "localhost" else args.host
    from console.sim.server import run

    try:
        return asyncio.run(run(args.scenario, args.dir, args.speed, host, args.parent_pid, args.remove_dir_on_exit, lacks))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"console.sim: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
