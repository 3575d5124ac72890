"""What every detail pane shares (a finding's, a node's): a modal box of text over
the view, as wide as fits up to 110 columns, scrollable when it is taller than the
terminal (80x24), with the same keys: j/k or arrows a line, space/pagedown and
pageup a page, g/G top and bottom, esc, q or d (the key that opened it) closes.
A pane composes one VerticalScroll; its own keys come on top of these."""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class DetailPane(ModalScreen[ResultT]):
    DEFAULT_CSS = """
    DetailPane { align: center middle; }
    DetailPane > VerticalScroll { width: 100%; max-width: 110; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q,d", "dismiss_pane", "Close"),
        Binding("j,down", "scroll(1)", "Down", show=False), Binding("k,up", "scroll(-1)", "Up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("g,home", "home", "Top", show=False), Binding("G,end", "end", "Bottom", show=False),
    ]

    def on_mount(self) -> None:  # a subclass's on_mount runs too (Textual walks the MRO)
        self.box.focus()

    @property
    def box(self) -> VerticalScroll:
        return self.query_one(VerticalScroll)

    def action_scroll(self, step: int) -> None:
        self.box.scroll_relative(y=step, animate=False)

    def action_page(self, step: int) -> None:
        self.box.scroll_relative(y=step * max(1, self.box.size.height - 2), animate=False)

    def action_home(self) -> None:
        self.box.scroll_home(animate=False)

    def action_end(self) -> None:
        self.box.scroll_end(animate=False)

    def action_dismiss_pane(self) -> None:
        self.dismiss(None)
