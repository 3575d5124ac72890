"""Dialogs: a yes/no confirmation for destructive keys, and the `?` key list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmModal(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    ConfirmModal > Vertical { width: 60; max-width: 95%; height: auto; border: thick $error; background: $surface; padding: 0 1; }
    ConfirmModal #question { margin: 1 0; }
    ConfirmModal Horizontal { height: auto; align: right middle; }
    ConfirmModal Button { margin-left: 1; min-width: 10; }
    """
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            with Horizontal():
                yield Button("No (n)", id="no")
                yield Button("Yes (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class HelpModal(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpModal { align: center middle; }
    HelpModal > Vertical { width: 76; max-width: 98%; height: auto; max-height: 95%; border: round $accent; background: $surface; padding: 0 1; overflow-y: auto; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.keys), default=4) + 2
        lines = [f"[b]{self.title_text}[/b] — keys"]
        for key, what in self.keys:
            lines.append(f"[b]{key.ljust(width)}[/b]{what}" if key else f"\n[dim]{what}[/dim]")
        with Vertical():
            yield Static("\n".join(lines), markup=True)

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)


class TextModal(ModalScreen[None]):
    """A read-only page of text (e.g. a Ceph health check's full detail)."""

    DEFAULT_CSS = """
    TextModal { align: center middle; }
    TextModal > Vertical { width: 100; max-width: 98%; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 0 1; overflow-y: auto; }
    """
    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static("\n".join(self.lines), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
