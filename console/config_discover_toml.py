"""The commented config `config discover` writes, checked by console.config before it is written.

Values are rendered by tomli-w (one key at a time, so comments can go
between them); the layout and the comments follow config.example.toml.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import tomli_w

from console.config_model import DEFAULT_TRACK_FILE
from console.errors import ConsoleError


def _kv(key: str, value) -> str:
    return tomli_w.dumps({key: value}).strip()


class _Doc:
    def __init__(self):
        self.lines: list[str] = []

    def comment(self, *texts: str) -> None:
        self.lines += [f"# {t}" if t else "#" for t in texts]

    def table(self, name: str, *comments: str) -> None:
        self.lines.append("")
        self.comment(*comments)
        self.lines.append(f"[{name}]")

    def array_table(self, name: str) -> None:
        self.lines.append(f"[[{name}]]")

    def key(self, key: str, value, comment: str | None = None) -> None:
        if comment:
            self.comment(comment)
        self.lines.append(_kv(key, value))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_config(disc, args, known_hosts: Path) -> str:
    c = f"clusters.{disc.cluster_name}"
    d = _Doc()
    today = datetime.date.today().isoformat()
    d.comment(f"labconsole configuration, written by `labconsole config discover` on {today}",
              f"from {disc.url}: Proxmox VE {disc.version}, cluster {disc.cluster_name!r}, "
              f"{len(disc.nodes)} nodes, {len(disc.guests)} guests.",
              "Every key is documented in config.example.toml; check it with `labconsole config check --live`.")
    for note in disc.notes:
        d.comment(f"NOT READ: {note}")
    d.key("default_cluster", disc.cluster_name)
    d.table("log")
    d.key("level", "info")

    d.table(c, "One table per cluster; each layer below is optional.")
    d.key("color", "green")
    d.key("read_only", False, "true: every mutating action is hidden or refused for this cluster.")

    d.table(f"{c}.proxmox")
    d.comment("API endpoints, tried in order. Each node has its own certificate: to add the other nodes,",
              "use ca_file = \"pve-root-ca.pem\" (copied from /etc/pve/pve-root-ca.pem) instead of the fingerprint.")
    d.key("endpoints", [disc.url])
    d.key("token_id", disc.token_id)
    d.key("token_secret_file", str(disc.secret_file), "The secret stays in its own file, never in this one.")
    d.key("fingerprint", disc.fingerprint,
          f"SHA-256 of {disc.url}'s certificate, confirmed when this file was written.")

    d.table(f"{c}.ssh", "SSH: HA maintenance, apt, kernels, the ceph CLI and the firewalls.",
            "Host keys are checked against known_hosts, never auto-accepted.")
    user = args.ssh_user or "root"
    d.key("user", user, "A non-root user needs password-less sudo for the maintenance commands (README).")
    d.key("known_hosts", str(known_hosts))
    if args.ssh_key:
        d.key("keys", [str(Path(args.ssh_key).expanduser().absolute())])
    d.key("agent", True)
    for alias, (address, port) in disc.addresses.items():
        d.table(f"{c}.ssh.hosts.{alias}")
        d.key("address", address)
        if port != 22:
            d.key("port", port)

    if disc.ceph:
        d.table(f"{c}.ceph", "Ceph was found: read through the Proxmox API; `ceph` runs over SSH on these nodes.")
        d.key("via", "api")
        d.key("ssh_hosts", [n for n, _ in disc.nodes])
    else:
        d.lines += ["", "# No Ceph found through the API. [" + c + ".ceph] with via = \"ssh\" reads it over SSH."]

    managers = list(args.swarm_manager or []) or [f"ssh://{g.name}" for g in disc.managers]
    if managers:
        d.table(f"{c}.swarm", "Docker Engine endpoints of the Swarm managers, tried in order:",
                "ssh://ALIAS forwards the manager's /var/run/docker.sock over SSH (an ssh.hosts entry each);",
                "tcp://HOST:2376 needs tls_ca, tls_cert and tls_key.")
        d.key("managers", managers)
        if disc.managers:
            d.table(f"{c}.swarm.node_vms", "Which Proxmox guest runs each Swarm node.")
            for g in disc.managers:
                d.key(g.name, g.vmid)
    else:
        d.lines += ["", f"# No Swarm managers chosen. [{c}.swarm] managers = [\"ssh://swarm1\"] adds them."]

    if args.traefik_url:
        d.table(f"{c}.traefik", "Traefik API base URL.")
        d.key("url", args.traefik_url)
    else:
        d.lines += ["", f"# [{c}.traefik] url = \"http://HOST:8080\" adds the Traefik API."]

    if disc.firewalls:
        d.table(f"{c}.vrrp", "keepalived on the firewalls. keepalived.conf must watch track_file:",
                f"  track_file labconsole {{ file \"{DEFAULT_TRACK_FILE}\" weight 0 init_file 0 }}",
                "  vrrp_instance VI_1 { ... track_file { labconsole } }")
        d.key("preferred_master", disc.firewalls[0].name)
        d.key("dump", "signal")
        d.key("track_file", DEFAULT_TRACK_FILE)
        for g in disc.firewalls:
            d.lines.append("")
            d.array_table(f"{c}.vrrp.firewalls")
            d.key("name", g.name)
            d.key("ssh_host", g.name)
            d.key("vmid", g.vmid)

    d.table(f"{c}.maintenance")
    d.key("reboot_timeout", 600)
    d.key("migrate_timeout", 600)
    d.key("root_dataset", "auto")
    return d.text()


def write_config(text: str, out: Path, force: bool) -> Path:
    """Validate `text` as a config for `out`, then write it (atomically; "x" unless force)."""
    from console.config import parse_config

    parse_config(text, out)  # ConfigError (a ConsoleError) if discover produced something invalid
    out.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        try:
            with open(out, "x", encoding="utf-8") as f:
                f.write(text)
        except FileExistsError:
            raise ConsoleError(str(out), "already exists; not overwriting it", "pass --force") from None
        return out
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out
