"""`labconsole config discover`: from one Proxmox URL and an API token to a pinned, commented config.

Steps: read the server certificate and pin its SHA-256 only after the user
typed "yes" (or it equals --accept-fingerprint); over the pinned connection
read /version, /cluster/status, /nodes, /cluster/resources, HA and Ceph;
offer guests that look like Swarm managers and firewalls (tag or name) for
confirmation; fetch the SSH host keys of nodes and chosen guests (no login),
show their fingerprints and, once confirmed, append them to the known_hosts
file the config names; write the config (console/config_discover_toml.py),
checked by console.config before it is written. Never overwrites a config
without --force. Prompts are plain input()/print(); every flag answers its
question, so it also runs unattended (--yes accepts the discovered items).
Everything the cluster says is made inert before it is shown or written.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from console import paths
from console.config_model import TlsConfig
from console.errors import ConsoleError
from console.inert import inert

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_TOKEN_ID = re.compile(r"^[^@\s!]+@[^@\s!]+![A-Za-z0-9_.-]+$")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$")
SWARM_TAGS = {"swarm", "swarm-manager", "docker-swarm", "swarm-mgr"}
FIREWALL_TAGS = {"firewall", "fw", "opnsense", "pfsense", "vrrp", "keepalived"}
_SWARM_NAME = re.compile(r"swarm|docker-?m", re.I)
_FIREWALL_NAME = re.compile(r"^fw\d*\b|firewall|opnsense|pfsense", re.I)


class Asker:
    """Questions on stdin/stdout; EOF answers "" (so no), --yes accepts confirmations."""

    def __init__(self, yes: bool = False, ask=input, say=print):
        self.yes = yes
        self._ask = ask
        self.say = say

    def text(self, question: str, default: str | None = None) -> str:
        shown = f"{question} [{default}]: " if default else f"{question}: "
        try:
            answer = self._ask(shown).strip()
        except EOFError:
            answer = ""
        return answer or (default or "")

    def confirm(self, question: str) -> bool:
        if self.yes:
            self.say(f"{question} [y/N]: yes (--yes)")
            return True
        return self.text(f"{question} [y/N]").lower() in ("y", "yes")

    def typed_yes(self, question: str) -> bool:
        """Only the word "yes" counts (pinning a certificate); --yes does not answer this."""
        return self.text(f"{question} (type yes)").lower() == "yes"


@dataclass
class Guest:
    vmid: int
    name: str
    node: str
    kind: str  # qemu | lxc
    tags: tuple[str, ...]
    status: str


@dataclass
class Discovery:
    url: str
    fingerprint: str  # "AB:CD:..."
    token_id: str
    secret_file: Path
    version: str = "?"
    cluster_name: str = "home"
    nodes: list[tuple[str, str]] = field(default_factory=list)  # (name, ip or "")
    guests: list[Guest] = field(default_factory=list)
    ha_services: int = 0
    ceph: bool = False
    managers: list[Guest] = field(default_factory=list)
    firewalls: list[Guest] = field(default_factory=list)
    addresses: dict[str, tuple[str, int]] = field(default_factory=dict)  # alias -> (address, port)
    host_keys: dict[str, str] = field(default_factory=dict)  # alias -> "ssh-ed25519 AAAA..."
    notes: list[str] = field(default_factory=list)  # what could not be read, for the config header
    secret: str = field(default="", repr=False)  # only for this run's requests; never written


def looks_like(guest: Guest, tags: set[str], name: re.Pattern) -> bool:
    return bool(tags & {t.lower() for t in guest.tags}) or bool(name.search(guest.name))


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"labconsole: config discover: {inert(message)}", file=sys.stderr)
    return code


def run_discover(args: argparse.Namespace, ask=input) -> int:
    started = time.monotonic()
    out = Path(args.out).expanduser().absolute() if args.out else paths.config_path(getattr(args, "config", None))
    if out.exists() and not args.force:
        return _fail(f"{out} already exists; not overwriting it (pass --force, or --out another file)", EXIT_USAGE)
    asker = Asker(yes=args.yes, ask=ask)
    try:
        disc = _connect(args, asker)
        if disc is None:
            return EXIT_FAILED
        _read_cluster(disc, args, asker)
        _choose_guests(disc, asker)
        known_hosts = Path(args.known_hosts).expanduser().absolute() if args.known_hosts else out.parent / "known_hosts"
        _collect_host_keys(disc, args, asker, known_hosts)
        from console.config_discover_toml import render_config, write_config

        text = render_config(disc, args, known_hosts)
        write_config(text, out, args.force)
    except ConsoleError as exc:
        return _fail(str(exc))
    print(f"wrote {out} ({time.monotonic() - started:.1f} s)")
    print("next: `labconsole config check --live` to see, per layer, what works and what is missing")
    return EXIT_OK


def _connect(args, asker: Asker) -> Discovery | None:
    from console.pve_http import fetch_certificate_fingerprint, parse_endpoint
    from console.sources.tls import normalise_fingerprint

    url = args.url or asker.text("Proxmox VE URL (https://HOST:8006)")
    if not url:
        raise ConsoleError("url", "no Proxmox URL given", "pass --url https://HOST:8006")
    ep = parse_endpoint(url)
    token_id = (args.token_id or asker.text("API token id (USER@REALM!TOKENID)")).strip()
    if not _TOKEN_ID.match(token_id):
        raise ConsoleError("token id", f"{token_id!r} is not an API token id: expected USER@REALM!TOKENID",
                           "Datacenter > Permissions > API Tokens shows it")
    secret_path = args.token_secret_file or asker.text("file holding the token secret")
    if not secret_path:
        raise ConsoleError("token secret", "no secret file given",
                           "pass --token-secret-file FILE (one line: the secret)")
    secret_file = Path(secret_path).expanduser().absolute()
    from console.config_model import SecretRef

    secret = SecretRef(file=secret_file, where="--token-secret-file").read()

    fingerprint = fetch_certificate_fingerprint(ep)
    print(f"{ep.url} presents a TLS certificate with SHA-256 fingerprint\n  {fingerprint}")
    if args.accept_fingerprint:
        if normalise_fingerprint(args.accept_fingerprint) != normalise_fingerprint(fingerprint):
            _fail(f"the certificate does not match --accept-fingerprint {args.accept_fingerprint}: not pinning it")
            return None
        print("matches --accept-fingerprint: pinned")
    else:
        print("Compare it with the node's: `pvenode cert info` (the pveproxy-ssl.pem or pve-ssl.pem entry).")
        if not asker.typed_yes("pin this certificate?"):
            _fail("certificate not confirmed: nothing written")
            return None
    return Discovery(ep.url, fingerprint, token_id, secret_file, secret=secret)


def _api(disc: Discovery):
    from console.pve_http import PveHttp

    tls = TlsConfig(verify=True, fingerprint=disc.fingerprint.replace(":", "").lower())
    return PveHttp(disc.url, disc.token_id, disc.secret, tls)


def _read_cluster(disc: Discovery, args, asker: Asker) -> None:
    from console.pve_http import PveHttpError

    api = _api(disc)
    try:
        version = api.get("version") or {}  # a 401 (wrong token) ends discovery here
        disc.version = inert(version.get("version", "?"))

        def optional(path: str, what: str, **params):
            try:
                return api.get(path, **params)
            except PveHttpError as exc:
                if exc.status in (0, 401):
                    raise
                note = f"{what}: {exc.message}"
                disc.notes.append(note)
                asker.say(f"  cannot read {note}")
                return None

        status = optional("cluster/status", "cluster status") or []
        ips = {}
        for item in status:
            if item.get("type") == "cluster" and item.get("name"):
                disc.cluster_name = inert(item["name"])
            if item.get("type") == "node" and item.get("name"):
                ips[inert(item["name"])] = inert(item.get("ip") or "")
        for n in optional("nodes", "nodes") or []:
            name = inert(n.get("node") or "")
            if _ALIAS.match(name):
                disc.nodes.append((name, ips.get(name, "")))
        for r in optional("cluster/resources", "guests", type="vm") or []:
            if r.get("type") not in ("qemu", "lxc") or r.get("template"):
                continue
            tags = tuple(t for t in re.split(r"[;,\s]+", inert(r.get("tags") or "")) if t)
            disc.guests.append(Guest(int(r.get("vmid", 0)), inert(r.get("name") or ""), inert(r.get("node") or ""),
                                     r["type"], tags, inert(r.get("status") or "")))
        ha = optional("cluster/ha/status/current", "HA status") or []
        disc.ha_services = sum(1 for s in ha if s.get("type") == "service")
        disc.ceph = _has_ceph(api, disc)
    finally:
        api.close()
    if args.cluster_name:
        disc.cluster_name = args.cluster_name
    if not _ALIAS.match(disc.cluster_name):
        disc.cluster_name = "home"
    asker.say(f"Proxmox VE {disc.version}, cluster {disc.cluster_name!r}: {len(disc.nodes)} nodes "
              f"({', '.join(n for n, _ in disc.nodes)}), {len(disc.guests)} guests, "
              f"{disc.ha_services} HA resources, Ceph {'present' if disc.ceph else 'not found'}")


def _has_ceph(api, disc: Discovery) -> bool:
    from console.pve_http import PveHttpError

    try:
        api.get("cluster/ceph/status")
        return True
    except PveHttpError as exc:
        if exc.status == 403:
            disc.notes.append(f"Ceph: {exc.message}")
        return False


def _choose_guests(disc: Discovery, asker: Asker) -> None:
    for label, tags, pattern, chosen in (("a Swarm manager", SWARM_TAGS, _SWARM_NAME, disc.managers),
                                         ("a firewall (keepalived VIP)", FIREWALL_TAGS, _FIREWALL_NAME,
                                          disc.firewalls)):
        for g in disc.guests:
            if not looks_like(g, tags, pattern) or not _ALIAS.match(g.name):
                continue
            tag_text = f", tags {','.join(g.tags)}" if g.tags else ""
            if asker.confirm(f"{g.name} ({g.kind} {g.vmid} on {g.node}{tag_text}) looks like {label}: use it?"):
                chosen.append(g)


def _parse_address(text: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or 22)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 22


def _collect_host_keys(disc: Discovery, args, asker: Asker, known_hosts: Path) -> None:
    from console.config_discover_ssh import fetch_host_keys, write_known_hosts

    overrides = {}
    for item in getattr(args, "ssh_address", None) or []:
        alias, sep, addr = item.partition("=")
        if not sep:
            raise ConsoleError("--ssh-address", f"{item!r}: expected ALIAS=HOST[:PORT]")
        try:
            overrides[alias.strip()] = _parse_address(addr)
        except ValueError:
            raise ConsoleError("--ssh-address", f"{item!r}: the port is not a number") from None
    targets = [(n, ip or n) for n, ip in disc.nodes] + [(g.name, g.name) for g in disc.firewalls]
    if any(m.startswith("ssh://") for m in _manager_urls(disc, args)):
        targets += [(g.name, g.name) for g in disc.managers]
    for alias, default in targets:
        if alias in overrides:
            disc.addresses[alias] = overrides[alias]
        elif args.yes or getattr(args, "no_host_keys", False):
            disc.addresses[alias] = (default, 22)
        else:
            disc.addresses[alias] = _parse_address(asker.text(f"SSH address of {alias} (HOST[:PORT])", default))
    if getattr(args, "no_host_keys", False):
        asker.say("host keys not collected (--no-host-keys): add them to known_hosts before using SSH")
        return
    asker.say(f"reading SSH host keys of {len(disc.addresses)} hosts (no login)...")
    keys = fetch_host_keys(disc.addresses)
    for alias, (address, port) in disc.addresses.items():
        key, error = keys[alias]
        if key is None:
            asker.say(f"  {alias} {address}:{port}: {error}")
            disc.notes.append(f"no host key for {alias}: {error}")
            continue
        if asker.confirm(f"  {alias} {address}:{port} {key.algorithm} {key.fingerprint}: trust this host key?"):
            disc.host_keys[alias] = key.line
    added = write_known_hosts(known_hosts, {disc.addresses[a]: line for a, line in disc.host_keys.items()})
    asker.say(f"{known_hosts}: {added} host key{'s' if added != 1 else ''} added")


def _manager_urls(disc: Discovery, args) -> list[str]:
    given = list(getattr(args, "swarm_manager", None) or [])
    return given or [f"ssh://{g.name}" for g in disc.managers]
