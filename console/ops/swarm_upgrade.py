"""A Swarm service's image upgrade, done so that a bad image costs nothing.

The update goes out with a safe update_config: one task at a time
(Parallelism 1), `start-first` for services with 2 or more replicas (the new
task runs before the old one stops; `stop-first` otherwise, where two tasks
could not share the node's resources or host ports), FailureAction `rollback`
with a monitor period: a task that fails within `monitor` seconds of starting
makes Swarm itself roll the service back. The target is pinned to the digest
the manager resolves for the tag (as `docker service update --image` does), so
the service runs exactly the image that was checked, and an upgrade to the
same tag picks up a re-pushed digest.

The console then follows the update to its end and says what happened:
per-task lines (new task starting/running/failed, old task stopped), the
final state (converged: UpdateStatus `completed`; rolled back:
`rollback_completed`, with the spec the service returned to; paused), and
timings (seconds to converge, to the rollback being seen, to the rollback done).

    plan = await plan_upgrade(sources, "web", image=":2")      # what would be done (raises on bad input)
    res = await upgrade(sources, "web", plan=plan, progress=print)
    res.outcome in ("converged", "rolled back", "paused", "timeout", "vanished")   ("" when wait=0)
    await follow_upgrade(sources, "web", plan.info.update_started)  # after a restart: watch it end

Rollback on demand stays `console.ops.swarm.rollback` (it names the spec it returns to).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConsoleError
from console.ops.command_log import recorded
from console.ops.common import ActionResult, Progress, guard
from console.ops.swarm import ServiceInfo, _swarm, find_service, info_from, short_digest, with_tag

DEFAULT_MONITOR = 5.0  # seconds a new task must keep running before Swarm counts it as good
CONVERGED, ROLLED_BACK, PAUSED, TIMEOUT, VANISHED = "converged", "rolled back", "paused", "timeout", "vanished"
NOT_SENT = "not sent"
_NS = 1_000_000_000
_ENDED = ("shutdown", "failed", "rejected", "complete", "orphaned", "remove")


def safe_configs(info: ServiceInfo, monitor: float = DEFAULT_MONITOR) -> tuple[dict, dict]:
    """(UpdateConfig, RollbackConfig) for an upgrade of `info`."""
    order = "start-first" if info.spec.mode == "replicated" and (info.spec.replicas or 0) >= 2 else "stop-first"
    common = {"Parallelism": 1, "Delay": 0, "Monitor": int(monitor * _NS), "MaxFailureRatio": 0, "Order": order}
    return {**common, "FailureAction": "rollback"}, {**common, "FailureAction": "pause"}


@dataclass(frozen=True)
class UpgradePlan:
    info: ServiceInfo
    image: str  # repo:tag
    digest: str | None  # what the tag resolves to now (None: the manager could not say)
    update_config: dict
    rollback_config: dict
    note: str | None = None  # why the target is not pinned

    @property
    def ref(self) -> str:
        return f"{self.image}@{self.digest}" if self.digest else self.image

    @property
    def order(self) -> str:
        return self.update_config["Order"]


async def plan_upgrade(sources: Any, service: str, image: str | None = None, monitor: float = DEFAULT_MONITOR,
                       info: ServiceInfo | None = None) -> UpgradePlan:
    """What the upgrade would send; refuses (ConsoleError) when there is nothing to do."""
    if not 0 < monitor <= 3600:
        raise ConsoleError("swarm", f"monitor {monitor:g} s is out of range", "give 1 to 3600 seconds")
    s = info or await find_service(sources, service)
    target = with_tag(s.spec, image) if image else s.spec.image
    if "@" in target:
        target, _, pinned = target.partition("@")
        digest, note = pinned, None
    else:
        try:
            digest, note = await _swarm(sources).image_digest(target), None
        except ConsoleError as exc:
            digest, note = None, f"not pinned: the manager could not resolve {target} ({exc.message})"
    if target == s.spec.image and digest is not None and digest == s.spec.digest:
        raise ConsoleError("swarm", f"service {s.name} already runs the newest {target} ({short_digest(digest)})",
                           "nothing to upgrade; to restart its tasks, use force-update")
    if target == s.spec.image and digest is None and s.spec.digest is None:
        raise ConsoleError("swarm", f"service {s.name} runs {target}, and its current digest cannot be told: {note}",
                           "give the new tag (swarm upgrade SERVICE :TAG)")
    update, rollback = safe_configs(s, monitor)
    return UpgradePlan(s, target, digest, update, rollback, note)


def upgrade_sentence(plan: UpgradePlan) -> str:
    s = plan.info
    before = f"{s.spec.image}" + (f" ({short_digest(s.spec.digest)})" if s.spec.digest else "")
    after = f"{plan.image}" + (f" ({short_digest(plan.digest)})" if plan.digest else "")
    how = ("start-first: each new task runs before an old one stops" if plan.order == "start-first"
           else "stop-first: each old task stops before its new one starts")
    monitor = plan.update_config["Monitor"] / _NS
    return (f"Upgrade service {s.name} from {before} to {after}, one task at a time ({how}); Swarm rolls it back "
            f"by itself if a new task fails within {monitor:g} s.")


@dataclass
class UpgradeResult(ActionResult):
    outcome: str = ""
    image: str = ""  # what was asked for (repo:tag@digest)
    converge_s: float | None = None  # from the request to UpdateStatus completed
    rollback_seen_s: float | None = None  # from the request to the first sight of an automatic rollback
    rollback_done_s: float | None = None  # from the request to rollback_completed
    returned_to: str | None = None  # the spec a rollback returned to, in words
    rollback_reason: str | None = None  # Swarm's message when the rollback started
    first_failure: str | None = None  # the first new task that failed, in words
    running: str | None = None  # what the service runs at the end, in words
    tasks: list[str] = field(default_factory=list)  # the per-task lines


async def upgrade(sources: Any, service: str, image: str | None = None, progress: Progress | None = None,
                  wait: float = 300.0, monitor: float = DEFAULT_MONITOR, info: ServiceInfo | None = None,
                  plan: UpgradePlan | None = None, poll: float = 0.25) -> UpgradeResult:
    guard(sources, f"upgrade swarm service {service}")
    plan = plan or await plan_upgrade(sources, service, image, monitor, info)
    s = plan.info
    src = _swarm(sources)
    res = UpgradeResult("upgrade", s.name, upgrade_sentence(plan), image=plan.ref)
    say = progress or (lambda _: None)
    if plan.note:
        say(plan.note)
        res.log.append(plan.note)
    before_tasks = {t.get("ID") for t in await src.service_tasks(s.id)}
    t0 = time.monotonic()
    call = (f"POST services/{s.id}/update (image={plan.ref}, UpdateConfig parallelism 1 {plan.order} "
            f"failure_action rollback monitor {plan.update_config['Monitor'] / _NS:g}s)")
    async with recorded("swarm", call, s.name, res.sentence) as rec:
        warnings = await src.service_update(s.id, image=plan.ref, update_config=plan.update_config,
                                            rollback_config=plan.rollback_config)
        rec.result = "; ".join(warnings or [])
    res.ok, res.message = True, "requested"
    if wait > 0:
        await _watch(sources, s, before_tasks, res, say, wait, poll, t0)
    res.duration = time.monotonic() - t0
    return res


async def follow_upgrade(sources: Any, service: str, before_started: str | None, progress: Progress | None = None,
                         wait: float = 300.0, poll: float = 0.25) -> UpgradeResult:
    """Follow an upgrade sent earlier (a resumed run: Swarm carried on without us) to its end.
    `before_started` is the service's UpdateStatus.StartedAt read before the upgrade was sent."""
    s = await find_service(sources, service)
    res = UpgradeResult("upgrade", s.name, f"Follow the upgrade of service {s.name} to its end.", ok=True,
                        image=f"{s.spec.image}@{s.spec.digest}" if s.spec.digest else s.spec.image)
    if s.update_started == before_started:  # the run stopped before its update reached the swarm
        res.ok, res.outcome = False, NOT_SENT
        res.message = f"no upgrade of {s.name} reached the swarm (its update status is as before); nothing to follow"
        return res
    before = ServiceInfo(s.id, s.name, s.version, s.spec, s.previous, update_started=before_started)
    t0 = time.monotonic()
    await _watch(sources, before, set(), res, progress or (lambda _: None), wait, poll, t0)
    res.duration = time.monotonic() - t0
    return res


