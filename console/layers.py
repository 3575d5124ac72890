"""The one registry of what the console watches: five sources, the six layers they feed, and
the slow reports read through a source.

A *source* is what the console polls ("proxmox", "ceph", "swarm", "traefik",
"vrrp"): one config table, one source class, one Poller, one header dot. A
*layer* is what findings and Health tiles are about ("cluster", "guests",
"ceph", "swarm", "traefik", "vrrp"): proxmox feeds two of them. A *report* ("backups",
"repos") is read through a source, slowly (it reads many storages or every
node), and has no layer of its own: its findings go to an existing layer. Every
list of sources, reports or layers elsewhere reads from here. Pure data: importing this module
imports no client library and no Textual.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceSpec:
    name: str  # "proxmox": the Poller's and the Snapshot's name, the key of Sources.by_name
    label: str  # "Proxmox": how a person calls it
    short: str  # "pve": the header dot's label on a narrow terminal
    config_attr: str  # the ClusterConfig attribute holding its table (None: not configured)
    source_class: str  # "module:Class" of the source (console/sources/base.py: Source)
    layer: str  # the layer that findings about the source itself (unreachable, stale) go to
    rules: str  # the name of its rules function in console/health.py: state -> findings

    def load_class(self) -> Any:
        module, _, attr = self.source_class.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True, slots=True)
class LayerSpec:
    name: str  # "guests": Finding.layer, the Health tile, the verdict key
    title: str  # "Guests": the tile's heading
    source: str  # the source whose data it shows
    view: str  # the App mode that shows it ("health" for the cluster layer)
    screen: str | None  # "module:Class" of the view's screen; None: shown on Health


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("proxmox", "Proxmox", "pve", "proxmox", "console.sources.proxmox:ProxmoxSource", "cluster",
               "cluster_rules"),
    SourceSpec("ceph", "Ceph", "ceph", "ceph", "console.sources.ceph:CephSource", "ceph", "ceph_rules"),
    SourceSpec("swarm", "Swarm", "swarm", "swarm", "console.sources.swarm:SwarmSource", "swarm", "swarm_rules"),
    SourceSpec("traefik", "Traefik", "trfk", "traefik", "console.sources.traefik:TraefikSource", "traefik",
               "traefik_rules"),
    SourceSpec("vrrp", "VRRP", "vrrp", "vrrp", "console.sources.vrrp:VrrpSource", "vrrp", "vrrp_rules"),
)

# the Health tiles in order
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("cluster", "Cluster", "proxmox", "health", None),
    LayerSpec("guests", "Guests", "proxmox", "guests", "screens.guests:GuestsScreen"),
    LayerSpec("ceph", "Ceph", "ceph", "ceph", "screens.ceph:CephScreen"),
    LayerSpec("swarm", "Swarm", "swarm", "swarm", "screens.swarm:SwarmScreen"),
    LayerSpec("traefik", "Traefik", "traefik", "traefik", "screens.traefik:TraefikScreen"),
    LayerSpec("vrrp", "VRRP", "vrrp", "vrrp", "screens.vrrp:VrrpScreen"),
)


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """A report polled slowly through a source: no header dot and no tile of its own."""
    name: str  # "backups": the Poller's and the Snapshot's name, its key in console/health.py RULES
    label: str  # "Backups": how a person calls it
    needs: str  # the source it is read through; not polled when that source is not configured
    fetch: str  # "module:function", async (Sources, ClusterConfig) -> the report
    layer: str  # the layer its findings (and findings about reading it) go to
    interval: float  # seconds between polls (its timeout is its source's: `check` keeps its time limit)

    def load_fetch(self) -> Any:
        module, _, attr = self.fetch.partition(":")
        return getattr(importlib.import_module(module), attr)


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec("backups", "Backups", "proxmox", "console.sources.reports:fetch_backups", "guests", 300.0),
    ReportSpec("repos", "APT repositories", "proxmox", "console.sources.reports:fetch_repos", "cluster", 300.0),
)

SOURCE_NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)
REPORT_NAMES: tuple[str, ...] = tuple(r.name for r in REPORTS)
REPORT_BY_NAME: dict[str, ReportSpec] = {r.name: r for r in REPORTS}
LAYER_NAMES: tuple[str, ...] = tuple(layer.name for layer in LAYERS)
SOURCE_BY_NAME: dict[str, SourceSpec] = {s.name: s for s in SOURCES}
LAYER_BY_NAME: dict[str, LayerSpec] = {layer.name: layer for layer in LAYERS}
LAYER_OF_SOURCE: dict[str, str] = {**{s.name: s.layer for s in SOURCES}, **{r.name: r.layer for r in REPORTS}}
# the App's modes in key order (1..8): Health, one per layer with a screen, Maintenance, Events
LAYER_VIEWS: tuple[str, ...] = tuple(layer.view for layer in LAYERS if layer.screen is not None)
VIEWS: tuple[str, ...] = ("health", *LAYER_VIEWS, "maintenance", "events")


@dataclass(frozen=True, slots=True)
class CommandView:
    """A view reached by `:name` (and the palette), not by a number key."""
    name: str  # the App mode and the `:` word
    screen: str  # "module:Class"
    aliases: tuple[str, ...]  # other `:` words for it
    help: str  # one line for the palette


# one line per view; added by the issue that builds the screen
COMMAND_VIEWS: tuple[CommandView, ...] = (
    CommandView("log", "screens.command_log:CommandLogScreen", ("cmdlog",), "what labconsole changed: the command log"),
    CommandView("backups", "screens.backups:BackupsScreen", ("backup", "bk"), "backup jobs, last backup per guest"),
    CommandView("tasks", "screens.tasks:TasksScreen", ("task",), "PVE tasks cluster-wide, and their logs"),
    CommandView("clog", "screens.tasks:ClusterLogScreen", ("clusterlog",), "the PVE cluster log"),
    CommandView("updates", "screens.updates:UpdatesScreen", ("upd",), "pending updates everywhere; upgrade all"),
)
ALL_VIEWS: tuple[str, ...] = (*VIEWS, *(v.name for v in COMMAND_VIEWS))


def view_of(name: str) -> str:
    """The view that shows a layer or a source ("proxmox" and "cluster" -> "health")."""
    if name in LAYER_BY_NAME:
        return LAYER_BY_NAME[name].view
    if name in SOURCE_BY_NAME:
        return view_of(SOURCE_BY_NAME[name].layer)
    return "health"


def configured_sources(cluster: Any) -> list[str]:
    """The names of the sources `cluster` (a ClusterConfig) has a table for."""
    return [s.name for s in SOURCES if getattr(cluster, s.config_attr) is not None]
