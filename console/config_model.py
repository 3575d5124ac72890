"""Frozen dataclasses the config loads into (see config.example.toml for every key).

console/config.py parses and validates TOML into these; everything else reads
only these. Paths are already expanded and absolute; secrets are resolved at
use time through `SecretRef.read()`, never stored in the config objects' repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from console.errors import ConsoleError


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret given by reference: a file or an environment variable."""

    file: Path | None = None
    env: str | None = None
    where: str = ""  # key path, for error messages

    def read(self) -> str:
        if self.file is not None:
            try:
                value = self.file.read_text().strip()
            except OSError as exc:
                raise ConsoleError(self.where, f"cannot read secret file {self.file}: {exc.strerror}") from None
            if not value:
                raise ConsoleError(self.where, f"secret file {self.file} is empty")
            return value
        if self.env is not None:
            value = os.environ.get(self.env, "").strip()
            if not value:
                raise ConsoleError(self.where, f"environment variable {self.env} is not set or empty")
            return value
        raise ConsoleError(self.where, "no secret configured")

    def __repr__(self) -> str:  # never print the secret, only where it comes from
        return f"SecretRef(file={self.file!s}, env={self.env!r})"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    verify: bool = True
    ca_file: Path | None = None
    fingerprint: str | None = None  # normalised: lowercase hex, no colons


@dataclass(frozen=True, slots=True)
class ProxmoxConfig:
    endpoints: tuple[str, ...]
    token_id: str  # USER@REALM!TOKENID
    token_secret: SecretRef
    tls: TlsConfig = field(default_factory=TlsConfig)
    interval: float = 2.0
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class SshHost:
    alias: str
    address: str
    port: int
    user: str
    keys: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class SshConfig:
    user: str = "root"
    known_hosts: Path | None = None
    keys: tuple[Path, ...] = ()
    agent: bool = True
    port: int = 22
    connect_timeout: float = 5.0
    hosts: tuple[SshHost, ...] = ()  # explicit per-host overrides

    def host(self, alias: str) -> SshHost:
        """Settings for `alias`, with the defaults filled in."""
        for h in self.hosts:
            if h.alias == alias:
                return h
        return SshHost(alias, alias, self.port, self.user, self.keys)


@dataclass(frozen=True, slots=True)
class CephConfig:
    via: str = "api"  # "api" | "ssh"
    ssh_hosts: tuple[str, ...] = ()
    interval: float = 5.0
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class SwarmConfig:
    managers: tuple[str, ...]  # unix:///..., ssh://alias, tcp://host:port
    remote_socket: str = "/var/run/docker.sock"
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    node_vms: tuple[tuple[str, int], ...] = ()  # (swarm hostname, vmid)
    registry_mirrors: tuple[tuple[str, str], ...] = ()  # (registry as in image names, base URL to ask)
    interval: float = 2.0
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class TraefikConfig:
    url: str
    username: str | None = None
    password: SecretRef | None = None
    tls: TlsConfig = field(default_factory=TlsConfig)
    interval: float = 2.0
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class FirewallConfig:
    name: str
    ssh_host: str
    vmid: int | None = None


DEFAULT_TRACK_FILE = "/etc/keepalived/track"


@dataclass(frozen=True, slots=True)
class VrrpConfig:
    firewalls: tuple[FirewallConfig, ...]
    preferred_master: str | None = None
    dump: str = "signal"  # "signal" or a command printing the JSON dump
    pidfile: str = "/run/keepalived.pid"
    json_file: str = "/tmp/keepalived.json"
    track_file: str = DEFAULT_TRACK_FILE  # keepalived `track_file` the console writes to move the VIP
    interval: float = 2.0
    timeout: float = 5.0
    sync_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (group, its instances): the JSON dump omits them
    preferred_masters: tuple[tuple[str, str], ...] = ()  # (instance or group, firewall): overrides preferred_master


@dataclass(frozen=True, slots=True)
class MaintenanceConfig:
    reboot_timeout: float = 600.0
    migrate_timeout: float = 600.0
    root_dataset: str = "auto"


@dataclass(frozen=True, slots=True)
class GuestProbe:
    """How to tell that one guest's service works after its upgrade (h-upgguest)."""

    guest: str  # a vmid ("200") or a guest name ("mail")
    tcp: tuple[str, ...] = ()  # "host:port" that must accept a connection
    http: tuple[str, ...] = ()  # URLs that must answer 2xx/3xx
    units: tuple[str, ...] = ()  # systemd units inside the guest that must be active
    ssh_host: str | None = None  # a VM reached over SSH (this alias) instead of the guest agent


@dataclass(frozen=True, slots=True)
class UpgradeConfig:
    """Guest and firewall upgrades (console/upgrade)."""

    snapshot_grace_hours: float = 72.0  # labconsole-RUNID snapshots are removed after this
    min_free_mb: float = 500.0  # free space a guest's root must have for its upgrade
    probe_timeout: float = 5.0  # seconds per TCP/HTTP probe
    guests: tuple[GuestProbe, ...] = ()

    def probe_for(self, vmid: int, name: str) -> GuestProbe | None:
        return next((g for g in self.guests if g.guest in (str(vmid), name)), None)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    name: str
    color: str = "green"
    read_only: bool = False
    interval: float = 2.0
    timeout: float = 5.0
    proxmox: ProxmoxConfig | None = None
    ssh: SshConfig = field(default_factory=SshConfig)
    ceph: CephConfig | None = None
    swarm: SwarmConfig | None = None
    traefik: TraefikConfig | None = None
    vrrp: VrrpConfig | None = None
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    max_backup_age: float = 7.0  # days: a guest without a newer backup is a health finding
    upgrade: UpgradeConfig = field(default_factory=UpgradeConfig)  # h-upgguest


@dataclass(frozen=True, slots=True)
class Config:
    clusters: tuple[ClusterConfig, ...]
    default_cluster: str | None = None
    log_level: str = "info"
    path: Path | None = None  # the file it was loaded from

    def cluster(self, name: str | None = None) -> ClusterConfig:
        wanted = name or self.default_cluster or (self.clusters[0].name if self.clusters else None)
        for c in self.clusters:
            if c.name == wanted:
                return c
        known = ", ".join(c.name for c in self.clusters) or "none"
        raise ConsoleError("config", f"no cluster named {wanted!r} (known: {known})")