async def _watch(sources: Any, before: ServiceInfo, old_tasks: set, res: UpgradeResult, say: Progress,
                 wait: float, poll: float, t0: float) -> None:
    src = _swarm(sources)
    hosts = {n.id: n.hostname for n in (await src.fetch()).nodes}
    seen: dict[str, tuple] = {}
    last_state = None

    def line(text: str, task: bool = False) -> None:
        stamped = f"{time.monotonic() - t0:5.1f}s {text}"
        say(stamped)
        res.log.append(stamped)
        if task:
            res.tasks.append(stamped)

    failed_read = ""
    while True:
        try:
            now = info_from(await src.service_inspect(before.id))
            tasks = await src.service_tasks(before.id)
        except ConsoleError as exc:
            if "404" in exc.message or "not found" in exc.message:
                res.ok, res.outcome, res.message = False, VANISHED, f"service {before.name} vanished while upgrading"
                return
            if exc.message != failed_read:  # a manager away for a moment: Swarm carries on, so do we
                line(f"cannot read the service now: {exc.message}")
                failed_read = exc.message
            if time.monotonic() - t0 >= wait:
                res.ok, res.outcome = False, TIMEOUT
                res.message = f"not settled after {wait:g} s; the last read failed: {exc.message}"
                return
            await asyncio.sleep(poll)
            continue
        failed_read = ""
        ours = now.update_started is not None and now.update_started != before.update_started
        state = now.update_state if ours else "requested"
        if state != last_state:
            line(f"service {before.name}: {state}" + (f" ({now.update_message})" if now.update_message else ""))
            last_state = state
            if state and state.startswith("rollback") and res.rollback_seen_s is None:
                res.rollback_seen_s = time.monotonic() - t0
                res.rollback_reason = now.update_message
        for t in sorted(tasks, key=lambda t: (t.get("Slot") or 0, t.get("ID", ""))):
            key = ((t.get("Status") or {}).get("State"), t.get("DesiredState"))
            if seen.get(t.get("ID")) != key:
                history = t.get("ID") not in seen and t.get("ID") in old_tasks and key[0] in _ENDED
                seen[t.get("ID")] = key
                if history:  # a task that ended before this update: not news
                    continue
                text = _task_line(before.name, t, hosts, t.get("ID") in old_tasks, res.image)
                line(text, task=True)
                if key[0] in ("failed", "rejected") and "[new " in text and res.first_failure is None:
                    res.first_failure = text.removeprefix("task ")
        if ours and state in ("completed", "rollback_completed", "paused", "rollback_paused"):
            _finish(res, now, state, t0)
            return
        if time.monotonic() - t0 >= wait:
            res.ok, res.outcome = False, TIMEOUT
            res.message = f"not settled after {wait:g} s (state: {state}); Swarm carries on with it"
            res.running = now.spec.words
            return
        await asyncio.sleep(poll)


