"""`labconsole config init|check|path|discover`."""

from __future__ import annotations

import argparse
import json
import sys

from console import paths

EXIT_OK, EXIT_MISSING, EXIT_CONFIG = 0, 1, 2


def add_config_actions(cfg: argparse.ArgumentParser, common) -> None:
    """The `config` sub-commands; `common(parser)` adds --config/--cluster/--debug."""
    sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    common(sub.add_parser("init", help="write a commented starter config (never overwrites)"))
    check = sub.add_parser("check", help="validate the config and list every problem (--live: connect and probe)")
    common(check)
    check.add_argument("--live", action="store_true",
                       help="connect to every configured endpoint and say, per layer, what works and what is missing")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    common(sub.add_parser("path", help="print where the config, log and state files live"))
    disc = sub.add_parser("discover", help="write a pinned, commented config from one Proxmox URL and an API token")
    common(disc)
    disc.add_argument("--url", help="a Proxmox VE node, https://HOST:8006")
    disc.add_argument("--token-id", help="API token id, USER@REALM!TOKENID")
    disc.add_argument("--token-secret-file", help="file holding the token secret (referenced by the config)")
    disc.add_argument("--accept-fingerprint", metavar="SHA256",
                      help="pin the server certificate only if its SHA-256 is this (no question asked)")
    disc.add_argument("--yes", action="store_true",
                      help="accept every discovered guest and SSH host key without asking (their fingerprints are "
                           "printed: "
                      "verify them); the TLS certificate still needs a typed yes or --accept-fingerprint")
    disc.add_argument("--out", metavar="FILE", help="where to write the config (default: the config path)")
    disc.add_argument("--known-hosts", metavar="FILE",
                      help="known_hosts file for the SSH host keys (default: known_hosts beside the config)")
    disc.add_argument("--ssh-user", default=None, help="SSH user for nodes and firewalls (default: root)")
    disc.add_argument("--ssh-key", default=None, help="SSH private key file (default: the agent / ~/.ssh keys)")
    disc.add_argument("--ssh-address", action="append", metavar="ALIAS=HOST[:PORT]",
                      help="where to reach a node or guest over SSH (default: the node's cluster IP, the guest's name)")
    disc.add_argument("--no-host-keys", action="store_true", help="do not read SSH host keys (add them yourself)")
    disc.add_argument("--swarm-manager", action="append", metavar="URL",
                      help="Docker endpoint of a Swarm manager (unix://, ssh://ALIAS, tcp://HOST:2376) instead of "
                      "ssh:// to the chosen guests")
    disc.add_argument("--traefik-url", help="Traefik API base URL, e.g. http://HOST:8080")
    disc.add_argument("--cluster-name", default=None,
                      help="name of the [clusters.NAME] table (default: PVE's cluster name)")
    disc.add_argument("--force", action="store_true", help="overwrite an existing config file")


def run_config_command(args: argparse.Namespace) -> int:
    action = args.config_command
    if action == "path":
        return _path(args)
    if action == "init":
        return _init(args)
    if action == "discover":
        from console.config_discover import run_discover

        return run_discover(args)
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
    print("next: set the Proxmox endpoint and token (or use `labconsole config discover`), then `labconsole config "
          "check`")
    return 0


def _check(args: argparse.Namespace) -> int:
    from console.config import ConfigError, check_references, load_config
    from console.layers import configured_sources

    config = load_config(args.config)
    problems = check_references(config)
    if problems:
        raise ConfigError(problems, config.path)
    if getattr(args, "live", False):
        return _check_live(args, config)
    default = config.cluster().name
    layers = {c.name: configured_sources(c) for c in config.clusters}
    if getattr(args, "json", False):
        print(json.dumps({"ok": True, "path": str(config.path), "default_cluster": default,
                          "clusters": {c.name: {"layers": layers[c.name], "read_only": c.read_only}
                                       for c in config.clusters}}, indent=2))
        return 0
    print(f"{config.path}: ok")
    for c in config.clusters:
        flags = " (default)" if c.name == default else ""
        flags += " read-only" if c.read_only else ""
        print(f"  {c.name}{flags}: {', '.join(layers[c.name]) or 'no layers configured'}")
    return 0


def _check_live(args: argparse.Namespace, config) -> int:
    import asyncio
    import dataclasses

    from console.config_live import format_results, live_check

    name = getattr(args, "cluster", None)
    clusters = [config.cluster(name)] if name else list(config.clusters)
    report = {}
    for cluster in clusters:
        if getattr(args, "read_only", False):
            cluster = dataclasses.replace(cluster, read_only=True)
        report[cluster.name] = asyncio.run(live_check(cluster))
    bad = any(not r.ok for results in report.values() for r in results)
    if args.json:
        print(json.dumps({"ok": not bad, "clusters": {n: [r.as_dict() for r in rs] for n, rs in report.items()}},
                         indent=2))
    else:
        print("\n".join(format_results(n, rs) for n, rs in report.items()))
    return EXIT_MISSING if bad else EXIT_OK
