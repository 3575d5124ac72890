"""The firewall pair (placeholder until the pair's steps land in this module)."""

from __future__ import annotations

from console.errors import ConsoleError


def firewall_steps(item: str) -> list:
    raise ConsoleError("upgrade", "the firewall pair's upgrade is not built yet")
