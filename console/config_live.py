"""`labconsole config check --live`: connect to every configured endpoint and say,
per layer, what works and exactly what is missing.

Proxmox: each endpoint answers (TLS pin, token), then the token's effective
privileges (`GET /access/permissions`) against what the console needs, named
as "Sys.Audit on /" for reading and, unless the cluster is read-only, for
maintenance. SSH: every host the config reaches (nodes, firewalls, Ceph hosts,
ssh:// Swarm managers) accepts our key with a known host key; a non-root user
has password-less sudo for the commands maintenance runs; the keepalived
track file is writable. Ceph, Swarm, Traefik, VRRP: one real read each.

Nothing here writes to the cluster. Every text from outside is made inert
by ConsoleError or console.inert before it is shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from dataclasses import dataclass

from console.config_model import ClusterConfig
from console.errors import ConsoleError
from console.inert import cap, inert

# (ACL path, privilege, what the console uses it for); sourced from the
# `permissions` of each route in PVE's API schema (apidata.json).
READ_PRIVILEGES = (
    ("/", "Sys.Audit", "cluster status, HA and Ceph"),
    ("/nodes", "Sys.Audit", "node status, versions, tasks"),
    ("/vms", "VM.Audit", "guests and their status"),
    ("/storage", "Datastore.Audit", "storage in the cluster resources"),
)
MAINTENANCE_PRIVILEGES = (
    ("/", "Sys.Modify", "Ceph flags (noout) during maintenance"),
    ("/nodes", "Sys.Modify", "apt update through the API"),
    ("/nodes", "Sys.PowerMgmt", "node reboot"),
    ("/vms", "VM.Migrate", "draining a node (guest migration)"),
    ("/vms", "VM.PowerMgmt", "guest start, stop, shutdown"),
)
# Commands maintenance runs over SSH that need root (sudo for a non-root user).
# what console/ssh.py runs through sudo -n (sh: commands with shell syntax, as `sudo -n sh -c`)
NODE_SUDO_COMMANDS = ("ha-manager", "apt-get", "ceph", "proxmox-boot-tool", "reboot", "zfs", "sh")
FIREWALL_SUDO_COMMANDS = ("systemctl", "kill", "sh")


LAYER_ORDER = ("proxmox", "ssh", "ceph", "swarm", "vrrp", "traefik")


@dataclass(frozen=True)
class LiveResult:
    layer: str  # proxmox | ssh | ceph | swarm | traefik | vrrp
    subject: str  # endpoint, host alias, "token"...
    ok: bool
    text: str
    hint: str | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def has_privilege(perms: dict, path: str, priv: str) -> bool:
    """Effective `priv` on `path` from a /access/permissions map: the path itself,
    else its nearest listed ancestor's privileges that propagate."""
    if not isinstance(perms, dict):
        return False
    own = perms.get(path)
    if isinstance(own, dict) and priv in own:
        return True
    probe = path
    while probe != "/":
        probe = probe.rsplit("/", 1)[0] or "/"
        entry = perms.get(probe)
        if isinstance(entry, dict):
            return bool(entry.get(priv))
    return False


def missing_privileges(perms: dict, wanted) -> list[tuple[str, str, str]]:
    return [(path, priv, why) for path, priv, why in wanted if not has_privilege(perms, path, priv)]


