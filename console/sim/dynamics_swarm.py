"""Docker Swarm dynamics: node readiness, task scheduling, drain, logs (updates and rollback:
console/sim/dynamics_swarm_updates.py)."""

from __future__ import annotations

import zlib

from console.sim.dynamics_swarm_updates import SwarmUpdates
from console.sim.registry_state import crashes as registry_crashes
from console.sim.sim_errors import SimError
from console.sim.state import SimService, SimTask

RESTART_DELAY = 5.0  # default RestartPolicy delay
TASK_HISTORY = 5  # task history retention per slot (docker default)


class SwarmDynamics(SwarmUpdates):
    """Mixed into World."""

    # ------------------------------------------------------------- reads
    def _swarm_vm_ok(self, node_id: str) -> bool:
        sn = self.swarm_nodes.get(node_id)
        if sn is None:
            return False
        g = self._guest_by_name.get(sn.hostname)
        if g is None:  # a swarm node that is not a guest of this cluster: always up
            return True
        return self.guest_available(g)

    def swarm_node_ready(self, node_id: str) -> bool:
        return self._swarm_vm_ok(node_id)

    def swarm_node_state(self, node_id: str) -> str:
        """What the managers report: "down" only once the heartbeat timed out."""
        if self._swarm_vm_ok(node_id):
            return "ready"
        return "down" if node_id in self._swarm_noticed_down else "ready"

    def swarm_leader(self) -> str | None:
        return next((sid for sid, sn in self.swarm_nodes.items() if sn.leader), None)

    def service_desired(self, svc: SimService) -> int:
        if svc.mode == "global":
            return sum(1 for sid, sn in self.swarm_nodes.items()
                       if sn.availability == "active" and self._swarm_vm_ok(sid))
        return svc.replicas

    def _running_task_counts(self) -> dict[str, int]:
        ok = {sid: self._swarm_vm_ok(sid) for sid in self.swarm_nodes}
        counts: dict[str, int] = {}
        for t in self.tasks.values():
            if t.state == "running" and ok.get(t.node_id, False):
                counts[t.service_id] = counts.get(t.service_id, 0) + 1
        return counts

    def service_running_tasks(self, service_id: str) -> int:
        return self._running_task_counts().get(service_id, 0)

    def _svc_image(self, spec: dict) -> str:
        return spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")

    def _image_fails(self, svc: SimService, image: str) -> bool:
        if "broken" in image or "failing" in image or registry_crashes(self, image):
            return True
        return svc.failing_image and image not in self._good_images.get(svc.id, set())

    # ------------------------------------------------------- reconcile
    def _swarm_reconcile(self) -> None:
        if not self.swarm_nodes:
            return
        t = self._t
        for sid in self.swarm_nodes:
            if self._swarm_vm_ok(sid):
                was_down = self._swarm_vm_down_at.pop(sid, None) is not None
                if was_down and sid not in self._swarm_noticed_down:
                    # back before the managers noticed: its dockerd started afresh, its containers are
                    # gone (also those that were starting), so the slots restart as after a dockerd restart
                    self.dockerd_restarted(self.swarm_nodes[sid].hostname)
                if sid in self._swarm_noticed_down:
                    self._swarm_noticed_down.discard(sid)
                    for task in self.tasks.values():
                        if (task.node_id == sid and task.desired_state != "running"
                                and task.state in ("running", "starting", "assigned")):
                            self._task_state(task, "shutdown", "shutdown")
            elif sid not in self._swarm_vm_down_at:
                self._swarm_vm_down_at[sid] = t
                # the VM died: its containers are gone (they never come back as they were)
                self.at(self.duration("swarm_heartbeat"), self._swarm_notice_down, sid)
        leader = self.swarm_leader()
        if leader is None or leader in self._swarm_noticed_down:
            new = next((sid for sid in self.swarm_nodes
                        if sid not in self._swarm_noticed_down and self._swarm_vm_ok(sid)), None)
            if new is not None:
                for sid, sn in self.swarm_nodes.items():
                    sn.leader = sid == new
        eligible = self._eligible_nodes()
        for task in list(self.tasks.values()):
            if task.desired_state != "running" or task.node_id is None:
                continue
            sn = self.swarm_nodes.get(task.node_id)
            if task.node_id in self._swarm_noticed_down:
                task.desired_state = "shutdown"
                task.message = "node is down"
            elif sn is not None and sn.availability == "drain":
                task.desired_state = "shutdown"
                self.at(self.duration("swarm_task_stop"), self._task_stop_done, task.id)
        by_service: dict[str, list[SimTask]] = {}
        for task in self.tasks.values():
            if task.desired_state == "running":
                by_service.setdefault(task.service_id, []).append(task)
        for svc in self.services.values():
            live = by_service.get(svc.id, [])
            if svc.mode == "global":
                have = {x.node_id for x in live}
                for nid in eligible:
                    if nid not in have:
                        self._new_swarm_task(svc, None, nid)
                continue
            slots = {x.slot for x in live}
            for slot in range(1, svc.replicas + 1):
                if slot not in slots and (svc.id, slot) not in self._restart_wait:
                    self._new_swarm_task(svc, slot, self._pick_node(svc, eligible, by_service))
            for x in live:
                if x.slot is not None and x.slot > svc.replicas:
                    x.desired_state = "shutdown"
                    self.at(self.duration("swarm_task_stop"), self._task_stop_done, x.id)
                elif x.node_id is None and eligible:  # pending: a node became available
                    x.node_id = self._pick_node(svc, eligible, by_service)
                    self._schedule_start(svc, x)

    def _swarm_notice_down(self, node_id: str) -> None:
        if not self._swarm_vm_ok(node_id):
            self._swarm_noticed_down.add(node_id)

    def _pick_node(self, svc: SimService, eligible: list[str], by_service: dict[str, list[SimTask]]) -> str | None:
        if not eligible:
            return None
        mine: dict[str, int] = {}
        for x in by_service.get(svc.id, []):
            mine[x.node_id] = mine.get(x.node_id, 0) + 1
        total = self._node_task_totals()
        return min(eligible, key=lambda n: (mine.get(n, 0), total.get(n, 0), self.swarm_nodes[n].hostname))

    def _node_task_totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for x in self.tasks.values():
            if x.desired_state == "running" and x.node_id:
                out[x.node_id] = out.get(x.node_id, 0) + 1
        return out

    def _new_swarm_task(self, svc: SimService, slot: int | None, node_id: str | None) -> SimTask:
        image = self._svc_image(svc.spec) or svc.image
        task = SimTask(
            id=self._docker_id(),
            service_id=svc.id,
            slot=slot,
            node_id=node_id,
            state="assigned" if node_id else "pending",
            desired_state="running",
            message="assigned" if node_id else "pending task scheduling",
            error=None if node_id else "no suitable node (1 node not available for new tasks)",
            image=image,
            spec_version=self._template_version[svc.id],
            created_at=self._t,
            updated_at=self._t,
        )
        self.tasks[task.id] = task
        if node_id:
            self._schedule_start(svc, task)
        self._prune_history(svc.id, slot, node_id)
        return task

    def _schedule_start(self, svc: SimService, task: SimTask) -> None:
        task.state, task.message, task.error = "assigned", "assigned", None
        task.updated_at = self._t
        self.at(self.duration("swarm_task_start") / 2, self._task_state_if, task.id, "assigned", "starting", "starting")
        self.at(self.duration("swarm_task_start"), self._task_started, task.id)

    def _task_state_if(self, task_id: str, expect: str, state: str, message: str) -> None:
        task = self.tasks.get(task_id)
        if task is not None and task.state == expect and task.desired_state == "running":
            self._task_state(task, state, message)

    def _task_state(self, task: SimTask, state: str, message: str) -> None:
        task.state = state
        task.message = message
        task.updated_at = self._t

    def _task_started(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None or task.desired_state != "running" or task.state not in ("assigned", "starting"):
            return
        if not self._swarm_vm_ok(task.node_id):
            return
        svc = self.services[task.service_id]
        if self._image_fails(svc, task.image):
            task.state, task.message, task.error = "failed", "started", "task: non-zero exit (1)"
            task.desired_state = "shutdown"
            task.updated_at = self._t
            self._restart_wait.add((svc.id, task.slot))
            self.at(RESTART_DELAY, self._restart_slot, svc.id, task.slot)
            self._replaced(task, ok=False)
            self._update_task_failed(svc, task)
            return
        task.container_id = self._hex_id()
        self._task_state(task, "running", "started")
        self._replaced(task, ok=True)
        self._update_task_ok(svc)

    def dockerd_restarted(self, hostname: str) -> list[str]:
        """dockerd on the Swarm node `hostname` restarted (a docker/containerd package upgrade inside its
        VM): its containers stop, Swarm restarts their slots after the restart delay (a global service's
        on the node again). The ids of the tasks that stopped."""
        sid = next((i for i, sn in self.swarm_nodes.items() if sn.hostname == hostname), None)
        stopped = []
        for task in list(self.tasks.values()):
            if task.node_id != sid or sid is None or task.desired_state != "running":
                continue
            if task.state in ("running", "starting", "assigned"):
                task.state, task.message = "failed", "started"
                task.error = "task: non-zero exit (137): dockerd restarted"
                task.desired_state, task.updated_at = "shutdown", self._t
                if task.slot is not None:
                    self._restart_wait.add((task.service_id, task.slot))
                    self.at(RESTART_DELAY, self._restart_slot, task.service_id, task.slot)
                stopped.append(task.id)
        return stopped

    def _restart_slot(self, service_id: str, slot) -> None:
        self._restart_wait.discard((service_id, slot))

    def _task_stop_done(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if (task is not None and task.desired_state != "running"
                and task.state in ("running", "starting", "assigned", "pending")):
            if task.node_id is None or self._swarm_vm_ok(task.node_id):
                self._task_state(task, "shutdown", "shutdown")

    def _prune_history(self, service_id: str, slot, node_id) -> None:
        old = [x for x in self.tasks.values()
               if x.service_id == service_id and x.desired_state != "running"
               and x.state in ("shutdown", "failed", "rejected")
               and (x.slot == slot if slot is not None else x.node_id == node_id)]
        if len(old) >= TASK_HISTORY:
            old.sort(key=lambda x: x.updated_at)
            for x in old[: len(old) - TASK_HISTORY + 1]:
                del self.tasks[x.id]

    # ------------------------------------------------------------ writes
    def _find_swarm_node(self, node_id: str):
        sn = self.swarm_nodes.get(node_id)
        if sn is None:
            sn = next((s for s in self.swarm_nodes.values() if s.hostname == node_id or s.id.startswith(node_id)), None)
        if sn is None:
            raise SimError(404, f"node {node_id} not found")
        return sn

    # -------------------------------------------------------------- logs
    def service_logs(self, service_id: str, tail: int | None = None,
                     timestamps: bool = False) -> list[tuple[float, str]]:
        return [(t, text) for t, text, _ in self.service_log_records(service_id, tail)]

    def service_log_records(self, service_id: str, tail: int | None = None) -> list[tuple[float, str, str]]:
        """(time, text, task id) of the service's log lines, oldest first; the last `tail` if given."""
        self.tick()
        svc = self.services.get(service_id) or next((s for s in self.services.values() if s.name == service_id), None)
        if svc is None:
            raise SimError(404, f"service {service_id} not found")
        lines: list[tuple[float, str, str]] = []
        period = 7.0
        horizon = self._t - 1800.0
        for x in self.tasks.values():
            if x.service_id != svc.id or not x.container_id:
                continue
            end = self._t if x.state == "running" else x.updated_at
            start = max(x.created_at, horizon)
            ts = start
            i = int(start // period)
            while ts <= end:
                lines.append((ts, self._log_line(svc, i, x), x.id))
                i += 1
                ts = i * period + (zlib.crc32(x.id.encode()) % 1000) / 1000.0
        lines.sort()
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        return lines

    def _log_line(self, svc: SimService, i: int, task: SimTask) -> str:
        if self.log_noise and i % 2 == 0:
            return self.log_noise[(i // 2) % len(self.log_noise)]
        paths = ["/", "/api/health", "/login", "/static/app.js", "/favicon.ico", "/api/v1/items"]
        ip = f"10.0.1.{(i * 7) % 200 + 2}"
        if svc.web_port:
            code = 200 if i % 11 else 304
            return f'{ip} - - "GET {paths[i % len(paths)]} HTTP/1.1" {code} {512 + (i * 37) % 4096} "-" "Mozilla/5.0"'
        return f"level=info ts=task.{task.slot or 0} msg=\"{svc.name} heartbeat\" iteration={i}"
