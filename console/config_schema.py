"""Build the frozen config dataclasses from parsed TOML, collecting problems.

One function per table of config.example.toml. Layer interval/timeout fall
back to the cluster's own interval/timeout when the cluster sets them, else
to the layer's built-in default.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from console.config_model import (
    DEFAULT_TRACK_FILE,
    CephConfig,
    ClusterConfig,
    Config,
    FirewallConfig,
    GuestProbe,
    MaintenanceConfig,
    ProxmoxConfig,
    SecretRef,
    SshConfig,
    SshHost,
    SwarmConfig,
    TlsConfig,
    TraefikConfig,
    UpgradeConfig,
    VrrpConfig,
)
from console.config_reader import Table, resolve_path

LOG_LEVELS = ("debug", "info", "warning", "error")
COLORS = ("red", "green", "yellow", "blue", "magenta", "cyan", "white")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TOKEN_ID = re.compile(r"^[^@\s!]+@[^@\s!]+![A-Za-z0-9_.-]+$")


def build_config(data: dict, base_dir: Path, path: Path | None, problems: list[tuple[str, str]]) -> Config | None:
    top = Table(data, "", problems, base_dir)
    default_cluster = top.str("default_cluster")
    log_level = "info"
    log = top.table("log")
    if log:
        log_level = log.str("level", "info", choices=LOG_LEVELS) or "info"
        log.finish()
    clusters: list[ClusterConfig] = []
    table = top.table("clusters", required=True)
    if table is not None:
        clusters = [_cluster(name, ct) for name, ct in table.subtables()]
        if not table.data:
            top.problem("clusters", "no cluster defined: add a [clusters.NAME] table")
    top.finish()
    names = [c.name for c in clusters]
    if default_cluster is not None and table is not None and default_cluster not in table.data:
        top.problem("default_cluster",
                    f"names cluster {default_cluster!r}, but there is no [clusters.{default_cluster}]"
                    f" (known: {', '.join(names) or 'none'})")
    if problems:
        return None
    return Config(clusters=tuple(clusters), default_cluster=default_cluster, log_level=log_level, path=path)


def _cluster(name: str, t: Table) -> ClusterConfig:
    color = t.str("color", "green")
    if color not in COLORS and not _HEX_COLOR.match(color):
        t.problem(t.key("color"), f"must be one of {', '.join(COLORS)} or #rrggbb, not {color!r}")
    read_only = t.bool("read_only", False)
    own_interval = t.number("interval", None)
    own_timeout = t.number("timeout", None)
    timing = (own_interval, own_timeout)

    def layer(key, build):
        sub = t.table(key)
        if sub is None:
            return None
        value = build(sub, timing)
        sub.finish()
        return value

    proxmox = layer("proxmox", _proxmox)
    ssh = layer("ssh", lambda s, _t: _ssh(s)) or SshConfig()
    ceph = layer("ceph", _ceph)
    swarm = layer("swarm", _swarm)
    traefik = layer("traefik", _traefik)
    vrrp = layer("vrrp", _vrrp)
    maintenance = layer("maintenance", lambda s, _t: _maintenance(s)) or MaintenanceConfig()
    upgrade = layer("upgrade", lambda s, _t: _upgrade(s)) or UpgradeConfig()
    max_backup_age = t.number("max_backup_age", 7.0)
    t.finish()
    if ceph is not None and ceph.via == "api" and proxmox is None:
        t.problem(t.key("ceph.via"), f'"api" reads Ceph through the Proxmox API, but there is no [{t.key("proxmox")}]: '
                  'add it, or set via = "ssh" with ssh_hosts')
    return ClusterConfig(
        name=name, color=color, read_only=read_only,
        interval=own_interval or 2.0, timeout=own_timeout or 5.0,
        proxmox=proxmox, ssh=ssh, ceph=ceph, swarm=swarm, traefik=traefik, vrrp=vrrp,
        maintenance=maintenance, max_backup_age=max_backup_age, upgrade=upgrade,
    )


def _timing(t: Table, timing: tuple[float | None, float | None], interval: float, timeout: float) -> dict:
    own_interval, own_timeout = timing
    return {
        "interval": t.number("interval", own_interval or interval),
        "timeout": t.number("timeout", own_timeout or timeout),
    }


def _url(t: Table, key_path: str, value: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        t.problem(key_path, f"{value!r} is not a valid URL ({exc})")
        return False
    if parts.scheme not in schemes or not parts.hostname:
        want = " or ".join(f"{s}://HOST[:PORT]" for s in schemes)
        t.problem(key_path, f"{value!r} is not a valid URL: expected {want}")
        return False
    return True


def _tls(t: Table) -> TlsConfig:
    return TlsConfig(verify=t.bool("verify_tls", True), ca_file=t.path("ca_file"), fingerprint=t.fingerprint())


def _secret(t: Table, base: str, required: bool) -> SecretRef | None:
    file, env = t.secret_ref(base, required)
    if file is not None:
        return SecretRef(file=file, where=t.key(f"{base}_file"))
    if env is not None:
        return SecretRef(env=env, where=t.key(f"{base}_env"))
    return None


def _proxmox(t: Table, timing) -> ProxmoxConfig:
    items = t.str_items("endpoints", required=True, nonempty=True) or []
    for i, url in items:
        _url(t, f"{t.key('endpoints')}[{i}]", url, ("https",))
    endpoints = tuple(url for _, url in items)
    token_id = t.str("token_id", required=True) or ""
    if token_id and not _TOKEN_ID.match(token_id):
        t.problem(t.key("token_id"), f"{token_id!r} is not an API token id: expected USER@REALM!TOKENID")
    secret = _secret(t, "token_secret", required=True)
    return ProxmoxConfig(endpoints=endpoints, token_id=token_id, token_secret=secret or SecretRef(),
                         tls=_tls(t), **_timing(t, timing, 2.0, 5.0))


def _ssh(t: Table) -> SshConfig:
    user = t.str("user", "root")
    keys = t.path_list("keys")
    port = t.int("port", 22, 1, 65535)
    hosts = []
    table = t.table("hosts")
    if table is not None:
        for alias, h in table.subtables():
            hosts.append(SshHost(alias=alias, address=h.str("address", alias), port=h.int("port", port, 1, 65535),
                                 user=h.str("user", user), keys=h.path_list("keys", keys)))
            h.finish()
    return SshConfig(user=user, known_hosts=t.path("known_hosts"), keys=keys, agent=t.bool("agent", True),
                     port=port, connect_timeout=t.number("connect_timeout", 5.0), hosts=tuple(hosts))


def _ceph(t: Table, timing) -> CephConfig:
    via = t.str("via", "api", choices=("api", "ssh"))
    ssh_hosts = t.str_list("ssh_hosts") or ()
    if via == "ssh" and t.data.get("ssh_hosts") in (None, []):
        t.problem(t.key("ssh_hosts"), 'via = "ssh" needs ssh_hosts: the nodes to run `ceph` on')
    return CephConfig(via=via, ssh_hosts=ssh_hosts, **_timing(t, timing, 5.0, 5.0))


def _swarm(t: Table, timing) -> SwarmConfig:
    managers = []
    for i, url in t.str_items("managers", required=True, nonempty=True) or []:
        managers.append(_manager(t, f"{t.key('managers')}[{i}]", url))
    tls = {k: t.path(k) for k in ("tls_ca", "tls_cert", "tls_key")}
    if any(m.startswith("tcp://") for m in managers):
        for key, value in tls.items():
            if value is None:
                t.problem(t.key(key), "required for tcp:// managers (the Docker API over TCP is only used with TLS)")
    node_vms = []
    table = t.table("node_vms")
    if table is not None:
        for host in list(table.data):
            vmid = table.int(host, None, 100)
            if vmid is not None:
                node_vms.append((host, vmid))
    mirrors: list[tuple[str, str]] = []
    table = t.table("registry_mirrors")
    if table is not None:
        for host in list(table.data):
            url = table.str(host)
            if url is not None and not url.startswith(("http://", "https://")):
                table.problem(table.key(host), f"{url!r}: give the registry's base URL (https://host[:port])")
            elif url is not None:
                mirrors.append((host, url))
    return SwarmConfig(managers=tuple(managers), remote_socket=t.str("remote_socket", "/var/run/docker.sock"),
                       node_vms=tuple(node_vms), registry_mirrors=tuple(mirrors), **tls,
                       **_timing(t, timing, 2.0, 5.0))


def _manager(t: Table, key_path: str, url: str) -> str:
    if url.startswith("unix://"):
        rest = url[len("unix://"):]
        if not rest:
            t.problem(key_path, f"{url!r}: missing the socket path (unix:///path/docker.sock)")
            return url
        return "unix://" + str(resolve_path(rest, t.base_dir))
    if url.startswith("ssh://"):
        if not url[len("ssh://"):].strip("/"):
            t.problem(key_path, f"{url!r}: missing the SSH host alias (ssh://ALIAS)")
        return url
    if url.startswith("tcp://"):
        if _url(t, key_path, url, ("tcp",)) and urlsplit(url).port is None:
            t.problem(key_path, f"{url!r}: missing the port (tcp://HOST:2376)")
        return url
    t.problem(key_path, f"{url!r} is not a Docker endpoint: expected unix:///PATH, ssh://ALIAS or tcp://HOST:PORT")
    return url


def _traefik(t: Table, timing) -> TraefikConfig:
    url = t.str("url", required=True) or ""
    if url:
        _url(t, t.key("url"), url, ("http", "https"))
    username = t.str("username")
    password = _secret(t, "password", required=username is not None)
    if password is not None and username is None:
        t.problem(t.key("username"), "missing: a password is set, but no username for basic auth")
    return TraefikConfig(url=url, username=username, password=password, tls=_tls(t), **_timing(t, timing, 2.0, 5.0))


def _vrrp(t: Table, timing) -> VrrpConfig:
    firewalls: list[FirewallConfig] = []
    tables = t.tables("firewalls")
    if tables is None:
        t.problem(t.key("firewalls"), "missing: add one [[...vrrp.firewalls]] table per firewall")
    elif not tables:
        t.problem(t.key("firewalls"), "must list at least one firewall")
    for ft in tables or ():
        name = ft.str("name", required=True)
        ssh_host = ft.str("ssh_host", name)
        vmid = ft.int("vmid", None, 100)
        ft.finish()
        if name is None:
            continue
        if any(f.name == name for f in firewalls):
            ft.problem(ft.key("name"), f"firewall {name!r} is listed twice")
        firewalls.append(FirewallConfig(name=name, ssh_host=ssh_host, vmid=vmid))
    preferred = t.str("preferred_master")
    if preferred is not None and tables and preferred not in {f.name for f in firewalls}:
        t.problem(t.key("preferred_master"),
                  f"{preferred!r} is not one of the firewalls ({', '.join(f.name for f in firewalls)})")
    track_file = t.str("track_file", DEFAULT_TRACK_FILE)
    if not track_file.startswith("/"):
        t.problem(t.key("track_file"), f"{track_file!r} must be an absolute path on the firewalls")
    groups = _sync_groups(t)
    return VrrpConfig(firewalls=tuple(firewalls), preferred_master=preferred, dump=t.str("dump", "signal"),
                      pidfile=t.str("pidfile", "/run/keepalived.pid"),
                      json_file=t.str("json_file", "/tmp/keepalived.json"),
                      track_file=track_file, **_timing(t, timing, 2.0, 5.0),
                      sync_groups=groups, preferred_masters=_preferred_masters(t, firewalls if tables else None))


def _sync_groups(t: Table) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """[vrrp.sync_groups] GROUP = ["INSTANCE", ...]; an instance is in at most one group."""
    st = t.table("sync_groups")
    if st is None:
        return ()
    out: list[tuple[str, tuple[str, ...]]] = []
    seen: dict[str, str] = {}
    for name in list(st.data):
        members = st.str_list(name, nonempty=True)
        if members is None:
            continue
        for m in members:
            if m in seen:
                st.problem(st.key(name), f"instance {m!r} is already in sync group {seen[m]!r}")
            seen[m] = name
        out.append((name, tuple(dict.fromkeys(members))))
    return tuple(out)


def _preferred_masters(t: Table, firewalls: list[FirewallConfig] | None) -> tuple[tuple[str, str], ...]:
    """[vrrp.preferred_masters] INSTANCE_OR_GROUP = "FIREWALL"."""
    pt = t.table("preferred_masters")
    if pt is None:
        return ()
    names = {f.name for f in firewalls or ()}
    out = []
    for key in list(pt.data):
        fw = pt.str(key)
        if fw is None:
            continue
        if firewalls is not None and fw not in names:
            pt.problem(pt.key(key), f"{fw!r} is not one of the firewalls ({', '.join(sorted(names))})")
            continue
        out.append((key, fw))
    return tuple(out)


def _maintenance(t: Table) -> MaintenanceConfig:
    return MaintenanceConfig(reboot_timeout=t.number("reboot_timeout", 600.0),
                             migrate_timeout=t.number("migrate_timeout", 600.0),
                             root_dataset=t.str("root_dataset", "auto", nonempty=False))


def _upgrade(t: Table) -> UpgradeConfig:
    """[clusters.NAME.upgrade] and its [[...upgrade.guests]] probes (h-upgguest)."""
    probes: list[GuestProbe] = []
    for gt in t.tables("guests") or ():
        guest = gt.str("guest", required=True)
        tcp = gt.str_list("tcp") or ()
        for i, addr in enumerate(tcp):
            host, sep, port = addr.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                gt.problem(f"{gt.key('tcp')}[{i}]", f"{addr!r} is not host:port")
        http = gt.str_list("http") or ()
        for i, url in enumerate(http):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                gt.problem(f"{gt.key('http')}[{i}]", f"{url!r} is not an http:// or https:// URL")
        units = gt.str_list("units") or ()
        ssh_host = gt.str("ssh_host")
        gt.finish()
        if guest is None:
            continue
        if any(p.guest == guest for p in probes):
            gt.problem(gt.key("guest"), f"guest {guest!r} is listed twice")
        probes.append(GuestProbe(guest=guest, tcp=tuple(tcp), http=tuple(http), units=tuple(units),
                                 ssh_host=ssh_host))
    return UpgradeConfig(snapshot_grace_hours=t.number("snapshot_grace_hours", 72.0, positive=False) or 0.0,
                         min_free_mb=t.number("min_free_mb", 500.0, positive=False) or 0.0,
                         probe_timeout=t.number("probe_timeout", 5.0) or 5.0, guests=tuple(probes))