# ---------------------------------------------------------------- proxmox
def _check_proxmox(cluster: ClusterConfig) -> tuple[list[LiveResult], list[str]]:
    """Results, and the node names (for the SSH layer) when an endpoint answered."""
    from console.pve_http import PveHttp, PveHttpError

    cfg = cluster.proxmox
    out: list[LiveResult] = []
    try:
        secret = cfg.token_secret.read()
    except ConsoleError as exc:
        return [LiveResult("proxmox", "token", False, exc.message, exc.hint)], []
    working: PveHttp | None = None
    for url in cfg.endpoints:
        api = PveHttp(url, cfg.token_id, secret, cfg.tls, timeout=cfg.timeout)
        try:
            version = api.get("version") or {}
            out.append(LiveResult("proxmox", url, True, f"answers: Proxmox VE {inert(version.get('version', '?'))}, "
                                  f"token {cfg.token_id} accepted"))
            if working is None:
                working = api
                continue
        except PveHttpError as exc:
            out.append(LiveResult("proxmox", url, False, exc.message, exc.hint))
        api.close()
    if working is None:
        return out, []
    try:
        out += _privileges(working, cfg.token_id, cluster.read_only)
        nodes = [inert(n.get("node")) for n in (working.get("nodes") or []) if isinstance(n, dict) and n.get("node")]
    except PveHttpError as exc:
        out.append(LiveResult("proxmox", "token", False, exc.message, exc.hint))
        nodes = []
    finally:
        working.close()
    return out, nodes


def _privileges(api, token_id: str, read_only: bool) -> list[LiveResult]:
    from console.pve_http import PveHttpError

    out = []
    perms = api.get("access/permissions") or {}
    sets = [("read-only use", READ_PRIVILEGES)]
    if not read_only:
        sets.append(("maintenance", MAINTENANCE_PRIVILEGES))
    roles = {"read-only use": "LabconsoleRead", "maintenance": "LabconsoleMaint"}
    for label, wanted in sets:
        missing = missing_privileges(perms, wanted)
        if not missing:
            out.append(LiveResult("proxmox", "token", True, f"{label}: has {', '.join(sorted({p for _, p, _ in wanted}))}"))
            continue
        for path, priv, why in missing:
            out.append(LiveResult("proxmox", "token", False, f"{label}: token {token_id} lacks {priv} on {path} ({why})",
                                  f"pveum acl modify / --tokens '{token_id}' --roles {roles[label]} "
                                  f"(a role holding {priv}: README, Connect to your cluster)"))
    # a real read as well: what the API itself says for the most basic one
    try:
        api.get("cluster/status")
    except PveHttpError as exc:
        if exc.status == 403:
            out.append(LiveResult("proxmox", "GET /cluster/status", False, f"refused: {exc.reason}", exc.hint))
    return out


# -------------------------------------------------------------------- ssh
def ssh_targets(cluster: ClusterConfig, nodes: list[str]) -> dict[str, str]:
    """alias -> role (node, ceph host, firewall, swarm manager), in a stable order."""
    roles: dict[str, str] = {}
    for n in nodes:
        roles.setdefault(n, "node")
    if cluster.ceph is not None and cluster.ceph.via == "ssh":
        for h in cluster.ceph.ssh_hosts:
            roles.setdefault(h, "node")
    if cluster.vrrp is not None:
        for fw in cluster.vrrp.firewalls:
            roles.setdefault(fw.ssh_host, "firewall")
    if cluster.swarm is not None:
        for m in cluster.swarm.managers:
            if m.startswith("ssh://"):
                roles.setdefault(m[len("ssh://"):].strip("/"), "swarm manager")
    if not nodes:  # PVE did not answer: at least the nodes the config names
        for h in cluster.ssh.hosts:
            roles.setdefault(h.alias, "node")
    return roles


_SUDO_HEADER = re.compile(r"may run the following commands", re.I)
_RUNAS = re.compile(r"^\([^)]*\)\s*")
_TAG = re.compile(r"^((?:NO)?[A-Z_]+):\s*")


def parse_sudo_list(text: str) -> list[tuple[bool, str]]:
    """`sudo -n -l` -> [(nopasswd, command)], command "ALL" or a path with arguments."""
    rules: list[tuple[bool, str]] = []
    in_rules = False
    for raw in text.splitlines():
        line = raw.strip()
        if _SUDO_HEADER.search(line):
            in_rules = True
            continue
        if not in_rules or not line.startswith("("):
            continue
        line = _RUNAS.sub("", line)
        nopasswd = False
        while True:
            m = _TAG.match(line)
            if not m:
                break
            nopasswd = nopasswd or m.group(1) == "NOPASSWD"
            if m.group(1) == "PASSWD":
                nopasswd = False
            line = line[m.end():]
        for cmd in (c.strip() for c in line.split(",")):
            if cmd:
                rules.append((nopasswd, cmd))
    return rules


