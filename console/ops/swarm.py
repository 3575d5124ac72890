"""Swarm operations: scale a service, update its image, force an update (spread
tasks after a node rejoins), roll back to its previous spec, set a node's
availability, and follow a service's logs as the Engine streams them.

Every write is refused read-only (below any UI) and recorded in the command
log. Input is checked before anything is sent: a replica count that is not a
whole number >= 0, an image reference with spaces, a service or node that is
not (or no longer) there, a rollback with no previous spec. After the write
the service is followed until its update settles (or `wait` runs out).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.inert import inert
from console.ops.command_log import recorded
from console.ops.common import ActionResult, Progress, guard
from console.sources.swarm_writes import check_availability

MAX_REPLICAS = 1000  # a typo guard: nobody in a home lab means 10000
SETTLED = ("completed", "rollback_completed", "paused", "rollback_paused")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")


@dataclass(frozen=True)
class ServiceSpec:
    """What a service runs (or ran): enough to say what an action changes."""

    image: str  # without the digest
    digest: str | None  # sha256:... pinned in the spec, if any
    mode: str  # replicated | global
    replicas: int | None

    @property
    def words(self) -> str:
        scale = f"{self.replicas} replica(s)" if self.mode == "replicated" else "global"
        pinned = f" ({short_digest(self.digest)})" if self.digest else ""
        return f"{self.image}{pinned}, {scale}"


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    version: int
    spec: ServiceSpec
    previous: ServiceSpec | None
    update_state: str | None = None
    update_started: str | None = None  # UpdateStatus.StartedAt: tells this update's status from the last one's
    update_message: str | None = None  # UpdateStatus.Message


def short_digest(digest: str | None) -> str:
    return (digest or "")[:19]  # "sha256:" + 12 hex, as `docker images` shows


def split_image(ref: str) -> tuple[str, str | None]:
    image, _, digest = ref.partition("@")
    return image, digest or None


def _spec_of(spec: dict | None) -> ServiceSpec | None:
    if not isinstance(spec, dict) or not spec:
        return None
    image, digest = split_image(inert(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")))
    mode = spec.get("Mode") or {}
    replicated = mode.get("Replicated")
    replicas = None
    if isinstance(replicated, dict):
        try:
            replicas = int(replicated.get("Replicas", 1))
        except (TypeError, ValueError):
            replicas = None
    return ServiceSpec(image, digest, "replicated" if replicated is not None else "global", replicas)


def info_from(raw: dict) -> ServiceInfo:
    spec = raw.get("Spec") or {}
    return ServiceInfo(id=inert(raw.get("ID", "")), name=inert(spec.get("Name", "")),
                       version=int((raw.get("Version") or {}).get("Index", 0)),
                       spec=_spec_of(spec) or ServiceSpec("", None, "replicated", None),
                       previous=_spec_of(raw.get("PreviousSpec")),
                       update_state=inert((raw.get("UpdateStatus") or {}).get("State", "")) or None,
                       update_started=inert((raw.get("UpdateStatus") or {}).get("StartedAt", "")) or None,
                       update_message=inert((raw.get("UpdateStatus") or {}).get("Message", "")) or None)


def _swarm(sources: Any):
    src = sources.get("swarm")
    if src is None:
        raise ConsoleError("swarm", "not configured for this cluster", "add a [clusters.NAME.swarm] table")
    return src


async def find_service(sources: Any, ref: str) -> ServiceInfo:
    """The service by name or id; a clear error when it is not (or no longer) there."""
    try:
        return info_from(await _swarm(sources).service_inspect(ref))
    except ConsoleError as exc:
        if "404" in exc.message or "not found" in exc.message:
            raise ConsoleError("swarm", f"no service {ref!r} in the swarm",
                               "labconsole swarm services lists them") from exc
        raise


# ------------------------------------------------------------------ input checks


def parse_replicas(text: Any) -> int:
    try:
        n = int(str(text).strip())
    except ValueError:
        raise ConsoleError("swarm", f"replicas {str(text)!r} is not a whole number", "give 0 or more") from None
    if n < 0:
        raise ConsoleError("swarm", f"replicas {n} is below 0", "give 0 or more; 0 stops every task")
    if n > MAX_REPLICAS:
        raise ConsoleError("swarm", f"replicas {n} is more than {MAX_REPLICAS}", "a typo?")
    return n


def check_image(ref: str) -> str:
    """IMAGE[:TAG][@DIGEST], checked before anything is sent."""
    ref = (ref or "").strip()
    if not ref or not _IMAGE.match(ref) or ref.endswith((":", "@")):
        raise ConsoleError("swarm", f"image {ref!r} is not an image reference", "such as nginx:1.27 or repo/app:tag")
    return ref


def with_tag(current: ServiceSpec, tag_or_ref: str) -> str:
    """`:1.27` or `1.27` (a tag) -> the current repository with that tag; a full reference stays."""
    text = (tag_or_ref or "").strip()
    tag = text[1:] if text.startswith(":") else (text if text and "/" not in text and ":" not in text else None)
    if tag is None:
        return check_image(text)
    last = current.image.rsplit("/", 1)
    repo = current.image[: len(current.image) - len(last[-1])] + last[-1].split(":", 1)[0]
    return check_image(f"{repo}:{tag}")


# ------------------------------------------------------------------ sentences


def scale_sentence(s: ServiceInfo, n: int) -> str:
    return f"Scale service {s.name} from {s.spec.replicas} to {n} replica(s)."


def update_sentence(s: ServiceInfo, image: str) -> str:
    pinned = f" ({short_digest(s.spec.digest)})" if s.spec.digest else ""
    return f"Update service {s.name} from {s.spec.image}{pinned} to {image}, rolling task by task."


def force_sentence(s: ServiceInfo) -> str:
    return (f"Force-update service {s.name}: recreate its tasks with the same spec ({s.spec.words}), "
            "spreading them over the nodes that are active now.")


def rollback_sentence(s: ServiceInfo) -> str:
    if s.previous is None:
        raise ConsoleError("swarm", f"service {s.name} has no previous spec to roll back to",
                           "a rollback is possible once the service has been updated")
    return f"Roll back service {s.name} from {s.spec.words} to its previous spec: {s.previous.words}."


def availability_sentence(node: str, value: str) -> str:
    what = {"active": "takes new tasks again", "pause": "keeps its tasks but takes no new ones",
            "drain": "has its tasks moved to other nodes"}[value]
    return f"Set swarm node {node} to {value}: it {what}."


# ------------------------------------------------------------------ writes


async def _write(sources: Any, action: str, target: str, call: str, sentence: str, body) -> ActionResult:
    res = ActionResult(action, target, sentence)
    t0 = time.monotonic()
    async with recorded("swarm", call, target, sentence) as rec:
        warnings = await body()
        rec.result = "; ".join(warnings or [])
    res.ok = True
    res.message = "requested" + (f" (warnings: {'; '.join(warnings)})" if warnings else "")
    res.duration = time.monotonic() - t0
    return res


async def scale(sources: Any, service: str, replicas: Any, progress: Progress | None = None,
                wait: float = 120.0, info: ServiceInfo | None = None) -> ActionResult:
    n = parse_replicas(replicas)
    guard(sources, f"scale swarm service {service}")
    s = info or await find_service(sources, service)
    if s.spec.mode != "replicated":
        raise ConsoleError("swarm", f"service {s.name} is global: it runs one task per node and cannot be scaled")
    res = await _write(sources, "scale", s.name, f"POST services/{s.id}/update (replicas={n})",
                       scale_sentence(s, n), lambda: _swarm(sources).service_update(s.id, replicas=n))
    return await settle(sources, s, res, progress, wait, rolling=False)


async def update_image(sources: Any, service: str, image: str, progress: Progress | None = None,
                       wait: float = 300.0, info: ServiceInfo | None = None) -> ActionResult:
    guard(sources, f"update swarm service {service}")
    s = info or await find_service(sources, service)
    ref = with_tag(s.spec, image)
    if ref == s.spec.image:
        raise ConsoleError("swarm", f"service {s.name} already runs {ref}",
                           "to restart its tasks with the same image, use force-update")
    res = await _write(sources, "update", s.name, f"POST services/{s.id}/update (image={ref})",
                       update_sentence(s, ref), lambda: _swarm(sources).service_update(s.id, image=ref))
    return await settle(sources, s, res, progress, wait)


async def force_update(sources: Any, service: str, progress: Progress | None = None, wait: float = 300.0,
                       info: ServiceInfo | None = None) -> ActionResult:
    guard(sources, f"force-update swarm service {service}")
    s = info or await find_service(sources, service)
    res = await _write(sources, "force-update", s.name, f"POST services/{s.id}/update (ForceUpdate+1)",
                       force_sentence(s), lambda: _swarm(sources).service_update(s.id, force=True))
    return await settle(sources, s, res, progress, wait)


async def rollback(sources: Any, service: str, progress: Progress | None = None, wait: float = 300.0,
                   info: ServiceInfo | None = None) -> ActionResult:
    guard(sources, f"roll back swarm service {service}")
    s = info or await find_service(sources, service)
    sentence = rollback_sentence(s)  # refuses when there is no previous spec
    res = await _write(sources, "rollback", s.name, f"POST services/{s.id}/update?rollback=previous", sentence,
                       lambda: _swarm(sources).service_rollback(s.id))
    return await settle(sources, s, res, progress, wait)


async def set_availability(sources: Any, node: str, value: str) -> ActionResult:
    check_availability(value)
    guard(sources, f"set swarm node {node} to {value}")
    state = await _swarm(sources).fetch()
    found = next((n for n in state.nodes if node in (n.hostname, n.id)), None)
    if found is None:
        known = ", ".join(n.hostname for n in state.nodes)
        raise ConsoleError("swarm", f"no swarm node {node!r} (known: {known})")
    sentence = availability_sentence(found.hostname, value)
    return await _write(sources, "availability", found.hostname, f"POST nodes/{found.id}/update "
                        f"(Availability={value})", sentence,
                        lambda: _none(_swarm(sources).node_availability(found.id, value)))


async def _none(coro) -> list[str]:
    await coro
    return []


async def settle(sources: Any, before: ServiceInfo, res: ActionResult, progress: Progress | None,
                 wait: float, poll: float = 0.5, rolling: bool = True) -> ActionResult:
    """Follow the service until the running tasks match and, for a rolling change (image, force,
    rollback), until *this* update settled: its UpdateStatus started after `before`'s."""
    say = progress or (lambda _: None)
    if wait <= 0:
        return res
    src = _swarm(sources)
    t0 = time.monotonic()
    last = ""
    while True:
        state = await src.fetch()
        svc = next((x for x in state.services if x.id == before.id), None)
        if svc is None:
            res.ok, res.message = False, f"service {before.name} vanished while it was being changed"
            break
        now = info_from(await src.service_inspect(before.id)) if rolling else None
        update = now.update_state if now else svc.update_state
        line = f"{svc.replicas_running}/{svc.replicas_desired} running" + (f", {update}" if update else "") + \
               (f": {svc.update_message}" if svc.update_message and update not in SETTLED else "")
        if line != last:
            say(line)
            res.log.append(line)
            last = line
        ours = now is None or (now.update_started is not None and now.update_started != before.update_started)
        settled = ours and (update in SETTLED or update is None or now is None) and \
            (svc.mode != "replicated" or svc.replicas_running == svc.replicas_desired)
        if svc.version > before.version and settled:
            ok = update not in ("paused", "rollback_paused")
            res.ok = ok and res.ok
            res.message = f"done: {line}" if ok else f"update {update}: {svc.update_message or ''}".strip()
            break
        if time.monotonic() - t0 >= wait:
            res.message = f"requested; not settled after {wait:g} s ({line})"
            break
        await asyncio.sleep(poll)
    res.duration += time.monotonic() - t0
    return res


