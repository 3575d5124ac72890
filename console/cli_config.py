"""`labconsole config init|check|path`."""

from __future__ import annotations

import argparse
import sys

from console import paths


def run_config_command(args: argparse.Namespace) -> int:
    action = args.config_command
    if action == "path":
        return _path(args)
    if action == "init":
        return _init(args)
    return _check(args)


def _path(args: argparse.Namespace) -> int:
    file, origin = paths.config_path_and_origin(args.config)
    exists = "" if file.exists() else "  (does not exist yet: `labconsole config init` writes it)"
    print(f"config:  {file}  [from {origin}]{exists}")
    print(f"log:     {paths.log_file()}")
    print(f"journal: {paths.journal_dir()}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from console.config import write_starter
    from console.errors import ConsoleError

    target = paths.config_path(args.config)
    try:
        written = write_starter(target)
    except ConsoleError as exc:
        print(f"labconsole: {exc}", file=sys.stderr)
        return 2
    print(f"wrote a starter config to {written}")
    print("next: set the Proxmox endpoint and token, then `labconsole config check`")
    return 0


def _check(args: argparse.Namespace) -> int:
    from console.config import ConfigError, check_references, load_config

    config = load_config(args.config)
    problems = check_references(config)
    if problems:
        raise ConfigError(problems, config.path)
    default = config.cluster().name
    print(f"{config.path}: ok")
    for c in config.clusters:
        layers = [name for name in ("proxmox", "ceph", "swarm", "traefik", "vrrp") if getattr(c, name) is not None]
        flags = " (default)" if c.name == default else ""
        flags += " read-only" if c.read_only else ""
        print(f"  {c.name}{flags}: {', '.join(layers) or 'no layers configured'}")
    return 0
