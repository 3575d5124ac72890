"""A guest's snapshots (issue 11 item 2): the tree (parent, date, description,
RAM), take one (name, description, RAM for VMs), roll back (PVE stops the
guest; it runs again after when the snapshot has its RAM or it was running),
delete. Each confirmed with the ops layer's sentence, followed to the end of
its task here (the status line shows its progress), recorded by the ops layer.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

from console.errors import ConsoleError
from console.inert import cap
from widgets.fast_table import FastTable
from widgets.table_columns import Column, Row

SNAPSHOT_COLUMNS = (
    Column("name", "NAME", min_width=10, max_width=40),
    Column("date", "TAKEN (UTC)", width=16),
    Column("ram", "RAM", width=3),
    Column("description", "DESCRIPTION", min_width=10, max_width=80, stretch=True),
)
NOW_KEY = "\0current"  # the "you are here" row: no snapshot can be named so (PVE's names are [a-zA-Z0-9_-])


def snapshot_rows(lst) -> list[Row]:
    """The tree as rows: children indented under their parent, the running state under its parent."""
    rows = []
    depth_of: dict[str, int] = {}
    for depth, s in lst.tree():
        depth_of[s.name] = depth
        indent = "  " * depth + ("└ " if depth else "")
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.time)) if s.time else "-"
        rows.append(Row(s.name, (indent + s.name, when, "yes" if s.vmstate else "", cap(s.description, 200)),
                        sort=(None, s.time or 0, s.vmstate, s.description)))
        if lst.current_parent == s.name:
            rows.append(_now_row(depth + 1))
    if lst.current_parent not in depth_of:
        rows.append(_now_row(0))
    return rows


def _now_row(depth: int) -> Row:
    indent = "  " * depth + ("└ " if depth else "")
    return Row(NOW_KEY, ((indent + "● now", "bold"), "", "", ("the guest as it runs", "dim")))


class SnapshotFormModal(ModalScreen[tuple[str, str, bool] | None]):
    """Take a snapshot: its name (checked as PVE checks it), a description, the RAM (VMs only)."""

    DEFAULT_CSS = """
    SnapshotFormModal { align: center middle; }
    SnapshotFormModal > Vertical { width: 72; max-width: 95%; height: auto; border: thick $primary;
        background: $surface; padding: 0 1; }
    SnapshotFormModal #snap-error { color: $error; height: auto; }
    """
    # enter takes the snapshot from any field, the RAM checkbox too (space ticks it)
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "submit", "Take", priority=True)]

    def __init__(self, label: str, is_vm: bool) -> None:
        super().__init__()
        self.label = label
        self.is_vm = is_vm

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Text(f"snapshot of {self.label}")
            yield Static("name (letters, digits, - and _; starts with a letter)", markup=False)
            yield Input(id="snap-name")
            yield Static("description (optional)", markup=False)
            yield Input(id="snap-description")
            if self.is_vm:
                yield Checkbox("include the RAM (the VM resumes as it was on rollback)", id="snap-ram")
            yield Static("", id="snap-error", markup=False)
            yield Static("tab moves, space ticks, enter takes it; esc cancels", markup=False)

    def on_mount(self) -> None:
        self.query_one("#snap-name", Input).focus()

    def action_submit(self) -> None:
        from console.ops.snapshots import check_name

        name = self.query_one("#snap-name", Input).value.strip()
        try:
            check_name(name)
        except ConsoleError as exc:
            self.query_one("#snap-error", Static).update(exc.message)
            self.query_one("#snap-name", Input).focus()
            return
        ram = self.query(Checkbox)
        self.dismiss((name, self.query_one("#snap-description", Input).value.strip(),
                      bool(ram and ram.first().value)))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SnapshotsModal(ModalScreen[None]):
    DEFAULT_CSS = """
    SnapshotsModal { align: center middle; }
    SnapshotsModal > Vertical { width: 110; max-width: 98%; height: 80%; border: thick $primary;
        background: $surface; padding: 0 1; }
    SnapshotsModal #snap-status { height: auto; max-height: 3; color: $text-muted; }
    SnapshotsModal #snap-keys { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+t", "take", "Take snapshot"),
        Binding("ctrl+b", "rollback", "Roll back"),
        Binding("ctrl+d", "delete", "Delete"),
    ]
    KEYS = "ctrl+t take a snapshot · ctrl+b roll back to the selected one · ctrl+d delete it · esc close"

    def __init__(self, vmid: int, label: str) -> None:
        super().__init__()
        self.vmid = vmid
        self.label = label
        self.listing = None  # console.ops.snapshots.SnapshotList
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Text(f"snapshots of {self.label}")
            yield FastTable(SNAPSHOT_COLUMNS, title="snapshots", empty_text="reading…", id="snapshots")
            yield Static("", id="snap-status", markup=False)
            yield Static(self.KEYS, id="snap-keys", markup=False)

    @property
    def table(self) -> FastTable:
        return self.query_one("#snapshots", FastTable)

    @property
    def console_app(self) -> Any:
        """The ConsoleApp (actions, hub, read_only), typed loosely: Textual types self.app as App."""
        return self.app

    def on_mount(self) -> None:
        self.table.focus()
        self.reload()

    def reload(self) -> None:
        self.run_worker(self._load(), group="snapshots-load", exit_on_error=False)

    async def _load(self) -> None:
        try:
            self.listing = await self.console_app.actions.guest_snapshots(self.vmid)
        except ConsoleError as exc:
            self.table.empty_text = f"cannot read the snapshots: {exc.message}"
            self.table.set_rows(())
            self.table.refresh()
            return
        self.table.empty_text = "no snapshots"
        self.table.set_rows(snapshot_rows(self.listing))

    def status(self, text: str) -> None:
        self.query_one("#snap-status", Static).update(cap(text, 300))

    def _selected(self):
        key = self.table.cursor_key
        snap = next((s for s in self.listing.snapshots if s.name == key), None) if self.listing else None
        if snap is None:
            self.app.notify("select a snapshot (not the 'now' row)", severity="warning")
        return snap

    # ------------------------------------------------------------ actions
    def _refused(self, title: str) -> bool:
        """Read-only: refused before anything is asked (the ops layer refuses again below)."""
        app = self.console_app
        if app.read_only:
            app.notify(f"refused: {title} (read-only)", title="read-only", severity="warning")
        return bool(app.read_only)

    def _start(self, title: str, ask) -> None:
        app = self.console_app
        if self.busy:
            app.notify("a snapshot task of this guest is still running", severity="warning")
            return
        self.run_worker(self._flow(title, ask), group="snapshots-op", exit_on_error=False)

    async def _flow(self, title: str, ask) -> None:
        from screens.guest_actions import confirm, poke_proxmox

        app = self.console_app
        try:
            prepared = await ask()
            if prepared is None:
                return
            sentence, do = prepared
            if not await confirm(app, sentence):
                return
            self.busy = True
            self.status(f"{title}: started")
            res = await do(self.status)
        except ConsoleError as exc:
            app.notify(exc.message + (f" ({exc.hint})" if exc.hint else ""), title=f"{title} failed",
                       severity="error")
            return
        finally:
            self.busy = False
        self.status(f"{title}: {res.message}")
        app.notify(res.message or "done", title=title if res.ok else f"{title} failed",
                   severity="information" if res.ok else "error")
        poke_proxmox(app)
        self.reload()

    def action_take(self) -> None:
        if self._refused(f"take a snapshot of {self.label}"):
            return

        async def ask():
            from console.ops.snapshots import create_sentence

            g = self.listing.guest if self.listing else await self.console_app.actions.guest_find(self.vmid)
            form = await self.console_app.push_screen_wait(SnapshotFormModal(g.label, g.type == "qemu"))
            if form is None:
                return None
            name, description, ram = form
            actions = self.console_app.actions
            return create_sentence(g, name, description, ram), lambda say: actions.guest_snapshot_create(
                self.vmid, name, description, ram, say)

        self._start("take snapshot", ask)

    def action_rollback(self) -> None:
        if self._refused(f"roll {self.label} back"):
            return
        snap = self._selected()
        if snap is None:
            return

        async def ask():
            from console.ops.snapshots import rollback_sentence

            g = self.listing.guest
            start = g.status == "running" and not snap.vmstate  # as it was: a running guest runs again
            actions = self.console_app.actions
            return rollback_sentence(g, snap, snap.name, start), lambda say: actions.guest_snapshot_rollback(
                self.vmid, snap.name, start, say)

        self._start(f"roll back to {snap.name}", ask)

    def action_delete(self) -> None:
        if self._refused(f"delete a snapshot of {self.label}"):
            return
        snap = self._selected()
        if snap is None:
            return

        async def ask():
            from console.ops.snapshots import delete_sentence

            actions = self.console_app.actions
            return delete_sentence(self.listing.guest, snap.name), lambda say: actions.guest_snapshot_delete(
                self.vmid, snap.name, say)

        self._start(f"delete snapshot {snap.name}", ask)

    def action_close(self) -> None:
        self.dismiss(None)
