"""Incidents: findings grouped under the fact that explains them. Pure, no I/O.

After the health rules, `tell` builds the dependency graph from the snapshots
(console.incident_graph), marks findings that a maintenance run causes on
purpose as expected, applies silences, and groups the rest: a finding is an
effect when another finding's subject explains it through the graph (pve3
offline explains osd.2 down, the degraded PGs, swarm3 down, the Traefik
servers DOWN behind it, ...). Findings that nothing explains stay incidents
of their own. The verdicts (console.verdict) are computed from the same
assessed findings, so header, tiles, `check` and the finding list agree.

How a finding counts: silenced -> not at all (info); expected during a run ->
at most a warning; otherwise its own severity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from console.health import SEVERITY_ORDER, evaluate, source_findings
from console.incident_graph import (
    CEPH_HEALTH,
    FLAGS,
    MDS,
    MGR,
    MON_SUMMARY,
    OSD_SUMMARY,
    PGS,
    QUORUM,
    SWARM_MANAGERS,
    Entity,
    Graph,
    build_graph,
    entity_of,
)
from console.model import Finding
from console.verdict import (
    EXIT_OF_STATUS,
    Verdict,
    group_verdicts,
    instance_verdicts,
    layer_verdicts,
    overall_status,
    source_verdicts,
)

# what a maintenance run disturbs cluster-wide on purpose (warnings there are expected)
RUN_WIDE = {QUORUM, CEPH_HEALTH, OSD_SUMMARY, PGS, MON_SUMMARY, MGR, MDS, FLAGS, SWARM_MANAGERS}


@dataclass(frozen=True, slots=True)
class MaintenanceRun:
    """An unfinished maintenance run, as its journal tells it (console.maintenance_view)."""

    run_id: str
    nodes: tuple[str, ...]
    state: str  # "in progress" | "paused" | ...
    firewalls: tuple[str, ...] = ()  # firewall VMs whose VIP it moves
    swarm_nodes: tuple[str, ...] = ()
    osds: tuple[str, ...] = ()  # "osd.2"
    error: str | None = None  # why it stopped, when it waits for the operator
    waiting: bool = False  # stopped: it waits for the operator (resume or roll back)
    moving: tuple[str, ...] = ()  # VMIDs its node's plan moves, while it is in progress
    failing_back: bool = False  # its end's VIP fail-back is under way (or just ended): the holder FAULTs on purpose


@dataclass(frozen=True, slots=True)
class Assessed:
    finding: Finding
    expected_run: str | None = None  # the maintenance run that causes it on purpose
    silenced_by: str | None = None  # the silence id

    @property
    def counted(self) -> str:
        sev = self.finding.severity
        if self.silenced_by:
            return "info"
        if self.expected_run and sev in ("critical", "unknown"):
            return "warning"
        return sev

    def to_dict(self) -> dict:
        f = self.finding
        return {"severity": f.severity, "layer": f.layer, "subject": f.subject, "text": f.text, "hint": f.hint,
                "evidence": list(f.evidence), "counted": self.counted, "expected_run": self.expected_run,
                "silenced_by": self.silenced_by}


@dataclass(frozen=True, slots=True)
class Incident:
    root: Assessed
    effects: tuple[Assessed, ...] = ()
    impact: tuple[str, ...] = ()  # user-facing: "down: whoami.lab.home", "degraded: grafana.lab.home"
    expected_run: str | None = None  # set on the "maintenance of NODE" incident

    @property
    def severity(self) -> str:
        """The worst counted severity of the root and its effects."""
        return min((a.counted for a in (self.root, *self.effects)), key=lambda s: SEVERITY_ORDER.get(s, 9))

    @property
    def key(self) -> str:
        f = self.root.finding
        return f"{f.layer}|{f.subject}|{f.text}"

    def to_dict(self) -> dict:
        return {"severity": self.severity, "root": self.root.to_dict(), "effects": [e.to_dict() for e in self.effects],
                "impact": list(self.impact), "expected_run": self.expected_run}


@dataclass(frozen=True)
class Story:
    """Everything one health evaluation says, for every front end."""

    findings: tuple[Assessed, ...]
    incidents: tuple[Incident, ...]
    layers: dict[str, Verdict]  # cluster, guests, ceph, swarm, traefik, vrrp
    sources: dict[str, Verdict]  # proxmox, ceph, swarm, traefik, vrrp (header dots)
    instances: tuple[Verdict, ...]  # one per VRRP instance
    status: str = "ok"  # ok | warning | critical | unknown
    runs: tuple[MaintenanceRun, ...] = field(default=())
    groups: tuple[Verdict, ...] = ()  # one per VRRP sync group

    @property
    def exit_code(self) -> int:
        return EXIT_OF_STATUS[self.status]


def _rank(a: Assessed) -> tuple:
    f = a.finding
    # most severe first; a rule's own sentence before a Ceph check code restating it
    return (SEVERITY_ORDER.get(f.severity, 9), f.subject.isupper(), f.layer, f.subject, f.text)


# effects read from what the user loses to what the cluster copes with
EFFECT_LAYER_ORDER = {"guests": 0, "swarm": 1, "traefik": 2, "vrrp": 3, "ceph": 4, "cluster": 5}


def _effect_rank(a: Assessed) -> tuple:
    f = a.finding
    return (SEVERITY_ORDER.get(a.counted, 9), EFFECT_LAYER_ORDER.get(f.layer, 6), f.subject.isupper(), f.subject,
            f.text)


def _incident_rank(i: Incident) -> tuple:
    return (SEVERITY_ORDER.get(i.severity, 9), i.expected_run is not None, *_rank(i.root))


# ------------------------------------------------------------- maintenance


def _run_own(run: MaintenanceRun) -> set[Entity]:
    own = {("node", n) for n in run.nodes} | {("firewall", fw) for fw in run.firewalls}
    return own | {("swarm-node", s) for s in run.swarm_nodes} | {("osd", o) for o in run.osds}


def expected_by(run: MaintenanceRun, a: Assessed, entity: Entity, graph: Graph) -> bool:
    """Whether the run causes this finding on purpose: anything about its own node, firewall,
    Swarm node and OSDs, and the guests on its node (in progress or paused: the run's own
    incident says what to do); warnings below them or in
    the cluster-wide aggregates they disturb (noout, degraded PGs, quorum margin). Other critical
    findings still page."""
    own = _run_own(run)
    if entity in own:
        return True
    f = a.finding
    if entity[0] == "vrrp-instance" and any(f.text.startswith(f"{fw} ") and "FAULT" in f.text for fw in run.firewalls):
        return True
    if run.failing_back and entity[0] in ("vrrp-instance", "firewall") and "FAULT" in f.text:
        return True  # the fail-back puts the VIPs' holder in FAULT so that the preferred firewall takes them
    if entity[0] == "guest" and any(entity in graph.edges.get(("node", n), ()) for n in run.nodes):
        return True  # a guest on the run's node: stopped for its restart-migration, or for the reboot
    if entity[0] == "guest" and entity[1] in run.moving:
        return True  # on its way: HA starts it on the target a moment after it arrives there
    if f.severity in ("critical", "unknown"):
        return False
    below = set(RUN_WIDE)
    for e in own:
        below |= graph.reach(e)
    return entity in below


def _maintenance_root(run: MaintenanceRun) -> Assessed:
    """The run itself: info while it goes, a warning when it stopped and waits for the operator."""
    nodes = ", ".join(run.nodes)
    state = f"{run.state}: {run.error}" if run.error else run.state
    waiting = run.waiting
    hint = (f"resume or roll back: `labconsole maintenance resume|rollback {nodes}`" if waiting
            else "findings below are caused by the run on purpose and do not page")
    return Assessed(Finding("warning" if waiting else "info", "cluster", run.nodes[0] if run.nodes else "maintenance",
                            f"maintenance of {nodes} ({state}, run {run.run_id})", hint), run.run_id)


# ------------------------------------------------------------- correlation


def _impact(members: Iterable[tuple[Assessed, Entity]], graph: Graph) -> tuple[str, ...]:
    down, degraded, vips = [], [], []
    for a, (kind, name) in members:
        if kind == "traefik-service":
            bad, total = graph.servers.get(name, (0, 0))
            hosts = [h for r in graph.routers.get(name, ()) for h in graph.router_hosts.get(r, ())] or [name]
            (down if total and bad == total else degraded).extend(hosts)
        elif kind == "router" and a.finding.severity == "critical":
            down.extend(graph.router_hosts.get(name, ()) or [name])
        elif kind == "vrrp-instance" and a.finding.severity == "critical" and "FAULT" not in a.finding.text:
            vips.extend(graph.vips.get(name, ()) or [name])
    out = []
    if down:
        out.append("down: " + ", ".join(sorted(set(down))))
    if degraded:
        out.append("degraded: " + ", ".join(sorted(set(degraded) - set(down))))
    if vips:
        out.append("VIP at risk: " + ", ".join(sorted(set(vips))))
    return tuple(x for x in out if not x.endswith(": "))


def correlate(items: Sequence[tuple[Assessed, Entity]], graph: Graph) -> list[Incident]:
    """Group findings under the findings that explain them; each root is one incident.

    Works on entities (linear in the size of what they reach): an entity is explained when
    another broken entity reaches it and is not reached back; the worst finding about a root
    entity is the incident's root, the other findings about it are effects."""
    items = sorted(items, key=lambda x: _rank(x[0]))
    by_entity: dict[Entity, list[int]] = {}
    for i, (_, e) in enumerate(items):
        by_entity.setdefault(e, []).append(i)
    broken = set(by_entity)
    reach = {e: graph.reach(e, broken) & broken for e in by_entity}
    parents: dict[Entity, set[Entity]] = {}
    for e, below in reach.items():
        for x in below:
            parents.setdefault(x, set()).add(e)
    order = list(by_entity)  # entities in the rank order of their worst finding
    roots = [e for e in order if not any(p not in reach[e] for p in parents.get(e, ()))]
    members: dict[Entity, list[int]] = {e: list(by_entity[e][1:]) for e in roots}
    for e in order:
        if e in members:
            continue
        owner = next((r for r in roots if e in reach[r]), None)
        if owner is None:  # explained only through a cycle: let it stand alone
            members[e] = list(by_entity[e][1:])
            by_entity[e] = by_entity[e][:1]
        else:
            members[owner].extend(by_entity[e])
    incidents = []
    for e, effects in members.items():
        r = by_entity[e][0]
        group = [items[r], *(items[i] for i in effects)]
        incidents.append(Incident(items[r][0], tuple(sorted((items[i][0] for i in effects), key=_effect_rank)),
                                  _impact(group, graph)))
    return incidents


