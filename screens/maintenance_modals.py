"""The wizard's confirmation: type the node's name to start (GitHub-style)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TypeNameModal(ModalScreen[str | None]):
    """Dismisses with what was typed (enter) or None (esc); the caller compares."""

    DEFAULT_CSS = """
    TypeNameModal { align: center middle; }
    TypeNameModal > Vertical { width: 64; max-width: 96%; height: auto; border: thick $error; background: $surface;
        padding: 0 1; }
    TypeNameModal #what { margin: 1 0 0 0; }
    TypeNameModal #hint { color: $text-muted; margin-bottom: 1; }
    TypeNameModal Input { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, word: str) -> None:
        super().__init__()
        self.what = what
        self.word = word

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "confirm maintenance"
            yield Static(self.what, id="what", markup=False)
            yield Static(f"Type {self.word} and press enter to start; esc cancels.", id="hint", markup=False)
            yield Input(placeholder=self.word, id="confirm-word")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class KindModal(ModalScreen[str | None]):
    """What to do with the chosen node: "upgrade" (u) or "drain" only, for hardware work (d);
    None (esc). Nothing changes yet: the choice is planned and checked first."""

    DEFAULT_CSS = """
    KindModal { align: center middle; }
    KindModal > Vertical { width: 72; max-width: 96%; height: auto; border: thick $primary; background: $surface;
        padding: 1 1; }
    """
    BINDINGS = [Binding("u", "choose('upgrade')", "Upgrade"), Binding("d", "choose('drain')", "Drain only"),
                Binding("escape", "choose('')", "Cancel")]

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"maintenance of {self.node}"
            yield Static(f"u  upgrade {self.node}: drain, upgrade, reboot, verify, rejoin\n"
                         f"d  drain only, for hardware work: drain, wait for you (power it off and on if "
                         f"you need to), rejoin when you press r\n\n"
                         "Either is planned and checked first; nothing changes until you confirm. esc cancels.",
                         markup=False)

    def action_choose(self, kind: str) -> None:
        self.dismiss(kind or None)
