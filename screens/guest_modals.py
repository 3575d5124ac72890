"""Dialogs of the guest actions: a typed confirmation for the hard stop, and the
migrate dialog (target nodes with free memory and PVE's preconditions)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from widgets.format import size


class TypedConfirmModal(ModalScreen[bool]):
    """A destructive action: the operator types the guest's VMID or name (or the count of a batch)."""

    DEFAULT_CSS = """
    TypedConfirmModal { align: center middle; }
    TypedConfirmModal > Vertical { width: 72; max-width: 95%; height: auto; border: thick $error;
        background: $surface; padding: 0 1; }
    TypedConfirmModal #typed-question { margin: 1 0 0 0; }
    TypedConfirmModal #typed-hint { color: $text-muted; margin-bottom: 1; }
    TypedConfirmModal #typed-error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, sentence: str, accepted: tuple[str, ...], asked: str) -> None:
        super().__init__()
        self.sentence = sentence
        self.accepted = tuple(a for a in accepted if a)
        self.asked = asked  # "the VMID (112) or the name (backup-server)"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.sentence, id="typed-question", markup=False)
            yield Static(f"Type {self.asked} and press enter to go ahead; esc cancels.", id="typed-hint",
                         markup=False)
            yield Input(id="typed-input")
            yield Static("", id="typed-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() in self.accepted:
            self.dismiss(True)
            return
        self.query_one("#typed-error", Static).update(f"that is not {self.asked}: nothing was done yet")

    def action_cancel(self) -> None:
        self.dismiss(False)


class MigrateModal(ModalScreen[str | None]):
    """Where to: every other node with its free memory; nodes PVE refuses (or that are offline) are shown
    with the reason and cannot be chosen. `facts` are the preconditions read from GET .../migrate."""

    DEFAULT_CSS = """
    MigrateModal { align: center middle; }
    MigrateModal > Vertical { width: 84; max-width: 95%; height: auto; max-height: 90%; border: thick $primary;
        background: $surface; padding: 0 1; }
    MigrateModal #migrate-facts { margin: 1 0; }
    MigrateModal OptionList { height: auto; max-height: 12; }
    MigrateModal #migrate-hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, facts: list[str], targets: list[tuple[str, int, str]]) -> None:
        """targets: (node, free memory in bytes, reason it cannot be chosen or "")."""
        super().__init__()
        self.title_text = title
        self.facts = facts
        self.targets = targets

    def compose(self) -> ComposeResult:
        options = []
        for name, free, why in self.targets:
            line = Text(f"{name:<16} {size(free) + ' free':>14}")
            if why:
                line.append(f"  {why}", style="red")
            options.append(Option(line, id=name, disabled=bool(why)))
        with Vertical() as box:
            box.border_title = Text(self.title_text)
            yield Static("\n".join(self.facts), id="migrate-facts", markup=False)
            yield OptionList(*options, id="migrate-targets")
            yield Static("enter chooses the target (then a confirmation); esc cancels", id="migrate-hint")

    def on_mount(self) -> None:
        targets = self.query_one(OptionList)
        targets.focus()
        first = next((i for i, (_, _, why) in enumerate(self.targets) if not why), None)
        targets.highlighted = first

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def migrate_facts(opt) -> list[str]:
    """The preconditions of one guest's migration, in words (console.ops.guests.MigrateOptions)."""
    g = opt.guest
    how = {"ha": "through the HA manager (/cluster/ha/resources/…/migrate)" + (
               ", live" if g.type == "qemu" else f", restart mode: about {opt.downtime_s} s down"),
           "online": "live (online): no downtime",
           "restart": f"restart mode: it stops, moves and starts again, about {opt.downtime_s} s down",
           "offline": "offline: it is stopped"}[opt.mode]
    facts = [f"{g.label} on {g.node}, {g.status}: {how}"]
    if opt.local_resources:
        facts.append(f"local resources: {', '.join(opt.local_resources)}")
    if opt.local_disks:
        facts.append(f"local disks: {', '.join(opt.local_disks)}")
    if opt.blocked:
        facts.append(f"cannot move now: {opt.blocked}")
    needs = f"; it needs {size(g.maxmem)}" if g.maxmem and opt.running else ""
    allowed = [t.name for t in opt.targets if t.allowed]
    facts.append(f"allowed targets: {', '.join(allowed) or 'none'}{needs}")
    return facts
