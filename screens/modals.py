"""Dialogs: a yes/no confirmation for destructive keys, and the `?` key list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from rich.table import Table
from rich.text import Text
from textual.containers import Horizontal, Vertical, VerticalScroll
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
            yield Static(self.question, id="question", markup=False)  # names guests
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
    """The keys of the current view, then the keys that work everywhere; scrolls when short of rows."""

    DEFAULT_CSS = """
    HelpModal { align: center middle; }
    HelpModal > VerticalScroll { width: 78; max-width: 100%; height: auto; max-height: 100%; border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close"),
                Binding("j,down", "scroll(1)", "Down", show=False), Binding("k,up", "scroll(-1)", "Up", show=False)]

    def __init__(self, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        # A grid, so a long description wraps within its own column instead of under the keys.
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1)
        for key, what in self.keys:
            if key:
                grid.add_row(key, what)
            else:
                grid.add_row(Text(what, style="dim italic"), "")
        with VerticalScroll() as box:
            box.border_title = f"{self.title_text} — keys"
            box.border_subtitle = "esc closes"
            yield Static(grid)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)


class TextModal(ModalScreen[None]):
    """A read-only page of text (e.g. a Ceph health check's full detail)."""

    DEFAULT_CSS = """
    TextModal { align: center middle; }
    TextModal > Vertical { width: 100; max-width: 98%; height: auto; max-height: 90%; border: round $primary; background: $surface; padding: 0 1; overflow-y: auto; }
    """
    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Text(self.title_text)  # a Ceph check's code: not markup
            yield Static("\n".join(self.lines), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
