"""Command palette (ctrl+p) entries: every view, every cluster, refresh, and the
keys of the view it was opened on (the same list as `?` and the key bar)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.layers import COMMAND_VIEWS, VIEWS


class ConsoleCommands(Provider):
    def _commands(self):
        app = self.app
        for n, view in enumerate(VIEWS, 1):
            yield f"View: {view} ({n})", partial(app.action_view, view), f"show the {view} screen"
        for cview in COMMAND_VIEWS:
            yield f"View: {cview.name} (:{cview.name})", partial(app.action_view, cview.name), cview.help
        yield "Clusters: all at a glance (:ctx)", app.open_cluster_picker, "every cluster's verdict; pick one to switch"
        for cluster in app.config.clusters:
            yield (f"Cluster: {cluster.name}", partial(app.run_console_command, f"ctx {cluster.name}"),
                   f"switch to cluster {cluster.name}")
        yield "Refresh now (ctrl+r)", app.action_refresh, "poll every source now"
        yield from self._view_keys()

    def _view_keys(self):
        """The view's own keys, as `View: Description (key)`; read-only leaves out the mutating ones."""
        from textual.binding import Binding

        screen = self.screen
        title = getattr(screen, "TITLE_TEXT", "")
        if not title:
            return
        hidden = set(getattr(screen, "MUTATING_ACTIONS", ())) if getattr(self.app, "read_only", False) else set()
        for binding in getattr(screen, "BINDINGS", ()):
            if isinstance(binding, Binding) and binding.description and binding.action not in hidden:
                key = self.app.get_key_display(binding)
                yield (f"{title.capitalize()}: {binding.description} ({key})",
                       partial(screen.run_action, binding.action), f"the {key} key of the {title} view")

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
