"""Proxmox dynamics: guests, migrations, power, node reboot, HA maintenance."""

from __future__ import annotations

from console.sim.pve_ha_rules import placement as ha_placement
from console.sim.pve_render import ha_sid
from console.sim.sim_errors import SimError
from console.sim.state import GiB, SimGuest

NODE_BASE_MEM = int(1.5 * GiB)


class PveDynamics:
    """Mixed into World; uses WorldCore's clock (self.at, self._t) and ids."""

    # ----------------------------------------------------------------- reads
    def node_online(self, name: str) -> bool:
        node = self.nodes.get(name)
        return node is not None and node.status == "online"

    def guest_running_on(self, name: str) -> list[SimGuest]:
        return [g for g in self.guests.values() if g.node == name and g.status == "running"]

    def guest_available(self, g: SimGuest) -> bool:
        return g.status == "running" and self.node_online(g.node)

    def node_mem_used(self, name: str) -> int:
        if not self.node_online(name):
            return 0
        used = NODE_BASE_MEM + sum(int(g.maxmem * g.mem_fraction) for g in self.guest_running_on(name))
        return min(used, self.nodes[name].maxmem)

    def node_free_for_placement(self, name: str) -> int:
        """maxmem minus the maxmem of guests placed (or being placed) on the node."""
        node = self.nodes[name]
        reserved = NODE_BASE_MEM + sum(
            g.maxmem for g in self.guests.values()
            if (g.node == name or g.migrating_to == name) and (g.status == "running" or g.vmid in self.desired_running)
        )
        return node.maxmem - reserved

    def node_cpu(self, name: str) -> float:
        node = self.nodes.get(name)
        if node is None or node.status != "online":
            return 0.0
        busy = sum(g.cpu * g.cpus for g in self.guest_running_on(name))
        return min(1.0, node.load + busy / node.maxcpu)

    def ha_lrm_state(self, name: str) -> str:
        node = self.nodes[name]
        if node.status != "online":
            return "old timestamp - dead?"
        if node.ha_maintenance:
            return "maintenance mode"
        if self._t - node.boot_time < 5.0:
            return "wait_for_agent_lock"
        if any(g.ha and g.node == name for g in self.guests.values()):
            return "active"
        return "idle"

    def _guest(self, node: str, vmid: int) -> SimGuest:
        if node not in self.nodes:
            raise SimError(400, "Parameter verification failed.", {"node": f"no such cluster node '{node}'"})
        if not self.node_online(node):
            raise SimError(595, f"Connection refused ({node} is offline)")
        g = self.guests.get(int(vmid))
        if g is None or g.node != node:
            kind = "qemu-server" if (g is None or g.type == "qemu") else "lxc"
            raise SimError(500, f"Configuration file 'nodes/{node}/{kind}/{vmid}.conf' does not exist")
        return g

    # ------------------------------------------------------------ migration
    def migrate(self, node: str, vmid: int, target: str, online: bool = False, restart: bool = False) -> str:
        self.tick()
        g = self._guest(node, vmid)
        what = "VM" if g.type == "qemu" else "CT"
        if target not in self.nodes:
            raise SimError(400, "Parameter verification failed.", {"target": f"no such cluster node '{target}'"})
        if target == node:
            raise SimError(500, "target is local node.")
        if not self.node_online(target):
            raise SimError(500, f"target node '{target}' is not online")
        if g.lock:
            raise SimError(500, f"{what} is locked ({g.lock})")
        running = g.status == "running"
        if g.type == "qemu" and running and g.local_resources:
            raise SimError(500, f"can't migrate VM which uses local devices: {', '.join(g.local_resources)}")
        if g.type == "qemu" and running and not online:
            raise SimError(500, "can't migrate running VM without --online")
        if g.type == "lxc" and running and online and not restart:
            raise SimError(500, "lxc live migration is currently not implemented")
        if g.type == "lxc" and running and not restart:
            raise SimError(500, "CT is running - use option --restart or --online")
        return self._start_migration(g, target, ha_request=g.ha).upid

    def _start_migration(self, g: SimGuest, target: str, ha_request: bool = False):
        kind = ("hamigrate" if ha_request
                else "qmigrate") if g.type == "qemu" else ("hamigrate" if ha_request else "vzmigrate")
        task = self.new_task(g.node, kind, str(g.vmid))
        if ha_request:
            task.log.append(f"Requesting HA migration for {'VM' if g.type == 'qemu' else 'CT'} {g.vmid} to node "
                            f"{target}")
        src = g.node
        g.lock = "migrate"
        g.migrating_to = target
        if g.ha and g.ha_state != "error":
            g.ha_state = "migrate" if g.type == "qemu" else "relocate"
        token = object()
        self._migration_tokens[g.vmid] = token
        fail = g.vmid in self.faults.migrate_fail
        if g.type == "qemu":
            live = g.status == "running"
            task.log.append(f"starting migration of VM {g.vmid} to node '{target}' ({self.nodes[target].ip})")
            total = self.duration("vm_migrate") if live else 2.0
            if live:
                task.log.append("starting VM on remote node")
                self.at(total * 0.3, self._log, task, "migration status: active (transferred 1.1 GiB of 4.0 GiB)")
                self.at(total * 0.7, self._log, task, "migration status: active (transferred 3.6 GiB of 4.0 GiB)")
            if fail:
                self.at(total * 0.5, self._migration_failed, g, task, token, "migration problems")
            else:
                self.at(total, self._migration_done, g, src, target, task, token, False)
        else:
            was_running = g.status == "running"
            task.log.append(f"starting migration of CT {g.vmid} to node '{target}' ({self.nodes[target].ip})")
            if was_running:
                task.log.append(f"shutdown CT {g.vmid}")
                self.at(self.duration("ct_shutdown"), self._ct_stopped_for_move, g, token)
            move_at = (self.duration("ct_shutdown") if was_running else 0.0) + self.duration("ct_move")
            if fail:
                self.at(move_at, self._migration_failed, g, task, token, "migration aborted")
            else:
                self.at(move_at, self._migration_done, g, src, target, task, token, was_running)
        return task

    def _ha_settle(self, g: SimGuest) -> None:
        if g.ha and g.ha_state in ("migrate", "relocate"):
            g.ha_state = "started" if g.vmid in self.desired_running else "stopped"

    def _log(self, task, line: str) -> None:
        if task.endtime is None:
            task.log.append(line)

    def _ct_stopped_for_move(self, g: SimGuest, token) -> None:
        if self._migration_tokens.get(g.vmid) is token:
            g.status = "stopped"

    def _migration_done(self, g: SimGuest, src: str, target: str, task, token, start_after: bool) -> None:
        if self._migration_tokens.get(g.vmid) is not token:
            return
        del self._migration_tokens[g.vmid]
        g.node = target
        g.lock = None
        g.migrating_to = None
        self._ha_settle(g)
        self._ha_return_if_maintenance_ended(g)
        if g.type == "qemu":
            task.log.append("migration finished successfully (duration 00:00:08)")
            self.finish_task(task)
        else:
            task.log.append("start final cleanup")
            if start_after:
                task.log.append(f"start CT {g.vmid} on node '{target}'")
                self.at(self.duration("ct_start"), self._guest_started, g, task)
            else:
                self.finish_task(task)

    def _ha_return_if_maintenance_ended(self, g: SimGuest) -> None:
        """A guest that was still leaving when maintenance was disabled goes home now."""
        origin = self.ha_maintenance_origin.get(g.vmid)
        if origin is None or self.nodes[origin].ha_maintenance or g.node == origin:
            return
        del self.ha_maintenance_origin[g.vmid]
        if self.nodes[origin].status == "online" and g.ha_state != "error":
            self.at(0.0, lambda: g.lock or self._start_migration(g, origin, ha_request=True))

    def _migration_failed(self, g: SimGuest, task, token, why: str) -> None:
        if self._migration_tokens.get(g.vmid) is not token:
            return
        del self._migration_tokens[g.vmid]
        g.lock = None
        g.migrating_to = None
        self._ha_settle(g)
        task.log.append(f"ERROR: {why}")
        self.finish_task(task, why)
        if g.type == "lxc" and g.vmid in self.desired_running and g.status != "running":
            self.at(self.duration("ct_start"), self._guest_started, g, None)

    def _guest_started(self, g: SimGuest, task=None) -> None:
        if self.node_online(g.node) and g.lock is None:
            if g.status != "running":
                g.status = "running"
                g.started_at = self._t
        if task is not None:
            self.finish_task(task)

    # ------------------------------------------------------------- power
    def guest_power(self, node: str, vmid: int, action: str) -> str:
        self.tick()
        g = self._guest(node, vmid)
        prefix = "qm" if g.type == "qemu" else "vz"
        if action not in ("start", "shutdown", "stop"):
            raise SimError(501, f"Method 'POST /nodes/{node}/{g.type}/{vmid}/status/{action}' not implemented")
        if g.lock and action == "start":
            raise SimError(500, f"{'VM' if g.type == 'qemu' else 'CT'} is locked ({g.lock})")
        task = self.new_task(node, f"{prefix}{action}", str(g.vmid))
        if action == "start":
            self.desired_running.add(g.vmid)
            if g.ha:
                g.ha_state = "started"
            if g.status == "running":
                self.finish_task(task)
            else:
                self.at(self.duration("guest_start"), self._guest_started, g, task)
        else:
            self.desired_running.discard(g.vmid)
            if g.ha:
                g.ha_state = "stopped"
            self.at(self.duration("guest_shutdown" if action == "shutdown" else "guest_stop"), self._guest_stopped, g,
                    task)
        return task.upid

    def _guest_stopped(self, g: SimGuest, task=None) -> None:
        g.status = "stopped"
        if task is not None:
            self.finish_task(task)

    # -------------------------------------------------------------- reboot
    def _node_for_power(self, node: str):
        if node not in self.nodes:
            raise SimError(400, "Parameter verification failed.", {"node": f"no such cluster node '{node}'"})
        if not self.node_online(node):
            raise SimError(595, f"Connection refused ({node} is offline)")
        return self.nodes[node]

    def _stop_guests_for_power(self, node: str, ha_state: str | None) -> None:
        for g in self.guests.values():
            if g.node == node and g.status == "running":
                if g.ha and ha_state:
                    g.ha_state = ha_state
                self.at(1.0, self._guest_stopped, g, None)

    def reboot_node(self, node: str) -> str:
        self.tick()
        n = self._node_for_power(node)
        task = self.new_task(node, "srvreboot", "")
        task.log.append("Stopping all guests ...")
        n.status = "rebooting"
        self._stop_guests_for_power(node, "freeze")  # HA shutdown_policy conditional: a reboot freezes
        self.at(self.duration("node_shutdown"), self._power_off, node, True, task)
        return task.upid

    def shutdown_node(self, node: str) -> str:
        """A clean power-off (POST /nodes/{n}/status command=shutdown): the node stays off until node-up.

        HA shutdown_policy "conditional" (the default) means failover for a shutdown:
        HA guests are stopped with the node and, once it has been offline for
        DURATIONS["ha_fence"], recovered on other nodes (like after a fence, but no
        crash happened). Other guests stay stopped; those that should run start
        again when the node is powered on.
        """
        self.tick()
        n = self._node_for_power(node)
        task = self.new_task(node, "srvshutdown", "")
        task.log.append("Stopping all guests ...")
        n.status = "stopping"
        self._powered_off.add(node)
        self._stop_guests_for_power(node, None)
        self.at(self.duration("node_shutdown"), self._power_off, node, False, task)
        return task.upid

    def _power_off(self, node: str, graceful: bool, task=None) -> None:
        """The node goes offline. graceful (a reboot): it boots again by itself;
        otherwise (crash, shutdown) it stays off and HA recovers its guests."""
        n = self.nodes[node]
        n.status = "offline"
        self._node_gen[node] = self._node_gen.get(node, 0) + 1
        for g in self.guests.values():
            if g.vmid in self._migration_tokens and (g.node == node or g.migrating_to == node):
                del self._migration_tokens[g.vmid]
                g.lock = None
                g.migrating_to = None
                self._ha_settle(g)
            if g.node == node:
                g.status = "stopped"
        if task is not None:
            self.finish_task(task)
        if graceful:
            self.at(self.duration("reboot"), self._boot, node, self._node_gen[node])
        else:
            self.at(self.duration("ha_fence"), self._ha_fence_recover, node, self._node_gen[node])

    def _power_on(self, node: str) -> None:
        """Press the power button: an offline node boots and is online after the boot time."""
        self._forced_down.discard(node)
        self._powered_off.discard(node)
        self.faults.no_return.discard(node)
        if self.nodes[node].status == "offline" and node not in self._booting:
            self._booting.add(node)
            self._stuck_offline.discard(node)
            self.at(self.duration("reboot"), self._boot, node, self._node_gen.get(node, 0))

    def _boot(self, node: str, gen: int | None = None) -> None:
        n = self.nodes[node]
        if gen is not None and self._node_gen.get(node, 0) != gen:
            return  # powered off again meanwhile
        self._booting.discard(node)
        if n.status == "online" or node in self._forced_down or node in self._powered_off:
            return
        if node in self.faults.no_return:
            self._stuck_offline.add(node)
            return
        self._stuck_offline.discard(node)
        self._choose_boot_kernel(n)
        n.status = "online"
        n.boot_time = self._t
        self._node_gen[node] = self._node_gen.get(node, 0) + 1
        delay = 2.0
        for g in sorted(self.guests.values(), key=lambda g: g.vmid):
            if g.node == node and g.vmid in self.desired_running and g.status != "running":
                if g.ha and g.ha_state == "freeze":
                    g.ha_state = "started"
                self.at(delay, self._guest_started, g, None)
                delay += 0.5

    def _ha_fence_recover(self, node: str, gen: int) -> None:
        """An unplanned offline node: HA fences it and recovers its HA guests elsewhere."""
        if self._node_gen.get(node) != gen or self.node_online(node):
            return
        for g in sorted(self.guests.values(), key=lambda g: g.vmid):
            if g.node == node and g.ha and g.ha_state not in ("error", "stopped"):
                target = self._ha_target(g, exclude=node)
                if target is None:
                    continue
                g.node = target
                g.ha_state = "recovery"
                self.at(self.duration("guest_start"), self._ha_recovered, g)

    def _ha_recovered(self, g: SimGuest) -> None:
        g.ha_state = "started"
        if g.vmid in self.desired_running:
            self._guest_started(g)

    # ------------------------------------------------------ HA maintenance
    def _ha_where(self, but: SimGuest) -> dict[str, str]:
        """Where every other HA resource is, or is going."""
        return {ha_sid(h): h.migrating_to or h.node for h in self.guests.values() if h.ha and h is not but}

    def _ha_target(self, g: SimGuest, exclude: str | None) -> str | None:
        """Proxmox's select_service_node with the basic CRS: the nodes the HA rules allow
        (node affinity: the highest priority online; resource affinity: apart from or
        with its partners), then the one with the fewest active HA services, then by name.
        None: no node is allowed (a strict rule's nodes are all down or in maintenance).
        Like Proxmox, it does not check free memory (the planner does)."""
        candidates = [n.name for n in self.nodes.values()
                      if n.name != exclude and n.status == "online" and not n.ha_maintenance]
        allowed, _ = ha_placement(self, ha_sid(g), candidates, self._ha_where(g))
        if not allowed:
            return None
        usage = {c: 0 for c in allowed}
        for h in self.guests.values():
            if not h.ha or h.vmid == g.vmid or h.ha_state == "stopped":
                continue
            where = h.migrating_to or h.node
            if where in usage:
                usage[where] += 1
        return min(allowed, key=lambda c: (usage[c], c))

    def ha_rules_changed(self) -> None:
        """The CRM applies changed rules: an HA guest on a node its rules no longer allow
        (or below a preferred node: failback is on by default) moves."""
        for g in sorted(self.guests.values(), key=lambda g: g.vmid):
            if (not g.ha or g.lock or g.status != "running" or g.ha_state in ("error", "stopped")
                    or not self.node_online(g.node) or self.nodes[g.node].ha_maintenance):
                continue
            candidates = [n.name for n in self.nodes.values() if n.status == "online" and not n.ha_maintenance]
            if not g.ha_failback and ha_placement(self, ha_sid(g), [g.node], self._ha_where(g))[0]:
                continue  # failback off: where it runs is allowed, a preferred node does not pull it back
            allowed, _ = ha_placement(self, ha_sid(g), candidates, self._ha_where(g))
            if allowed and g.node not in allowed:
                target = self._ha_target(g, exclude=g.node)
                if target is not None:
                    self._start_migration(g, target, ha_request=True)

    def ha_node_maintenance(self, node: str, enable: bool) -> None:
        self.tick()
        if node not in self.nodes:
            raise SimError(400, f"no such node '{node}'")
        n = self.nodes[node]
        if enable:
            n.ha_maintenance = True
            for g in sorted(self.guests.values(), key=lambda g: g.vmid):
                if g.node != node or not g.ha or g.ha_state == "error" or g.lock:
                    continue
                target = self._ha_target(g, exclude=node)
                if target is None:  # no node its rules allow: it stays, and stops when this node reboots
                    continue
                self.ha_maintenance_origin[g.vmid] = node
                self._start_migration(g, target, ha_request=True)
        else:
            n.ha_maintenance = False
            for vmid, origin in sorted(self.ha_maintenance_origin.items()):
                if origin != node:
                    continue
                g = self.guests[vmid]
                if g.lock:  # still moving away: pve-ha-manager moves it back once that ends
                    continue
                del self.ha_maintenance_origin[vmid]
                if g.node != node and n.status == "online" and g.ha_state != "error":
                    self._start_migration(g, node, ha_request=True)
