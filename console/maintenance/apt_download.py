"""A node's package download, started once P8 has refreshed its lists and awaited by U1.

`apt-get -d dist-upgrade` only fetches the archives the refreshed lists name into the
node's apt cache; nothing installed changes, so it runs while the node drains (its guests
migrate meanwhile). U1 then installs from the cache what P8 listed. The download is an
optimisation and nothing else: one that fails, or that a resumed run no longer has (it
died with the console that started it), costs only time, as U1's dist-upgrade fetches
whatever is missing itself, and shows the error if the fetch fails again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import StepContext

DOWNLOAD = "DEBIAN_FRONTEND=noninteractive apt-get -d -y dist-upgrade"
TAIL = 3  # output lines kept to say why a download failed


def start_download(ctx: StepContext, svc: Any) -> None:
    """Start fetching `ctx.node`'s upgrade in the background (once per node and run)."""
    downloads: dict[str, asyncio.Task] = svc.downloads
    if ctx.node in downloads:
        return
    tail: deque[str] = deque(maxlen=TAIL)

    async def fetch() -> str | None:
        """None when done, else why not (never raises: U1 decides)."""
        try:
            code = await svc.ssh.stream(ctx.node, DOWNLOAD, tail.append, timeout=svc.timeout(3600),
                                        privileged=True)
        except ConsoleError as exc:
            return exc.message
        except Exception as exc:  # noqa: BLE001 - the connection went away under it: U1 fetches itself
            return f"{type(exc).__name__}: {exc}"
        return None if code == 0 else f"exited {code}: {tail[-1] if tail else 'no output'}"

    downloads[ctx.node] = asyncio.get_running_loop().create_task(fetch(), name=f"apt download {ctx.node}")
    ctx.progress(f"$ {DOWNLOAD} (in the background while {ctx.node} drains; U1 installs from the cache)")


async def finish_download(ctx: StepContext, svc: Any) -> None:
    """Wait for the node's download, if this console started one; say how it ended."""
    task = svc.downloads.pop(ctx.node, None)
    if task is None:
        return
    if not task.done():
        ctx.progress("waiting for the package download started at P8")
    why = await task
    ctx.progress("packages downloaded" if why is None
                 else f"the package download failed ({why}): dist-upgrade fetches them itself")


def cancel_downloads(svc: Any) -> None:
    """A run that ends or is rolled back before U1: its downloads are not waited for (the
    channel closes; whatever was fetched stays in the node's apt cache, which is harmless)."""
    for task in getattr(svc, "downloads", {}).values():
        task.cancel()
    getattr(svc, "downloads", {}).clear()
