"""The detail pane of a node (Health: d on a node row; issue 11 item 9).

What the polls know (console/ops/node_facts.py: versions, pending updates, HA,
guests, Ceph daemons) shows at once; the node's software (subscription, APT
repositories and their problems with the fix named, the newest kernel installed)
is read on demand in a worker (console/ops/node_detail.py, its PVE calls run in
threads) and kept for CACHE_SECONDS, so opening the pane again is instant; r
re-reads. A failed read says what could not be read, in words.

Keys, the same letters as elsewhere: enter goes to the node's guests (as enter on
the node row), x opens a shell on the node (screens/operate.py), ctrl+n evacuates
it through the guests screen's own flow (screens/guest_actions.py: its confirmation
and its queue, on the guests screen filtered to the node). j/k/g/G scroll, esc closes.
Strings were made inert by the sources; they are only ever appended as plain Text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.errors import ConsoleError, plain_reason
from console.inert import inert
from console.ops.node_facts import NodeFacts, node_facts
from screens.detail_pane import DetailPane

CACHE_SECONDS = 30.0
PROBLEM_STYLE = {"critical": "bold red", "warning": "yellow", "info": "dim"}


class NodeSoftwareCache:
    """The last software read of each node, for CACHE_SECONDS of `clock`."""

    def __init__(self, clock: Callable[[], float], ttl: float = CACHE_SECONDS) -> None:
        self.clock = clock
        self.ttl = ttl
        self._got: dict[tuple[str, str], tuple[float, object]] = {}

    def get(self, cluster: str, node: str):
        hit = self._got.get((cluster, node))
        return hit[1] if hit is not None and self.clock() - hit[0] < self.ttl else None

    def put(self, cluster: str, node: str, software) -> None:
        self._got[(cluster, node)] = (self.clock(), software)


def _section(out: Text, title: str) -> None:
    out.append(f"\n{title}\n", style="bold underline")


def _versions(out: Text, f: NodeFacts, sw) -> None:
    _section(out, "versions")
    pve = (sw.pve_version if sw is not None else "") or f.pve_version or "?"
    out.append(f"  pve-manager {inert(pve)}\n")
    running = (sw.kernel if sw is not None else "") or f.kernel or "?"
    out.append(f"  kernel running {inert(running)}")
    installed = sw.kernel_installed if sw is not None else ""
    if installed and installed != running:
        out.append(f", installed {inert(installed)}: a reboot boots it\n", style="yellow")
    elif installed:
        out.append(" (the newest installed)\n")
    else:
        out.append("\n")
    n = f.pending_updates
    out.append("  updates: " + ("not known yet" if n is None else f"{n} package(s) pending" if n else "none pending")
               + "\n")


def _unread(sw) -> dict[str, str]:
    """What of the software could not be read ({"subscription": why, ...}; NodeSoftware.errors)."""
    unread: dict[str, str] = {}
    for e in sw.errors:
        what, _, why = e.partition(": ")
        unread[what] = why
    return unread


def _subscription(out: Text, sw, unread: dict[str, str]) -> None:
    if "subscription" in unread:
        out.append("  not read\n", style="yellow")
        return
    level = f" ({inert(sw.subscription_level)})" if sw.subscription_level else ""
    out.append(f"  {inert(sw.subscription)}{level}", style="green" if sw.subscription == "active" else "")
    if sw.subscription_message:
        out.append(f": {inert(sw.subscription_message)}")
    out.append(f", next due {inert(sw.next_due)}\n" if sw.next_due else "\n")


def _repos(out: Text, sw, unread: dict[str, str]) -> None:
    for p in sw.problems:  # first: the trap must show without scrolling
        out.append(f"  {p.severity.upper()} ", style=PROBLEM_STYLE.get(p.severity, ""))
        out.append(f"{inert(p.text)}\n")
        if p.fix:
            out.append("    fix: ", style="bold")
            out.append(f"{inert(p.fix)}\n")
    if sw.repos and not any(p.severity in ("critical", "warning") for p in sw.problems):
        out.append("  no problem with the repositories\n", style="green")
    path = None
    for r in sw.repos:  # grouped by file: a path and a line side by side do not fit 80 columns
        if r.path != path:
            path = r.path
            out.append(f"  {inert(path)}\n", style="dim")
        out.append("    on  " if r.enabled else "    off ", style="green" if r.enabled else "dim")
        out.append(f"{inert(r.line)}\n", style="" if r.enabled else "dim")
    if not sw.repos:
        out.append("  not read\n" if "repositories" in unread else "  none listed\n", style="dim")
    if unread:  # an unreachable node fails every read the same way: the reason once
        why = next(iter(unread.values()))
        out.append(f"  not read: {inert(', '.join(unread))}: {inert(why)}\n", style="yellow")


def _software(out: Text, sw, error: str | None, loading: bool) -> None:
    _section(out, "subscription")
    if sw is None:
        out.append(f"  not read: {inert(error)}\n" if error else "  reading...\n" if loading else "  not read\n",
                   style="yellow" if error else "dim")
        _section(out, "APT repositories")
        out.append("  reading...\n" if loading else "  not read\n", style="dim")
        return
    unread = _unread(sw)
    _subscription(out, sw, unread)
    _section(out, "APT repositories")
    _repos(out, sw, unread)


def _cluster(out: Text, f: NodeFacts) -> None:
    _section(out, "guests")
    tmpl = f", {f.templates} template(s)" if f.templates else ""
    out.append(f"  {f.running} running, {f.stopped} stopped{tmpl}\n")
    _section(out, "HA")
    out.append(f"  LRM {inert(f.ha_lrm) if f.ha_lrm else 'not reported'}, "
               f"{f.ha_resources} HA resource(s) placed here\n")
    _section(out, "Ceph daemons")
    if f.ceph is None:
        out.append("  no Ceph data\n", style="dim")
    elif not f.ceph:
        out.append("  none on this node\n", style="dim")
    for d in f.ceph or ():
        out.append(f"  {inert(d.name):10} ")
        out.append(f"{inert(d.state)}\n", style="" if d.ok else "bold red")


def detail_text(facts: NodeFacts, software, error: str | None = None, loading: bool = False) -> Text:
    """The pane's text: the polls' facts, the software read (None: not yet, or failed with `error`)."""
    out = Text()
    out.append(f"{inert(facts.node)} ", style="bold")
    out.append(facts.status, style="green" if facts.status == "online" else "bold red")
    out.append(" (the node the API answers from)\n" if facts.local else "\n", style="dim")
    _versions(out, facts, software)
    _software(out, software, error, loading)
    _cluster(out, facts)
    return out


class NodeDetail(DetailPane[tuple[str, str] | None]):
    """Dismissed with ("guests", node), ("evacuate", node) or None."""

    BINDINGS = [
        Binding("enter", "guests", "Guests", show=False),
        Binding("x", "shell", "Shell", show=False),
        Binding("ctrl+n", "evacuate", "Evacuate", show=False),
        Binding("r", "reread", "Re-read", show=False),
    ]

    def __init__(self, node: str, cache: NodeSoftwareCache) -> None:
        super().__init__()
        self.node = node
        self.cache = cache
        self.software = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = Text(f"node: {inert(self.node)}")
            box.border_subtitle = "enter guests · x shell · ctrl+n evacuate · r re-read · esc"
            yield Static("", id="detail-text")

    def on_mount(self) -> None:  # DetailPane.on_mount focuses the box
        self.software = self.cache.get(self.console_app.cluster_name, self.node)
        if self.software is None and self.facts().status == "offline":  # every read would time out
            self.error = f"{self.node} is offline in the last poll; r reads anyway"
        self.render_text(loading=self.software is None and self.error is None)
        if self.software is None and self.error is None:
            self.read()

    @property
    def console_app(self) -> Any:
        """The ConsoleApp (actions, snapshots, read_only), typed loosely: Textual types self.app as App."""
        return self.app

    def facts(self) -> NodeFacts:
        snaps = self.console_app.snapshots
        return node_facts(self.node, getattr(snaps.get("proxmox"), "data", None),
                          getattr(snaps.get("ceph"), "data", None))

    def render_text(self, loading: bool = False) -> None:
        self.query_one("#detail-text", Static).update(detail_text(self.facts(), self.software, self.error, loading))

    def read(self) -> None:
        self.run_worker(self._read(), group="node-software", exclusive=True, exit_on_error=False)

    async def _read(self) -> None:
        reader = getattr(self.console_app.actions, "node_software", None)
        try:
            if reader is None:
                raise ConsoleError("node", "the node's software cannot be read for this cluster (no Proxmox API)")
            self.software = await reader(self.node)
            self.error = None
            self.cache.put(self.console_app.cluster_name, self.node, self.software)
        except ConsoleError as exc:
            self.software, self.error = None, exc.message
        except Exception as exc:  # noqa: BLE001 - a read that breaks is shown as a reason, in words
            self.software, self.error = None, plain_reason(exc)
        self.render_text()

    # ------------------------------------------------------------ keys
    def action_reread(self) -> None:
        self.software, self.error = None, None
        self.render_text(loading=True)
        self.read()

    def action_guests(self) -> None:
        self.dismiss(("guests", self.node))

    def action_shell(self) -> None:
        from screens.operate import open_shell

        open_shell(self, self.node, "a node")

    def action_evacuate(self) -> None:
        if self.console_app.read_only:
            self.notify(f"refused: evacuate {self.node} (read-only)", title="read-only", severity="warning")
            return
        self.dismiss(("evacuate", self.node))



async def after_detail(app, intent: tuple[str, str] | None) -> None:
    """What the pane was closed for: the node's guests, or its evacuation, which is the guests
    screen's own flow (confirmation, queue) started there, filtered to the node."""
    if intent is None:
        return
    what, node = intent
    await app.jump_to("guests", node)
    if what != "evacuate":
        return
    from screens import guest_actions as flows
    from screens.guests import GuestsScreen

    screen = app.screen
    if not isinstance(screen, GuestsScreen):
        return
    pve = getattr(app.snapshots.get("proxmox"), "data", None)
    by_vmid = {g.vmid: g for g in pve.guests} if pve is not None else {}
    flows.start_flow(screen, f"evacuate {node}", lambda: flows.prepare_evacuate(app, node, by_vmid))
