"""Docker Swarm dynamics, writes: node availability, service updates step by step (update_config:
parallelism, delay, failure action, monitor), rollback to the previous spec."""

from __future__ import annotations

import copy

from console.sim.sim_errors import SimError
from console.sim.state import SimService, SimTask

OUT_OF_SEQUENCE = "rpc error: code = Unknown desc = update out of sequence"


class SwarmUpdates:
    """Mixed into World (through SwarmDynamics)."""

    def swarm_node_update(self, node_id: str, version: int, spec: dict) -> None:
        self.tick()
        sn = self._find_swarm_node(node_id)
        if int(version) != sn.version:
            raise SimError(500, OUT_OF_SEQUENCE)
        availability = spec.get("Availability", sn.availability)
        role = spec.get("Role", sn.role)
        if availability not in ("active", "pause", "drain"):
            raise SimError(400, f"invalid availability: {availability!r}")
        if role not in ("manager", "worker"):
            raise SimError(400, f"invalid role: {role!r}")
        sn.availability = availability
        sn.role = role
        sn.version += 1
        sn.updated_at = self._t
        sn.labels = dict(spec.get("Labels") or {})
        self._reconcile()

    def service_update(self, service_id: str, version: int, spec: dict | None, rollback: bool = False) -> list[str]:
        self.tick()
        svc = self.services.get(service_id) or next((s for s in self.services.values() if s.name == service_id), None)
        if svc is None:
            raise SimError(404, f"service {service_id} not found")
        if int(version) != svc.version:
            raise SimError(500, OUT_OF_SEQUENCE)
        if rollback:
            if svc.previous_spec is None:
                raise SimError(400,
                               f"rpc error: code = FailedPrecondition desc = service {svc.id} does not have a "
                               "previous spec")
            new_spec = svc.previous_spec
        else:
            if not isinstance(spec, dict) or not spec:
                raise SimError(400, "json: cannot unmarshal the service spec")
            new_spec = copy.deepcopy(spec)
            new_spec.setdefault("Name", svc.name)
        old_spec = svc.spec
        self._apply_spec(svc, old_spec, new_spec, rollback_state="rollback_started" if rollback else None, manual=True)
        return []

    def _apply_spec(self, svc: SimService, old_spec: dict, new_spec: dict, rollback_state: str | None,
                    manual: bool) -> None:
        svc.previous_spec = old_spec
        svc.spec = new_spec
        svc.version += 1
        svc.updated_at = self._t
        mode = new_spec.get("Mode", {})
        if "Replicated" in mode:
            svc.mode = "replicated"
            svc.replicas = int(mode["Replicated"].get("Replicas", 1))
        elif "Global" in mode:
            svc.mode = "global"
        svc.image = self._svc_image(new_spec) or svc.image
        if old_spec.get("TaskTemplate") != new_spec.get("TaskTemplate"):
            known = self._templates.setdefault(svc.id, {})
            # a task whose template equals the new one (e.g. after a rollback) is not replaced
            same = next((v for v, tpl in known.items() if tpl == new_spec.get("TaskTemplate")), None)
            self._template_version[svc.id] = same if same is not None else svc.version
            known.setdefault(self._template_version[svc.id], copy.deepcopy(new_spec.get("TaskTemplate")))
            state = rollback_state or "updating"
            msg = (("manually requested rollback" if manual
                    else "update rolled back due to failure or early termination of task")
                   if rollback_state else "update in progress")
            svc.update_status = {"State": state, "StartedAt": self._t, "CompletedAt": None, "Message": msg}
            self._update_gen[svc.id] = self._update_gen.get(svc.id, 0) + 1
            # a new spec restarts failed slots at once (no restart delay), with the new template
            self._restart_wait = {k for k in self._restart_wait if k[0] != svc.id}
            self._reconcile()
            self._update_step(svc.id, self._update_gen[svc.id])
        self._reconcile()

    def _update_config(self, svc: SimService) -> dict:
        rolling_back = (svc.update_status or {}).get("State", "").startswith("rollback")
        key = "RollbackConfig" if rolling_back else "UpdateConfig"
        return svc.spec.get(key) or {}

    def _update_step(self, service_id: str, gen: int) -> None:
        svc = self.services[service_id]
        if self._update_gen.get(service_id) != gen or not svc.update_status:
            return
        if svc.update_status["State"] not in ("updating", "rollback_started"):
            return
        want = self._template_version[svc.id]
        being_replaced = set(self._replacing().values())
        outdated = [x for x in self.tasks.values()
                    if x.service_id == svc.id and x.desired_state == "running" and x.spec_version != want
                    and x.id not in being_replaced]
        in_flight = [x for x in self.tasks.values()
                     if x.service_id == svc.id and x.desired_state == "running" and x.spec_version == want
                     and x.state != "running"]
        if not outdated and not in_flight:
            # swarmkit keeps watching for failures one more monitor period before it declares the update done
            monitor = float(self._update_config(svc).get("Monitor", 0) or 0) / 1e9
            self.at(monitor, self._update_done, svc.id, gen)
            return
        if in_flight or not outdated:
            return  # wait for the new task to come up (_update_task_ok calls us again)
        cfg = self._update_config(svc)
        parallel = int(cfg.get("Parallelism", 1) or len(outdated))
        start_first = cfg.get("Order") == "start-first"
        replacing = self._replacing()
        for old in sorted(outdated, key=lambda x: (x.slot or 0, x.node_id or ""))[:parallel]:
            if start_first:  # the old task runs on until its replacement runs (and on, if that one fails)
                node = old.node_id if svc.mode == "global" else self._pick_node(
                    svc, self._eligible_nodes(), {svc.id: [x for x in self.tasks.values()
                                                           if x.service_id == svc.id and x.desired_state == "running"]})
                replacing[self._new_swarm_task(svc, old.slot, node).id] = old.id
                continue
            old.desired_state = "shutdown"
            self.at(self.duration("swarm_task_stop") * 0.5, self._task_stop_done, old.id)
            if svc.mode == "global":
                self._new_swarm_task(svc, None, old.node_id)
        # stop-first: replicated slots are refilled by _swarm_reconcile with the new template

    def _replacing(self) -> dict[str, str]:
        """start-first: new task id -> the old task it replaces once it runs."""
        return self.__dict__.setdefault("_start_first_replacing", {})

    def _eligible_nodes(self) -> list[str]:
        return [sid for sid, sn in self.swarm_nodes.items()
                if sn.availability == "active" and sid not in self._swarm_noticed_down and self._swarm_vm_ok(sid)]

    def _replaced(self, task: SimTask, ok: bool) -> None:
        old = self.tasks.get(self._replacing().pop(task.id, ""))
        if ok and old is not None and old.desired_state == "running":
            old.desired_state = "shutdown"
            self.at(self.duration("swarm_task_stop") * 0.5, self._task_stop_done, old.id)

    def _update_done(self, service_id: str, gen: int) -> None:
        svc = self.services[service_id]
        st = svc.update_status
        if self._update_gen.get(service_id) != gen or not st or st["State"] not in ("updating", "rollback_started"):
            return
        done = "rollback_completed" if st["State"] == "rollback_started" else "completed"
        svc.update_status = {"State": done, "StartedAt": st["StartedAt"], "CompletedAt": self._t,
                             "Message": "rollback completed" if done == "rollback_completed" else "update completed"}

    def _update_task_ok(self, svc: SimService) -> None:
        gen = self._update_gen.get(svc.id)
        if gen is not None and svc.update_status and svc.update_status["State"] in ("updating", "rollback_started"):
            delay = float(self._update_config(svc).get("Delay", 0) or 0) / 1e9
            self.at(delay, self._update_step, svc.id, gen)

    def _update_task_failed(self, svc: SimService, task: SimTask) -> None:
        st = svc.update_status
        if not st or st["State"] != "updating":
            return
        action = (svc.spec.get("UpdateConfig") or {}).get("FailureAction", "pause")
        if action == "continue":
            return
        if action == "rollback" and svc.previous_spec is not None:
            self._apply_spec(svc, svc.spec, svc.previous_spec, rollback_state="rollback_started", manual=False)
            return
        svc.update_status = {"State": "paused", "StartedAt": st["StartedAt"], "CompletedAt": None,
                             "Message": f"update paused due to failure or early termination of task {task.id}"}
