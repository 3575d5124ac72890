"""Fault injection: inject/clear by kind, and the latency/error hooks the fronts call."""

from __future__ import annotations

from console.sim.guest_pkgs import GUEST_FAULTS
from console.sim.guest_pkgs import clear as clear_guest
from console.sim.guest_pkgs import faults_dict as guest_faults_dict
from console.sim.guest_pkgs import inject as inject_guest
from console.sim.ops_faults import OPS_FAULTS, clear_ops, inject_ops, ops_faults_dict
from console.sim.registry_state import REGISTRY_FAULTS, clear_registry, inject_registry, registry_faults_dict
from console.sim.sim_errors import SimError

FAMILIES = ("pve", "ceph", "docker", "traefik", "ssh", "registry")
KINDS = (
    "node-down", "node-up", "osd-down", "osd-up", "latency", "error-rate", "apt-fail", "no-return",
    "bad-kernel", "traefik-backend-down", "traefik-backend-up", "split-brain", "ha-error",
    "migrate-fail", "osd-stuck", "vip-stuck", "ha-pin", "mon-down", "mon-up",
    *OPS_FAULTS,  # h-operate: console/sim/ops_faults.py
    *GUEST_FAULTS,  # h-upgguest: console/sim/guest_pkgs.py
    *REGISTRY_FAULTS,  # h-swarmimg: console/sim/registry_state.py
)
PIN_PREFIX = "pin-"  # fault ha-pin: a strict node-affinity rule "pin-VMID" to the guest's node