def _finish(res: UpgradeResult, now: ServiceInfo, state: str, t0: float) -> None:
    elapsed = time.monotonic() - t0
    res.running = now.spec.words
    if state == "completed":
        res.ok, res.outcome, res.converge_s = True, CONVERGED, elapsed
        res.message = f"converged in {elapsed:.1f} s: runs {now.spec.words}"
    elif state == "rollback_completed":
        res.ok, res.outcome, res.rollback_done_s = False, ROLLED_BACK, elapsed
        if res.rollback_seen_s is None:  # started and finished between two looks: seen now
            res.rollback_seen_s = elapsed
        res.returned_to = now.spec.words
        why = res.rollback_reason or (f"a new task failed: {res.first_failure}" if res.first_failure
                                      else now.update_message)
        res.message = f"rolled back by Swarm{f' ({why})' if why else ''}; runs again {now.spec.words}"
    else:
        res.ok, res.outcome = False, PAUSED
        res.message = f"update {state}: {now.update_message or 'no reason given'}; Swarm waits for a decision " \
                      "(swarm rollback SERVICE)"


def _task_line(service: str, t: dict, hosts: dict[str, str], old: bool, target: str) -> str:
    status = t.get("Status") or {}
    slot = f".{t['Slot']}" if t.get("Slot") is not None else ""
    node = hosts.get(t.get("NodeID") or "", (t.get("NodeID") or "(not placed yet)")[:16])
    image = ((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", "")
    digest = image.partition("@")[2]
    which = "old" if old else ("new" if image == target else "rollback")
    desired = t.get("DesiredState")
    err = f": {status['Err']}" if status.get("Err") else ""
    wants = f" (to {desired})" if desired and desired != status.get("State") else ""
    return (f"task {service}{slot}@{node} [{which}{' ' + short_digest(digest) if digest else ''}] "
            f"{status.get('State', '?')}{wants}{err}")