# ------------------------------------------------------------------ logs

_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\S+) ")


def task_names(state: Any, service_name: str) -> dict[str, str]:
    """task id -> `service.slot@node`, as `docker service logs` prints them."""
    hosts = {n.id: n.hostname for n in state.nodes}
    out = {}
    for t in state.tasks:
        slot = f".{t.slot}" if t.slot is not None else ""
        out[t.id] = f"{service_name}{slot}@{t.node_name or hosts.get(t.node_id or '', t.node_id or '?')}"
    return out


def format_log_line(line: str, names: dict[str, str]) -> str:
    """`[TS ]details message` -> `[TS ]task@node | message` (details are the Engine's task attributes)."""
    ts = ""
    m = _TS.match(line)
    if m:
        ts, line = m.group(0), line[m.end():]
    head, _, rest = line.partition(" ")
    if "com.docker.swarm" not in head:
        return ts + line
    from urllib.parse import parse_qsl

    attrs = dict(parse_qsl(head.replace(",", "&")))
    task = attrs.get("com.docker.swarm.task.id", "")
    name = names.get(task) or f"{task[:12]}@{attrs.get('com.docker.swarm.node.id', '?')[:12]}"
    return f"{ts}{name} | {rest}"


async def stream_logs(sources: Any, service: str, on_line: Callable[[str], None], stop: asyncio.Event,
                      tail: int = 200, follow: bool = True) -> None:
    """The service's log stream (follow=1: the Engine pushes new lines), each line with its
    `task@node` prefix, until `stop` is set or (without follow) the end of the log."""
    s = await find_service(sources, service)
    src = _swarm(sources)
    state = await src.fetch()
    names = task_names(state, s.name)
    hosts = {n.id: n.hostname for n in state.nodes}
    pending: set[str] = set()

    async def rename() -> None:
        try:
            names.update(task_names(await src.fetch(), s.name))
        except ConsoleError:
            pass

    def line_in(raw: str) -> None:
        task = re.search(r"com\.docker\.swarm\.task\.id=([A-Za-z0-9]+)", raw)
        if task and task.group(1) not in names:  # a task started after we looked: its node now, its slot soon
            node = re.search(r"com\.docker\.swarm\.node\.id=([A-Za-z0-9]+)", raw)
            names[task.group(1)] = f"{s.name}@{hosts.get(node.group(1), '?') if node else '?'}"
            if task.group(1) not in pending:
                pending.add(task.group(1))
                asyncio.ensure_future(rename())
        on_line(format_log_line(raw, names))

    await src.follow_service_logs(s.id, line_in, stop, tail=tail, follow=follow)
