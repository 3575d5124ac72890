"""A node's package lists and archives, fetched ahead of its upgrade.

For each node: `POST apt/update` (what P8 records the pending packages from), then
`apt-get -d dist-upgrade`, which only fetches the archives those lists name into the
node's apt cache. Neither changes anything installed, so both may run while the node
(or, in a rolling run, another node) is drained or upgraded. A rolling run starts them
for every node at once when it begins: every node then installs from lists read at the
same moment, so the whole cluster ends on the same versions even if the repository
changes during the run. A single node's P8 starts its own. P8 waits for the lists, U1
for the archives, and installs what P8 recorded.

The download is an optimisation and nothing else: one that fails, or that a resumed run
no longer has (it died with the console that started it), costs only time, as U1's
dist-upgrade fetches whatever is missing itself (and fails there, said, if it cannot).
A failed list refresh fails P8, as its own apt update would.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.maintenance.engine import StepContext, StepFailed
from console.maintenance.remote_calls import current_step

DOWNLOAD = "DEBIAN_FRONTEND=noninteractive apt-get -d -y dist-upgrade"
TAIL = 3  # output lines kept to say why a download failed


@dataclass
class Prefetch:
    """One node's refresh and download under way: each future holds None (done) or why not."""

    lists: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    task: asyncio.Task | None = None


def start_prefetch(svc: Any, node: str, journal: Any = None, step: str = "P8") -> Prefetch:
    """Refresh `node`'s lists and download its upgrade in the background (once per node and run).
    Its remote calls are journaled as P8's of `node` (`journal`: a rolling run starting it; from
    P8 itself the step's own context holds)."""
    have: Prefetch | None = svc.downloads.get(node)
    if have is not None:
        return have
    pre = Prefetch()
    tail: deque[str] = deque(maxlen=TAIL)
    quiet = StepContext(node, svc, step_id=step)  # the task's waits say nothing: P8 and U1 speak

    async def run() -> str | None:
        if journal is not None:
            current_step.set((journal, node, step))  # this task's own context
        try:
            upid = await svc.src("proxmox").apt_update(node)
            await svc.wait_task(quiet, node, upid, "apt update", svc.limit("apt_update"))
        except Exception as exc:  # noqa: BLE001 - P8 reports it as its own failure
            pre.lists.set_result(exc)
            return "the package lists were not refreshed"
        pre.lists.set_result(None)
        try:
            code = await svc.ssh.stream(node, DOWNLOAD, tail.append, timeout=svc.timeout(3600), privileged=True)
        except ConsoleError as exc:
            return exc.message
        except Exception as exc:  # noqa: BLE001 - the connection went away under it: U1 fetches itself
            return f"{type(exc).__name__}: {exc}"
        return None if code == 0 else f"exited {code}: {tail[-1] if tail else 'no output'}"

    pre.task = asyncio.get_running_loop().create_task(run(), name=f"apt prefetch {node}")
    svc.downloads[node] = pre
    return pre


def prefetch_nodes(svc: Any, nodes: list[str], journal: Any) -> None:
    """A rolling run begins: every node's lists and archives, at once (see the module's docstring)."""
    for node in nodes:
        start_prefetch(svc, node, journal)


async def lists_refreshed(ctx: StepContext, svc: Any) -> None:
    """P8: the node's lists refreshed (by the run's prefetch, else now); a failure is P8's."""
    pre = start_prefetch(svc, ctx.node)
    if not pre.lists.done():
        ctx.progress("waiting for the package lists (apt update)")
    failed = await pre.lists
    if failed is not None and svc.downloads.get(ctx.node) is pre:
        del svc.downloads[ctx.node]  # P8 retried refreshes them again
    if isinstance(failed, StepFailed):
        raise StepFailed(ctx.step_id or "P8", failed.message, failed.hint)
    if failed is not None:
        raise failed


async def finish_download(ctx: StepContext, svc: Any) -> None:
    """U1: wait for the node's download, if this console started one; say how it ended."""
    pre: Prefetch | None = svc.downloads.pop(ctx.node, None)
    if pre is None or pre.task is None:
        return
    if not pre.task.done():
        ctx.progress("waiting for the package download (apt-get -d)")
    why = await pre.task
    ctx.progress("packages downloaded" if why is None
                 else f"the package download failed ({why}): dist-upgrade fetches them itself")


def cancel_downloads(svc: Any) -> None:
    """A run that ends or is rolled back: its prefetches are not waited for (the channels
    close; whatever was fetched stays in the nodes' apt caches, which is harmless)."""
    for pre in getattr(svc, "downloads", {}).values():
        if pre.task is not None:
            pre.task.cancel()
    getattr(svc, "downloads", {}).clear()