def _silence(a: Assessed, silences: Sequence) -> Assessed:
    hit = next((s for s in silences if s.matches(a.finding)), None)
    return replace(a, silenced_by=hit.id) if hit is not None else a


def assess(snapshots: Mapping[str, object], findings: Sequence[Finding], now: float,
           runs: Sequence[MaintenanceRun] = (), silences: Sequence = ()) -> tuple[list[Incident], Graph]:
    graph = build_graph(snapshots)
    from_sources = {f for snap in snapshots.values() for f in source_findings(snap, now)}
    runs_incidents: dict[str, list[Assessed]] = {r.run_id: [] for r in runs}
    rest: list[tuple[Assessed, Entity]] = []
    for f in findings:
        entity = entity_of(f, graph, f in from_sources)
        a = _silence(Assessed(f), silences)
        run = next((r for r in runs if expected_by(r, a, entity, graph)), None)
        if run is not None:
            runs_incidents[run.run_id].append(replace(a, expected_run=run.run_id))
        else:
            rest.append((a, entity))
    incidents = correlate(rest, graph)
    for run in runs:
        effects = tuple(sorted(runs_incidents[run.run_id], key=_effect_rank))
        incidents.append(Incident(_maintenance_root(run), effects, (), run.run_id))
    # a silenced root quiets its effects: silencing "pve3" silences the whole story of pve3
    incidents = [replace(i, effects=tuple(replace(e, silenced_by=e.silenced_by or i.root.silenced_by)
                                          for e in i.effects)) if i.root.silenced_by else i for i in incidents]
    return sorted(incidents, key=_incident_rank), graph


def tell(snapshots: Mapping[str, object], now: float, runs: Sequence[MaintenanceRun] = (),
         silences: Sequence = (), findings: Sequence[Finding] | None = None) -> Story:
    """The one health evaluation: findings, incidents, verdicts, status."""
    findings = list(evaluate(dict(snapshots), now) if findings is None else findings)
    incidents, _ = assess(snapshots, findings, now, runs, silences)
    assessed = {a.finding: a for inc in incidents for a in (inc.root, *inc.effects)}
    ordered = tuple(assessed.get(f, Assessed(f)) for f in findings)
    counted = {a.finding: a.counted for a in ordered}.get
    layers = layer_verdicts(snapshots, findings, now, lambda f: counted(f, f.severity))
    vrrp = getattr(snapshots.get("vrrp"), "data", None)
    instances = tuple(instance_verdicts(vrrp, findings, lambda f: counted(f, f.severity)))
    groups = tuple(group_verdicts(vrrp, findings, lambda f: counted(f, f.severity)))
    return Story(ordered, tuple(incidents), layers, source_verdicts(layers), instances,
                 overall_status(layers), tuple(runs), groups)
