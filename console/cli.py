"""`labconsole` command line: argument parsing, sub-commands, exit codes.

Kept light to import: textual, docker, proxmoxer, aiohttp and the sim are
imported only inside the function that needs them, so `--help` and the first
frame of the TUI stay fast.

Exit codes: 0 ok; 1 unexpected error (details in the log file); 2 bad config
or usage; 3 feature not available; `check` uses 0 ok, 1 warn, 2 crit, 3 unknown.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from console.sim import SCENARIOS

if TYPE_CHECKING:
    from console.config_model import Config

EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_UNAVAILABLE = 0, 1, 2, 3


def _common(parser: argparse.ArgumentParser, top: bool) -> None:
    """Options accepted before and after a sub-command (`labconsole check --cluster x`)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", metavar="FILE", default=default,
                        help="config file (default: $LABCONSOLE_CONFIG, else the platform config dir)")
    parser.add_argument("--cluster", metavar="NAME", default=default, help="cluster to open (default: default_cluster)")
    parser.add_argument("--read-only", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="hide and refuse every mutating action")
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="debug logging (to the log file, never the terminal)")


def _demo_options(parser: argparse.ArgumentParser, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--scenario", choices=SCENARIOS, default=default,
                        help="simulated lab to start (default: seed)")
    parser.add_argument("--speed", type=float, metavar="X", default=default,
                        help="simulated clock speed factor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labconsole",
        description="Terminal console for a home cluster: Proxmox VE, Ceph, Docker Swarm, Traefik, Keepalived.",
        epilog="Without a sub-command, runs the console on the configured cluster.")
    _common(parser, top=True)
    parser.add_argument("--demo", action="store_true", help="run on the simulated lab instead of a config file")
    _demo_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the console on the simulated lab")
    _common(demo, top=False)
    _demo_options(demo, top=False)

    check = sub.add_parser("check", help="one poll + health check, for cron and monitoring",
                           description="Exit 0 ok, 1 warning, 2 critical, 3 unknown.")
    _common(check, top=False)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--all-clusters", action="store_true",  # h-ctx (issue 10.7)
                       help="every configured cluster, polled concurrently; exit code of the worst")
    check.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help="check the simulated lab")
    _demo_options(check, top=False)

    maint = sub.add_parser("maintenance", help="headless node maintenance: plan|run|resume|rollback|status ...",
                           add_help=False)
    _common(maint, top=False)
    maint.add_argument("args", nargs=argparse.REMAINDER, help="passed to the maintenance command")

    events = sub.add_parser("events", help="the timeline of what changed (recorded by the console)")  # h-events
    _common(events, top=False)  # h-events
    from console.cli_events import add_events_arguments  # h-events

    add_events_arguments(events)  # h-events

    # --- h-story (issue 10): labconsole silence add|list|remove -- console/cli_silence.py ---
    from console.cli_silence import add_parser as add_silence_parser

    add_silence_parser(sub, _common)
    # --- end h-story ---

    cfg = sub.add_parser("config", help="starter config, validation, where files live")
    from console.cli_config import add_config_actions

    add_config_actions(cfg, lambda p: _common(p, top=False))
    # --- h-operate (issue 11): guests, guest, backups, tasks, log -- console/cli_ops.py ---
    from console.cli_ops import add_parsers as add_ops_parsers

    add_ops_parsers(sub, lambda p, top: _common(p, top=top))
    # --- end h-operate ---
    return parser


GLOBAL_VALUES = ("--config", "--cluster", "--scenario", "--speed")
GLOBAL_SWITCHES = ("--read-only", "--debug", "--demo")
TOP_PARSED = ("--scenario", "--speed")  # moved before the sub-command: the top parser checks their values
COMMAND_SWITCHES = ("--json", "--yes")  # the sub-commands' own; given before the sub-command, moved after it


