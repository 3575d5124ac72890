"""What every source is: a named thing the Poller can fetch from and the console can close.

console/layers.py lists the sources; console/sources/__init__.py builds them
and `Sources.close()` closes every one (HTTP sessions, Docker clients) and
then the shared SSH pool, on `:ctx` and on exit.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Source(Protocol):
    name: str  # console/layers.py SourceSpec.name

    async def fetch(self) -> Any:
        """Read the layer once: a typed model (console/model.py), or raise ConsoleError."""
        ...

    async def close(self) -> None:
        """Release every connection the source holds; it may be fetched from again afterwards."""
        ...
