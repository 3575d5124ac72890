"""Ceph OSD flags (noout, norebalance, nobackfill, ...): set and unset with a
sentence saying what the flag does, refused read-only, recorded in the command
log, and followed until the cluster shows the change. While a flag is set,
health.py's ceph rule keeps a reminder finding ("flag noout is set").
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from console.errors import ConsoleError
from console.ops.command_log import recorded
from console.ops.common import ActionResult, guard

MEANING = {
    "noout": "down OSDs are not marked out, so no data moves while a node reboots",
    "norebalance": "no data is moved to rebalance placement",
    "nobackfill": "no backfill (copying whole PGs to new places)",
    "norecover": "no recovery of degraded objects",
    "noscrub": "no scrubbing",
    "nodeep-scrub": "no deep scrubbing",
    "noup": "OSDs are not marked up",
    "nodown": "OSDs are not marked down, even when they stop answering",
    "noin": "OSDs that start are not marked in",
    "pause": "no client reads or writes at all",
    "notieragent": "the cache tiering agent stops",
}
RISKY = ("pause", "noup", "nodown")  # these stop I/O or hide failures: typed confirmation


def _ceph(sources: Any):
    src = sources.get("ceph")
    if src is None:
        raise ConsoleError("ceph", "not configured for this cluster")
    return src


def check_flag(flag: str) -> str:
    from console.sources.ceph import FLAGS

    if flag not in FLAGS:
        raise ConsoleError("ceph", f"unknown flag {flag!r}", "one of " + ", ".join(FLAGS))
    return flag


def flag_sentence(flag: str, on: bool, current: frozenset[str] | None = None) -> str:
    check_flag(flag)
    if current is not None and (flag in current) == on:
        return f"Nothing to do: {flag} is already {'set' if on else 'unset'}."
    if on:
        return (f"Set the Ceph flag {flag}: {MEANING.get(flag, '')}. It stays set until unset; "
                "a health finding reminds you while it is.")
    return f"Unset the Ceph flag {flag}: normal behaviour resumes ({MEANING.get(flag, '')} no longer)."


async def current_flags(sources: Any) -> frozenset[str]:
    return (await _ceph(sources).fetch()).flags


async def set_flag(sources: Any, flag: str, on: bool, wait: float = 30.0) -> ActionResult:
    check_flag(flag)
    word = "set" if on else "unset"
    guard(sources, f"ceph osd {word} {flag}")
    src = _ceph(sources)
    before = await current_flags(sources)
    res = ActionResult(f"flag-{word}", flag, flag_sentence(flag, on, before))
    t0 = time.monotonic()
    if (flag in before) == on:
        res.ok, res.message = True, f"{flag} already {word}"
        return res
    async with recorded("ceph", f"ceph osd {word} {flag}", flag, res.sentence) as rec:
        await src.set_flag(flag, on)
        rec.result = word
    while True:  # the change is done when the cluster shows it
        flags = await current_flags(sources)
        if (flag in flags) == on:
            res.ok, res.message = True, f"{flag} {word}"
            break
        if time.monotonic() - t0 >= wait:
            res.message = f"requested, but the cluster does not show {flag} {word} after {wait:g} s"
            break
        await asyncio.sleep(0.3)
    res.duration = time.monotonic() - t0
    return res