class FaultControl:
    """Mixed into World."""

    def fault_delay(self, family: str) -> float:
        return float(self.faults.api_latency.get(family, 0.0))

    def fault_error(self, family: str) -> bool:
        rate = self.faults.api_error_rate.get(family, 0.0)
        return rate > 0 and self._rng.random() < rate

    # ----------------------------------------------------------- parsing
    def _t_node(self, kind: str, target) -> str:
        if target not in self.nodes:
            raise SimError(404, f"fault {kind}: no node named {target!r} (known: {', '.join(self.nodes)})")
        return target

    def _t_osd(self, kind: str, target) -> int:
        try:
            osd = int(str(target).removeprefix("osd."))
        except ValueError:
            raise SimError(400, f"fault {kind}: target must be an OSD id like 3 or osd.3, got {target!r}") from None
        if osd not in self.osds:
            raise SimError(404, f"fault {kind}: no osd.{osd}")
        return osd

    def _t_mon(self, kind: str, target) -> str:
        """A mon by its name, or by the node that hosts it."""
        mons = self.ceph.mons
        name = str(target or "").removeprefix("mon.")
        if name not in mons:
            name = next((m for m, host in sorted(mons.items()) if host == name), name)
        if name not in mons:
            raise SimError(404, f"fault {kind}: no mon named {target!r} (known: {', '.join(sorted(mons))})")
        return name

    def _t_vmid(self, kind: str, target) -> int:
        try:
            vmid = int(target)
        except (TypeError, ValueError):
            raise SimError(400, f"fault {kind}: target must be a vmid, got {target!r}") from None
        if vmid not in self.guests:
            raise SimError(404, f"fault {kind}: no guest {vmid}")
        return vmid

    def _t_family(self, kind: str, target) -> str:
        if target not in FAMILIES:
            raise SimError(400, f"fault {kind}: target must be one of {', '.join(FAMILIES)}, got {target!r}")
        return target

    def _t_service(self, kind: str, target) -> str:
        names = {s.name for s in self.services.values()}
        if target not in names:
            raise SimError(404, f"fault {kind}: no swarm service named {target!r}")
        return target

    # ------------------------------------------------------------ inject
    def inject(self, kind: str, target: str | None = None, value: float | None = None) -> None:
        self.tick()
        f = self.faults
        if kind not in KINDS:
            raise SimError(400, f"unknown fault kind {kind!r} (known: {', '.join(KINDS)})")
        if kind == "node-down":
            node = self._t_node(kind, target)
            self._forced_down.add(node)
            if self.nodes[node].status != "offline":
                self._power_off(node, False)
        elif kind == "node-up":
            self._power_on(self._t_node(kind, target))
        elif kind == "osd-down":
            self._osd_stopped.add(self._t_osd(kind, target))
        elif kind == "osd-up":
            osd = self._t_osd(kind, target)
            self._osd_stopped.discard(osd)
            f.osd_stuck.discard(osd)
        elif kind == "latency":
            f.api_latency[self._t_family(kind, target)] = float(value if value is not None else 1.0)
        elif kind == "error-rate":
            rate = float(value if value is not None else 1.0)
            if not 0.0 <= rate <= 1.0:
                raise SimError(400, f"fault error-rate: value must be within 0..1, got {rate}")
            f.api_error_rate[self._t_family(kind, target)] = rate
        elif kind == "apt-fail":
            f.apt_fail.add(self._t_node(kind, target))
        elif kind == "no-return":
            f.no_return.add(self._t_node(kind, target))
        elif kind == "bad-kernel":
            f.bad_kernel.add(self._t_node(kind, target))
        elif kind == "traefik-backend-down":
            f.traefik_backend_down.add(self._t_service(kind, target))
        elif kind == "traefik-backend-up":
            f.traefik_backend_down.discard(self._t_service(kind, target))
        elif kind == "split-brain":
            f.split_brain = True
        elif kind == "ha-error":
            vmid = self._t_vmid(kind, target)
            f.ha_error.add(vmid)
            self.guests[vmid].ha_state = "error"
        elif kind == "migrate-fail":
            f.migrate_fail.add(self._t_vmid(kind, target))
        elif kind == "osd-stuck":
            f.osd_stuck.add(self._t_osd(kind, target))
        elif kind == "vip-stuck":
            f.vip_stuck = True
        elif kind == "ha-pin":
            self._pin(self._t_vmid(kind, target))
        elif kind == "mon-down":  # the ceph-mon daemon stops; its node stays up
            f.mon_stopped.add(self._t_mon(kind, target))
        elif kind == "mon-up":
            f.mon_stopped.discard(self._t_mon(kind, target))
        elif kind in OPS_FAULTS:
            inject_ops(self, kind, target)
        elif kind in GUEST_FAULTS:
            inject_guest(self, kind, target)
        elif kind in REGISTRY_FAULTS:
            inject_registry(self, kind, target)
        self._reconcile()

    def _pin(self, vmid: int) -> None:
        from console.sim.pve_ha_rules import add_rule, enabled_rules
        from console.sim.pve_render import ha_sid

        g = self.guests[vmid]
        if not g.ha:
            raise SimError(400, f"fault ha-pin: guest {vmid} is not HA-managed")
        taken = [r.name for r in enabled_rules(self, ha_sid(g), "node-affinity")]
        if taken:
            raise SimError(409, f"fault ha-pin: {ha_sid(g)} is already in node-affinity rule {taken[0]}")
        add_rule(self, f"{PIN_PREFIX}{vmid}", "node-affinity", [ha_sid(g)], nodes={g.node: 0}, strict=True,
                 comment="fault ha-pin")

    # ------------------------------------------------------------- clear
    def clear(self, kind: str | None = None, target: str | None = None) -> None:
        self.tick()
        if kind is not None and kind not in KINDS:
            raise SimError(400, f"unknown fault kind {kind!r} (known: {', '.join(KINDS)})")
        kinds = [kind] if kind else list(KINDS)
        f = self.faults
        for k in kinds:
            if k in ("node-down", "node-up"):
                for node in [target] if target else sorted(self._forced_down):
                    self._power_on(self._t_node(k, node))
            elif k in ("osd-down", "osd-up"):
                ids = [self._t_osd(k, target)] if target else list(self._osd_stopped)
                self._osd_stopped.difference_update(ids)
            elif k == "latency":
                f.api_latency.pop(target, None) if target else f.api_latency.clear()
            elif k == "error-rate":
                f.api_error_rate.pop(target, None) if target else f.api_error_rate.clear()
            elif k in ("apt-fail", "bad-kernel"):
                s = f.apt_fail if k == "apt-fail" else f.bad_kernel
                s.discard(target) if target else s.clear()
            elif k == "no-return":
                nodes = [target] if target else list(f.no_return)
                for node in nodes:
                    f.no_return.discard(node)
                    if node in self._stuck_offline and node not in self._forced_down:
                        self._power_on(node)
            elif k in ("traefik-backend-down", "traefik-backend-up"):
                f.traefik_backend_down.discard(target) if target else f.traefik_backend_down.clear()
            elif k == "split-brain":
                f.split_brain = False
            elif k == "ha-error":
                ids = [int(target)] if target else list(f.ha_error)
                for vmid in ids:
                    f.ha_error.discard(vmid)
                    g = self.guests.get(vmid)
                    if g is not None:
                        g.ha_state = "started" if vmid in self.desired_running else "stopped"
            elif k == "migrate-fail":
                f.migrate_fail.discard(int(target)) if target else f.migrate_fail.clear()
            elif k == "osd-stuck":
                f.osd_stuck.discard(self._t_osd(k, target)) if target else f.osd_stuck.clear()
            elif k == "vip-stuck":
                f.vip_stuck = False
            elif k in ("mon-down", "mon-up"):
                f.mon_stopped.discard(self._t_mon(k, target)) if target else f.mon_stopped.clear()
            elif k == "ha-pin":
                for name in [f"{PIN_PREFIX}{int(target)}"] if target else self._pins():
                    self.ha_rules.pop(name, None)
            elif k in OPS_FAULTS:
                clear_ops(self, k, target)
            elif k in GUEST_FAULTS:
                clear_guest(self, k, target)
            elif k in REGISTRY_FAULTS:
                clear_registry(self, k, target)
        self._reconcile()

    def _pins(self) -> list[str]:
        return [n for n, r in self.ha_rules.items() if n.startswith(PIN_PREFIX) and r.comment == "fault ha-pin"]

    def faults_dict(self) -> dict:
        f = self.faults
        return {
            "latency": dict(f.api_latency),
            "error_rate": dict(f.api_error_rate),
            "apt_fail": sorted(f.apt_fail),
            "no_return": sorted(f.no_return),
            "bad_kernel": sorted(f.bad_kernel),
            "osd_stuck": sorted(f.osd_stuck),
            "osd_down": sorted(self._osd_stopped),
            "nodes_down": sorted(self._forced_down),
            "nodes_shut_down": sorted(self._powered_off),  # not a fault: shut down through the API
            "vip_stuck": f.vip_stuck,
            "split_brain": f.split_brain,
            "traefik_backend_down": sorted(f.traefik_backend_down),
            "ha_error": sorted(f.ha_error),
            "migrate_fail": sorted(f.migrate_fail),
            "mon_down": sorted(f.mon_stopped),
            "ha_pinned": sorted(int(n.removeprefix(PIN_PREFIX)) for n in self._pins()),
            **ops_faults_dict(self),
            **guest_faults_dict(self),
            **registry_faults_dict(self),
        }

    def backend_up(self, service_name: str) -> bool:
        if service_name in self.faults.traefik_backend_down:
            return False
        svc = next((s for s in self.services.values() if s.name == service_name), None)
        if svc is None:
            return False
        return self.service_running_tasks(svc.id) > 0
