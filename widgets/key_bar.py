"""A one-line key bar: the keys the focused widget, screen and app offer.

Textual's Footer mounts a widget per key and recomposes on every focus or
screen change (~100 ms of CPU per screen switch here); this is one Static
that renders a line of text instead.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._last = ""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen) -> None:
        if not screen.is_current:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        prompt_keys = self._prompt_keys(screen)
        if prompt_keys is not None:  # typing into the prompt: its keys, not the view's
            for key, what in prompt_keys:
                text.append(f" {key}", style="bold")
                text.append(f" {what} ")
            self._set(text)
            return
        seen: set[str] = set()
        if self.app.read_only:  # mutating keys are refused anyway; don't offer them
            seen |= set(getattr(screen, "MUTATING_ACTIONS", ()))
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            text.append(f" {self.app.get_key_display(binding)}", style="bold")
            text.append(f" {binding.description} ", style="" if active.enabled else "dim strike")
        text.append(" ^p", style="bold")
        text.append(" palette")
        self._set(text)

    def _set(self, text: Text) -> None:
        if text.plain != self._last:
            self._last = text.plain
            self.update(text)

    @staticmethod
    def _prompt_keys(screen) -> list[tuple[str, str]] | None:
        from widgets.prompt_bar import PromptBar

        focused = screen.focused
        if not isinstance(focused, PromptBar) or not focused.is_open:
            return None
        if focused.mode == ":":
            return [("enter", "run"), ("esc", "cancel"), ("tab", "complete"), ("↑↓", "history")]
        return [("enter", "keep filter"), ("esc", "clear"), ("re:", "regex"), ("!", "inverts")]

    @property
    def keys_text(self) -> str:
        return self._last