def sudo_missing(rules: list[tuple[bool, str]], commands) -> list[str]:
    """The commands of `commands` (program names) not allowed without a password."""
    def allowed(name: str) -> bool:
        for nopasswd, cmd in rules:
            if not nopasswd:
                continue
            prog = cmd.split()[0]
            if prog == "ALL" or prog.rsplit("/", 1)[-1] == name:
                return True
        return False

    return [c for c in commands if not allowed(c)]


async def _check_ssh_host(pool, cluster: ClusterConfig, alias: str, role: str) -> list[LiveResult]:
    host = cluster.ssh.host(alias)
    subject = f"{alias} ({role})"
    try:
        who = await pool.run(alias, "id -un", timeout=cluster.timeout)
    except ConsoleError as exc:
        return [LiveResult("ssh", subject, False, exc.message, exc.hint)]
    user = inert(who.stdout.strip()) or host.user
    out = [LiveResult("ssh", subject, True, f"{host.user}@{host.address}:{host.port}: key accepted, host key known")]
    needs = NODE_SUDO_COMMANDS if role == "node" else FIREWALL_SUDO_COMMANDS if role == "firewall" else ()
    if user != "root" and needs:
        r = await pool.run(alias, "sudo -n -l", timeout=cluster.timeout)
        missing = sudo_missing(parse_sudo_list(r.stdout), needs) if r.exit_status == 0 else list(needs)
        if missing:
            why = "" if r.exit_status == 0 else f" (sudo -n -l: {cap(inert((r.stderr or r.stdout).strip()), 120)})"
            out.append(LiveResult("ssh", subject, False, f"user {user}: sudo without password not allowed for "
                                  f"{', '.join(missing)}{why}", "add the sudoers lines of README, Connect to your cluster"))
        else:
            out.append(LiveResult("ssh", subject, True, f"user {user}: sudo allowed for {', '.join(needs)}"))
    if role == "firewall" and cluster.vrrp is not None:
        track = cluster.vrrp.track_file
        how = "root" if user == "root" else "as root through sudo -n sh -c: the sudo check above covers it"
        out.append(LiveResult("vrrp", alias, True, f"track file {track}: written {how}"))
    return out


# ----------------------------------------------------------- other layers
async def _layer_read(name: str, fetch, subject: str) -> LiveResult:
    try:
        state = await fetch()
    except ConsoleError as exc:
        return LiveResult(name, subject, False, exc.message, exc.hint)
    ok = all(f.answering for f in state.firewalls) if name == "vrrp" else True
    return LiveResult(name, subject, ok, _summary(name, state),
                      None if ok else "check keepalived on that firewall and vrrp.dump / pidfile / json_file")


def _summary(name: str, state) -> str:
    if name == "swarm":
        return f"manager answers: {len(getattr(state, 'nodes', ()))} swarm nodes"
    if name == "vrrp":
        parts = [f"{inert(f.name)} {'answers' if f.answering else 'keepalived not answering'}" for f in state.firewalls]
        return "keepalived: " + ", ".join(parts)
    if name == "ceph":
        return f"Ceph answers: {inert(getattr(state, 'health', '') or 'status read')}"
    return "answers"


