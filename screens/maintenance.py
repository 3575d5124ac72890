"""Maintenance: the wizard's place (the maintenance work fills it with the engine's screen)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import LayerScreen


class MaintenanceScreen(LayerScreen):
    VIEW = "maintenance"
    TITLE_TEXT = "maintenance"
    SOURCES = ("proxmox",)
    VIEW_KEYS = [("", "the maintenance wizard is not built yet")]

    def compose_body(self) -> ComposeResult:
        yield Static("Maintenance wizard: not available in this build.\n"
                     "Use `labconsole maintenance plan NODE` from a shell.", id="maintenance-placeholder")

    def render_data(self, snapshots, now) -> None:
        pass