def pull_global_options(argv: list[str]) -> tuple[dict[str, object], list[str]]:
    """Take --config/--cluster/--read-only/--debug/--demo/--scenario/--speed from anywhere on the command line (before
    or after any sub-command, `maintenance plan pve1 --config F` too); the rest is left in order.
    Nothing after a `--` is touched."""
    found: dict[str, object] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i:])
            break
        name, eq, value = a.partition("=")
        if name in GLOBAL_VALUES:
            if eq:
                found[name] = value
            elif i + 1 < len(argv):
                found[name] = argv[i + 1]
                i += 1
            else:
                rest.append(a)  # argparse says what is missing
        elif a in GLOBAL_SWITCHES:
            found[a] = True
        else:
            rest.append(a)
        i += 1
    return found, rest


def move_command_switches(argv: list[str]) -> list[str]:
    """`labconsole --json check`, `labconsole --yes swarm scale web 3`: --json and --yes belong to the
    sub-commands; given before the sub-command they are moved right after it."""
    command, i = None, 0
    while i < len(argv) and command is None:
        if argv[i] == "--":
            break
        if argv[i] in GLOBAL_VALUES:
            i += 1  # its value is not the sub-command
        elif not argv[i].startswith("-"):
            command = i
        i += 1
    if command is None:
        return argv
    early = [a for a in argv[:command] if a in COMMAND_SWITCHES]
    if not early:
        return argv
    before = [a for a in argv[:command] if a not in COMMAND_SWITCHES]
    return before + [argv[command]] + early + argv[command + 1:]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv_given = argv
    found, argv = pull_global_options(list(sys.argv[1:] if argv is None else argv))
    argv = [item for option in TOP_PARSED if option in found for item in (option, str(found.pop(option)))] + argv
    argv = move_command_switches(argv)
    # parse_known_args: `maintenance --help` / `maintenance --yes ...` belong to the maintenance parser
    args, extra = parser.parse_known_args(argv)
    for option, value in found.items():
        setattr(args, option.lstrip("-").replace("-", "_"), value)
    if args.command == "maintenance":
        args.args = extra + args.args
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if argv_given is None and args.command in (None, "demo"):  # the console runs for hours: console/memory.py
        from console.memory import relaunch_without_thread_caches

        relaunch_without_thread_caches(sys.argv[1:])
    log_path = None
    try:
        from console.logs import setup_logging

        log_path = setup_logging(debug=args.debug)
        return _dispatch(args)
    except KeyboardInterrupt:
        print("labconsole: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `labconsole check | head`: the reader left; stop quietly, as cat does
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not raise again
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, details in the log
        return _report(exc, log_path)


def _report(exc: Exception, log_path) -> int:
    from console.config import ConfigError
    from console.errors import ConsoleError
    from console.logs import redact

    if isinstance(exc, ConfigError):
        print(f"labconsole: {redact(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    import logging

    log = logging.getLogger("console.cli")
    if isinstance(exc, ConsoleError):  # an expected failure: its message says what to do
        log.error("%s", exc)
        print(f"labconsole: {redact(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG if exc.title == "config" else EXIT_ERROR
    log.error("unexpected error", exc_info=exc)
    where = f" (details in {log_path})" if log_path else ""
    text = redact(str(exc).splitlines()[0] if str(exc) else "")
    print(f"labconsole: unexpected error: {type(exc).__name__}: {text}{where}", file=sys.stderr)
    return EXIT_ERROR


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if getattr(args, "demo", False) and command not in (None, "demo", "check", "config"):
        return _on_demo_lab(args)
    return _dispatch_command(args)


def _on_demo_lab(args: argparse.Namespace) -> int:
    """`labconsole --demo COMMAND ...`: the headless command on a fresh simulated lab, which stops
    when the command ends (each such call is a new lab: changes do not carry over to the next)."""
    from console.demo import DemoLab

    with DemoLab(scenario=args.scenario or "seed", speed=args.speed) as lab:
        _demo_state(lab)
        args.config = str(lab.dir / "config.toml")
        args.demo = False
        return _dispatch_command(args)


def _dispatch_command(args: argparse.Namespace) -> int:
    command = args.command
    if command == "config":
        from console.cli_config import run_config_command

        return run_config_command(args)
    if command == "maintenance":
        return _maintenance(args)
    if command == "check":
        return _check(args)
    if command == "events":  # h-events
        from console.cli_events import run_events

        return run_events(args)
    if command == "silence":  # h-story (issue 10)
        from console.cli_silence import run_silence_command

        return run_silence_command(args, _load(args).cluster(args.cluster).name)
    from console.cli_ops import COMMANDS as OPS_COMMANDS  # h-operate (issue 11)

    if command in OPS_COMMANDS:
        from console.cli_ops import run as run_ops

        return run_ops(args, _load)
    if command == "demo" or args.demo:
        return _demo_tui(args)
    return _tui(args)


def _load(args: argparse.Namespace) -> Config:
    from console.config import load_config
    from console.logs import set_level

    config = load_config(args.config)
    set_level(config.log_level, args.debug)
    return config


def _tui(args: argparse.Namespace) -> int:
    config = _load(args)
    config.cluster(args.cluster)  # an unknown --cluster is a config error, before the screen is taken over
    from console.app import run_tui

    return run_tui(config, args.cluster, args.read_only)


def _demo_tui(args: argparse.Namespace) -> int:
    from console.demo import DemoLab

    print("labconsole: starting the simulated lab ...", file=sys.stderr, flush=True)
    # Import the UI (textual is the slow part) while the sim starts on the other core.
    import threading

    warm = threading.Thread(target=__import__, args=("console.app",), daemon=True, name="import-ui")
    warm.start()
    with DemoLab(scenario=args.scenario or "seed", speed=args.speed) as lab:
        _demo_state(lab)
        warm.join()
        from console.app import run_tui
        from console.logs import set_level

        set_level(lab.config.log_level, args.debug)

        return run_tui(lab.config, args.cluster, args.read_only, demo=lab)


def _demo_state(lab) -> None:
    """The demo's journals and locks live and die with its lab (a fresh lab is a new cluster:
    nothing of an earlier demo may be offered for resume in it), unless LABCONSOLE_STATE_DIR
    names a state dir on purpose (tests that read the journal)."""
    import os
    from pathlib import Path

    if not os.environ.get("LABCONSOLE_STATE_DIR"):
        os.environ["LABCONSOLE_STATE_DIR"] = str(Path(lab.dir) / "state")


def _check(args: argparse.Namespace) -> int:
    from console.check import run_check

    if args.all_clusters and args.cluster:  # h-ctx (issue 10.7): --all-clusters
        print("labconsole: check: --all-clusters and --cluster exclude each other", file=sys.stderr)
        return EXIT_CONFIG

    def run(config: Config) -> int:
        if args.all_clusters:
            from console.check import run_check_all

            return run_check_all(config, as_json=args.json)
        return run_check(config.cluster(args.cluster), as_json=args.json)

    if args.demo:
        from console.demo import DemoLab

        with DemoLab(scenario=args.scenario or "seed", speed=args.speed) as lab:
            _demo_state(lab)
            return run(lab.config)
    return run(_load(args))


def _maintenance(args: argparse.Namespace) -> int:
    """Parse the rest of the command line with the maintenance module's own arguments."""
    import importlib

    try:  # import_module (not `from ... import`) so sys.modules decides, as tests expect
        maintenance_cli = importlib.import_module("console.maintenance.cli")
    except ImportError as exc:
        if exc.name != "console.maintenance.cli":
            raise
        print("labconsole: maintenance from the command line is not available yet", file=sys.stderr)
        return EXIT_UNAVAILABLE
    parser = argparse.ArgumentParser(prog="labconsole maintenance",
                                     description="Headless node maintenance (the engine of the wizard).")
    parser.add_argument("--cluster", metavar="NAME", default=args.cluster, help="cluster (default: default_cluster)")
    parser.add_argument("--read-only", action="store_true", default=args.read_only,
                        help="refuse everything that changes the cluster")
    maintenance_cli.add_arguments(parser)
    margs = parser.parse_args(args.args)
    config = _load(args)
    cluster = config.cluster(margs.cluster)
    if (margs.read_only or cluster.read_only) and margs.maint_cmd in MUTATING_MAINTENANCE:
        from console.errors import ReadOnlyError

        raise ReadOnlyError(f"maintenance {margs.maint_cmd}", cluster.name)
    return maintenance_cli.main(margs, config)


MUTATING_MAINTENANCE = ("run", "drain", "rejoin", "resume", "rollback")
