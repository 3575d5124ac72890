"""Is a newer image published for each Swarm service? One row per service.

The service's spec pins `repo:tag@sha256:...` (what `docker service create` and
`docker stack deploy` resolve by default); the registry says which digest the
tag points at now (console/sources/registry.py). Rows:
  up to date               the tag still points at the running digest
  newer digest available   it points elsewhere (a re-pushed tag: `swarm upgrade SERVICE`)
  cannot check: REASON     no registry answer, a private image without credentials, TLS,
                           an unpinned service, ... (never blocks the other rows)

    rows = await service_image_updates(swarm_state, mirrors=dict(cfg.swarm.registry_mirrors),
                                       credentials=docker_credentials())   # console.sources.registry

Each distinct tag is asked once; the asks run in threads, concurrently, each
within `timeout` seconds, so a registry that hangs costs one timeout, not one
per service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from console.errors import ConsoleError
from console.sources.registry import ImageRef, RegistryClient, RegistryError, parse_reference

UP_TO_DATE = "up to date"
NEWER = "newer digest available"
CANNOT = "cannot check"
MAX_THREADS = 32  # distinct tags asked at once


@dataclass(frozen=True)
class ImageUpdate:
    service: str
    image: str  # repo:tag as the service names it (without the digest)
    running: str | None  # the digest the service's spec pins
    latest: str | None  # the digest the tag points at in the registry now
    status: str  # UP_TO_DATE | NEWER | CANNOT
    reason: str | None = None  # why it cannot be checked

    @property
    def pending(self) -> bool:
        return self.status == NEWER

    @property
    def text(self) -> str:
        if self.status == CANNOT:
            return f"{CANNOT}: {self.reason}"
        if self.status == NEWER:
            return f"{NEWER} ({_short(self.running)} -> {_short(self.latest)})"
        return f"{UP_TO_DATE} ({_short(self.running)})"

    def to_dict(self) -> dict:
        return {**asdict(self), "text": self.text}


def _short(digest: str | None) -> str:
    return (digest or "?")[:19]


def compare(service: str, image: str, running: str | None, latest: str | None, reason: str | None) -> ImageUpdate:
    if reason is not None or latest is None:
        return ImageUpdate(service, image, running, latest, CANNOT, reason or "the registry gave no digest")
    if running is None:
        return ImageUpdate(service, image, None, latest, CANNOT,
                           "the service does not pin a digest (created with --no-resolve-image?); "
                           f"the tag points at {_short(latest)}")
    return ImageUpdate(service, image, running, latest, UP_TO_DATE if running == latest else NEWER)


async def tag_digests(refs: list[ImageRef], client: RegistryClient, timeout: float) -> dict[ImageRef, str | Exception]:
    """The digest of each (distinct) tag, or the RegistryError that says why not; asked concurrently,
    each in its own thread (not the loop's small default pool: a registry that hangs then costs one
    timeout however many tags there are)."""
    from concurrent.futures import ThreadPoolExecutor

    unique = list(dict.fromkeys(refs))
    if not unique:
        return {}
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(unique)), thread_name_prefix="registry")

    async def one(ref: ImageRef) -> str | Exception:
        try:
            async with asyncio.timeout(timeout):
                return await loop.run_in_executor(pool, client.tag_digest, ref)
        except TimeoutError:
            return RegistryError(f"{ref.registry}: no answer within {timeout:g} s")
        except RegistryError as exc:
            return exc

    try:
        answers = await asyncio.gather(*(one(r) for r in unique))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return dict(zip(unique, answers, strict=True))


async def service_image_updates(swarm_state: Any, client: RegistryClient | None = None, *,
                                mirrors: Mapping[str, str] | None = None,
                                credentials: Mapping[str, tuple[str, str]] | None = None,
                                timeout: float = 5.0) -> list[ImageUpdate]:
    """One row per service of `swarm_state` (console.model.SwarmState), in its order."""
    own = client is None
    client = client or RegistryClient(mirrors=mirrors, credentials=credentials, timeout=timeout)
    try:
        parsed: dict[str, ImageRef | str] = {}
        for svc in swarm_state.services:
            try:
                ref = parse_reference(svc.image)
                parsed[svc.id] = ref if ref.tag else "the service names no tag, only a digest"
            except ConsoleError as exc:
                parsed[svc.id] = exc.message
        refs = [r for r in parsed.values() if isinstance(r, ImageRef)]
        digests = await tag_digests(refs, client, timeout * 2)  # HEAD + a token round trip at most
    finally:
        if own:
            await asyncio.to_thread(client.close)
    rows = []
    for svc in swarm_state.services:
        running = getattr(svc, "image_digest", None)
        target = parsed[svc.id]
        if isinstance(target, str):
            rows.append(compare(svc.name, svc.image, running, None, target))
            continue
        answer = digests[target]
        if isinstance(answer, Exception):
            rows.append(compare(svc.name, svc.image, running, None, getattr(answer, "reason", str(answer))))
        else:
            rows.append(compare(svc.name, svc.image, running, answer, None))
    return rows


def client_for(swarm_cfg: Any, credentials: Mapping[str, tuple[str, str]] | None = None) -> RegistryClient:
    """The registry client a cluster's [swarm] table describes (its registry_mirrors)."""
    return RegistryClient(mirrors=dict(getattr(swarm_cfg, "registry_mirrors", ()) or ()), credentials=credentials,
                          timeout=float(getattr(swarm_cfg, "timeout", 5.0)))
