"""VRRP: every firewall and instance; split brain and no-master cannot be missed."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from screens.base import LayerScreen
from widgets.fast_table import FastTable
from widgets.format import BAD, OFF, OK, UNKNOWN, WARN, duration, mark
from widgets.table_columns import Column, Row

# Short labels: at 80 columns the header, not the content, would set the widths.
COLUMNS = (
    Column("firewall", "FW", min_width=3, max_width=16),
    Column("instance", "INST", min_width=4, max_width=12),
    Column("vrid", "VRID", width=4, align="right", priority=4),
    Column("state", "STATE", min_width=9, max_width=9),
    Column("prio", "PRIO b/e", width=8, align="right"),
    Column("vips", "VIPS", min_width=10, max_width=40),
    Column("since", "CHANGED", min_width=8, max_width=12, align="right", priority=2),
    Column("masters", "→MASTER", width=7, align="right", priority=3),
    Column("answering", "DAEMON", min_width=11, max_width=50),
    Column("at", "CHANGED AT (UTC)", min_width=14, max_width=16, priority=5, stretch=True),
)
STATE_LEVEL = {"MASTER": OK, "BACKUP": OFF, "FAULT": BAD, "INIT": WARN}


def instance_rows(vrrp, wall_now: float, last_known: dict | None = None) -> list[Row]:
    """One row per firewall and instance. A firewall that stopped answering keeps its last known
    instances (from the source, else from `last_known`: name -> Firewall), shown as "? STATE" with
    the old figures and the age of its last answer."""
    rows = []
    for fw in vrrp.firewalls:
        since = f" {duration(max(0, wall_now - fw.seen_at))} ago" if fw.seen_at and not fw.answering else ""
        answering = mark(OK, "answering") if fw.answering else \
            mark(BAD, f"silent, last answer{since or ' never'}: {fw.error or 'no answer'}")
        instances, addresses = fw.instances, fw.addresses
        remembered = not fw.answering and not instances and last_known and fw.name in last_known
        if remembered:
            instances, addresses = last_known[fw.name].instances, ()
        if not instances:
            rows.append(Row(f"{fw.name}/-", (fw.name, "-", "-", mark(UNKNOWN, "unknown"), "-", "-", "-", "-", answering,
                                             "-")))
        for i in instances:
            level = STATE_LEVEL.get(i.state, UNKNOWN) if fw.answering else UNKNOWN
            state = mark(level, i.state) if fw.answering else (f"? {i.state}", "magenta")
            held = [v for v in i.vips if v.split("/")[0] in {a.split("/")[0] for a in addresses}]
            vips = ",".join(i.vips) + (" (held)" if held else "")
            since = at = "-"
            if i.last_transition:
                since = f"{duration(max(0, wall_now - i.last_transition))} ago"
                at = time.strftime("%m-%d %H:%M:%S", time.gmtime(i.last_transition))
            prio = f"{i.base_priority}/{i.effective_priority}"
            prio_cell = (prio, "yellow") if i.effective_priority != i.base_priority else prio
            name = f"{i.sync_group}/{i.name}" if i.sync_group else i.name  # its sync group moves with it
            rows.append(Row(f"{fw.name}/{i.name}", (fw.name, name, str(i.vrid), state, prio_cell,
                                                    vips, since, str(i.master_transitions), answering, at)))
    return rows


def verdicts(vrrp, instances=None, last_known: dict | None = None, groups=None) -> tuple[list[str], list[str]]:
    """(alarms, fine) lines from the sync group and instance verdicts (console.verdict, the same as
    the Health tile and `check`): a split group, split brain / no master / FAULT, or who holds the
    VIPs; one line per sync group, one per instance outside a group. Without `instances` and
    `groups` (the screen passes its Story's) they are judged from `vrrp` alone."""
    if instances is None or groups is None:
        from console.health import vrrp_rules
        from console.verdict import group_verdicts, instance_verdicts

        findings = list(vrrp_rules(vrrp))
        instances = instance_verdicts(vrrp, findings) if instances is None else instances
        groups = group_verdicts(vrrp, findings) if groups is None else groups
    grouped = {f"vrrp/{m}" for g in getattr(vrrp, "sync_groups", ()) for m in g.members}
    alarms, fine = [], []
    for v in [*groups, *(v for v in instances if v.key not in grouped)]:
        # what the summary does not already say (a member in FAULT, no healthy BACKUP)
        extra = [t for t in v.lines if not any(w in t for w in ("SPLIT BRAIN", "no MASTER", "not the preferred",
                                                                  "is split across"))]
        text = v.summary + (f" — {'; '.join(extra)}" if extra else "")
        if v.level == "crit":
            alarms.append(f"✖ {text}")
        else:
            fine.append(f"{'●' if v.level == 'ok' else '▲'} {text}")
    silent = [fw for fw in vrrp.firewalls if not fw.answering]
    if silent:
        shown = last_known or any(fw.instances for fw in silent)
        alarms.append(f"✖ keepalived not answering on {', '.join(fw.name for fw in silent)}: its state is unknown"
                      + (" (the table shows the last known, marked ?)" if shown else ""))
    return alarms, fine


class VrrpScreen(LayerScreen):
    VIEW = "vrrp"
    TITLE_TEXT = "vrrp"
    SOURCES = ("vrrp",)
    CSS_PATH = "vrrp.tcss"
    BINDINGS = [Binding("ctrl+b", "failback", "Fail back")]
    MUTATING_ACTIONS = frozenset({"failback"})
    VIEW_KEYS = [("/", "filter, e.g. /MASTER /fw1 /!answering"),
                 ("ctrl+b", "fail the VIP back to the preferred firewall (asks first; reports the gap)")]

    def __init__(self) -> None:
        super().__init__()
        self.last_known: dict = {}  # firewall name -> its last answering Firewall

    def compose_body(self) -> ComposeResult:
        yield Static("", id="vrrp-alarm", markup=False)  # instance and firewall names come from the cluster
        yield Static("", id="vrrp-ok", markup=False)
        yield FastTable(COLUMNS, title="firewalls", empty_text="no firewalls", id="vrrp-table")

    def on_mount(self) -> None:  # LayerScreen.on_mount runs after this by itself (Textual walks the MRO)
        self.query_one("#vrrp-table", FastTable).focus()

    def render_data(self, snapshots, now) -> None:
        vrrp = self.data_of("vrrp")
        table = self.query_one("#vrrp-table", FastTable)
        alarm = self.query_one("#vrrp-alarm", Static)
        ok = self.query_one("#vrrp-ok", Static)
        if vrrp is None:
            table.set_rows(())
            alarm.set_class(False, "-on")
            ok.update("")
            return
        for fw in vrrp.firewalls:
            if fw.answering:
                self.last_known[fw.name] = fw
        remembered = {fw.name: self.last_known[fw.name] for fw in vrrp.firewalls
                      if not fw.answering and fw.name in self.last_known}
        table.set_rows(instance_rows(vrrp, self.app.wall_clock(), remembered))
        story = self.story(now)
        alarms, fine = verdicts(vrrp, story.instances, last_known=remembered, groups=story.groups)
        alarm.set_class(bool(alarms), "-on")
        alarm.update("\n".join(alarms))
        ok.update("\n".join(fine))

    def action_failback(self) -> None:
        from screens.operate import vip_failback_key

        vip_failback_key(self)