def _check_traefik(cluster: ClusterConfig) -> LiveResult:
    import requests

    from console.sources.tls import describe_tls_error, requests_session

    cfg = cluster.traefik
    session = requests_session(cfg.tls)
    try:
        if cfg.username:
            session.auth = (cfg.username, cfg.password.read() if cfg.password else "")
        resp = session.get(cfg.url.rstrip("/") + "/api/version", timeout=cfg.timeout)
    except ConsoleError as exc:
        return LiveResult("traefik", cfg.url, False, exc.message, exc.hint)
    except requests.exceptions.SSLError as exc:
        message, hint = describe_tls_error(exc, cfg.url, cfg.tls)
        return LiveResult("traefik", cfg.url, False, message, hint)
    except requests.exceptions.RequestException:
        return LiveResult("traefik", cfg.url, False, "cannot connect", "check traefik.url and that the API is enabled")
    finally:
        session.close()
    if resp.status_code == 401:
        return LiveResult("traefik", cfg.url, False, "HTTP 401: basic auth refused", "check username and password")
    if resp.status_code != 200:
        return LiveResult("traefik", cfg.url, False, f"GET /api/version: HTTP {resp.status_code} {cap(inert(resp.reason), 100)}",
                          "the Traefik API must be enabled (api@internal router or --api.insecure)")
    try:
        version = inert(resp.json().get("Version", "?"))
    except ValueError:
        return LiveResult("traefik", cfg.url, False, "GET /api/version: not JSON", "is this the Traefik API?")
    return LiveResult("traefik", cfg.url, True, f"answers: Traefik {version}")


async def live_check(cluster: ClusterConfig) -> list[LiveResult]:
    """Every result for `cluster`, layer by layer; nothing is written."""
    from console.sources import build_sources

    results: list[LiveResult] = []
    nodes: list[str] = []
    if cluster.proxmox is not None:
        pve, nodes = await asyncio.to_thread(_check_proxmox, cluster)
        results += pve
    srcs = build_sources(dataclasses.replace(cluster, read_only=True), read_only=True)
    try:
        targets = ssh_targets(cluster, nodes)
        for batch in await asyncio.gather(*(_check_ssh_host(srcs.ssh, cluster, a, r) for a, r in targets.items())):
            results += batch
        reads = []
        if cluster.ceph is not None and srcs.get("ceph") is not None:
            reads.append(_layer_read("ceph", srcs.get("ceph").fetch, f"via {cluster.ceph.via}"))
        if cluster.swarm is not None:
            reads += [_swarm_manager(cluster, srcs.ssh, m) for m in cluster.swarm.managers]
        if cluster.vrrp is not None:
            reads.append(_layer_read("vrrp", srcs.get("vrrp").fetch, "firewalls"))
        results += await asyncio.gather(*reads)
        if cluster.traefik is not None:
            results.append(await asyncio.to_thread(_check_traefik, cluster))
    finally:
        for src in srcs.by_name.values():
            close = getattr(src, "close", None)
            if close is not None:
                maybe = close()
                if asyncio.iscoroutine(maybe):
                    await maybe
        await srcs.close()
    return results


async def _swarm_manager(cluster: ClusterConfig, ssh, manager: str) -> LiveResult:
    from console.sources.swarm import SwarmSource

    src = SwarmSource(dataclasses.replace(cluster.swarm, managers=(manager,)), ssh, read_only=True,
                      cluster_name=cluster.name)
    try:
        return await _layer_read("swarm", src.fetch, manager)
    finally:
        await src.close()


def format_results(cluster: str, results: list[LiveResult]) -> str:
    lines = [f"cluster {cluster}:"]
    layer = None
    for r in sorted(results, key=lambda r: LAYER_ORDER.index(r.layer) if r.layer in LAYER_ORDER else 99):
        if r.layer != layer:
            layer = r.layer
            lines.append(f"  {layer}")
        mark = "ok     " if r.ok else "MISSING"
        lines.append(f"    {mark} {r.subject}: {r.text}")
        if r.hint and not r.ok:
            lines.append(f"            -> {r.hint}")
    if not results:
        lines.append("  nothing to check: no layers configured")
    bad = sum(1 for r in results if not r.ok)
    lines.append(f"  {'everything answers' if not bad else f'{bad} problem' + ('s' if bad != 1 else '')}")
    return "\n".join(lines)
