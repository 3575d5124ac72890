"""The one error family the data layer raises: what failed, where, what to check."""

from __future__ import annotations

from console.inert import inert


class ConsoleError(Exception):
    """A failure to show to the operator. `title` names where (source/host),
    `message` says what failed and what to check. Never carries secrets."""

    def __init__(self, title: str, message: str, hint: str | None = None):
        # error text often quotes what the cluster said: made inert here, once
        title, message = inert(title), inert(message)
        hint = inert(hint) if hint is not None else None
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.title}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ReadOnlyError(ConsoleError):
    """A mutating action was refused because the cluster is read-only."""

    def __init__(self, action: str, cluster: str):
        super().__init__(cluster, f"refused: {action} (read-only mode)",
                         "start without --read-only and set read_only = false for this cluster")
