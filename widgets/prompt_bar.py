"""The bottom prompt for `/` filters and `:` commands, with completion and history."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input


class CommandSuggester(Suggester):
    """Completes the first matching command (`:gu` -> `guests`, `:ctx l` -> `ctx lab`)."""

    def __init__(self, commands) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.commands = commands  # callable returning the current list

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        for command in self.commands():
            if command.startswith(value.lower()) and command != value.lower():
                return command
        return None


class PromptBar(Input):
    """Hidden until opened; posts Changed-as-you-type for filters and Submitted/Cancelled."""

    DEFAULT_CSS = """
    PromptBar { height: 0; border: none; padding: 0 1; background: $boost; }
    PromptBar.-open { height: 1; }
    PromptBar:focus { border: none; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    class Done(Message):
        def __init__(self, prompt: PromptBar, mode: str, value: str, cancelled: bool) -> None:
            super().__init__()
            self.prompt, self.mode, self.value, self.cancelled = prompt, mode, value, cancelled

    class Typed(Message):
        def __init__(self, prompt: PromptBar, mode: str, value: str) -> None:
            super().__init__()
            self.prompt, self.mode, self.value = prompt, mode, value

    def __init__(self, commands=lambda: [], history: list[str] | None = None, **kwargs) -> None:
        super().__init__(suggester=CommandSuggester(self._commands), **kwargs)
        self._command_source = commands
        self.mode = ""
        self.history = history if history is not None else []
        self._history_at = 0
        # Focusable only while open: on a screen without a table the hidden prompt would otherwise
        # take the focus and swallow every key (`1`-`7`, `:`, `?`) as text.
        self.can_focus = False

    def _commands(self) -> list[str]:
        return self._command_source() if self.mode == ":" else []

    def open(self, mode: str, value: str = "") -> None:
        self.mode = mode
        self.placeholder = "command (tab completes, ↑ history)" if mode == ":" else "filter: text, re:regex, !inverts"
        self._history_at = len(self.history)
        self.add_class("-open")
        self.value = value
        self.cursor_position = len(value)
        self.can_focus = True
        # focus now, not on the next idle: keys typed right after `/` must land here
        self.screen.set_focus(self)

    def close(self) -> None:
        self.remove_class("-open")
        self.can_focus = False
        if self.has_focus:
            self.screen.set_focus(None)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def action_cancel(self) -> None:
        self.close()
        self.post_message(self.Done(self, self.mode, self.value, True))

    def action_history(self, step: int) -> None:
        if self.mode != ":" or not self.history:
            return
        self._history_at = max(0, min(len(self.history), self._history_at + step))
        self.value = self.history[self._history_at] if self._history_at < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        if self._suggestion:
            self.value = self._suggestion
            self.cursor_position = len(self.value)

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        if self.is_open and self.mode == "/":
            self.post_message(self.Typed(self, self.mode, value))

    async def action_submit(self) -> None:
        value = self.value.strip()
        if self.mode == ":" and value and (not self.history or self.history[-1] != value):
            self.history.append(value)
        self.close()
        self.post_message(self.Done(self, self.mode, value, False))
