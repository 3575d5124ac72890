"""Keepalived / VRRP dynamics: election by effective priority, nopreempt, failover timing, split brain."""

from __future__ import annotations

from console.sim.sim_errors import SimError
from console.sim.state import SimFirewall

INIT, BACKUP, MASTER, FAULT = 0, 1, 2, 3


class VrrpDynamics:
    """Mixed into World."""

    def _fw_vm_ok(self, fw: SimFirewall) -> bool:
        g = self.guests.get(fw.vmid)
        return g is None or self.guest_available(g)

    def fw_alive(self, fw: SimFirewall) -> bool:
        """keepalived runs on a running VM (its dump can be read)."""
        return fw.keepalived_running and self._fw_vm_ok(fw)

    def vip_holder(self) -> list[str]:
        return sorted(f.name for f in self.firewalls.values() if f.state == MASTER and self.fw_alive(f))

    def _fw(self, name: str) -> SimFirewall:
        fw = self.firewalls.get(name)
        if fw is None:
            raise SimError(404, f"no firewall named {name!r}")
        return fw

    def keepalived(self, fw: str, running: bool) -> None:
        self.tick()
        f = self._fw(fw)
        if running and not f.keepalived_running:
            f.pid = next(self._pid)
            f.state = BACKUP  # nopreempt needs initial state BACKUP
            f.last_transition = self._t
        f.keepalived_running = running
        self._reconcile()

    def set_track_file(self, fw: str, value: int) -> None:
        self.tick()
        self._fw(fw).track_value = int(value)
        self._reconcile()

    def _set_fw_state(self, f: SimFirewall, state: int) -> None:
        if f.state == state:
            return
        if f.state == MASTER:
            f.release_master += 1
        if state == MASTER:
            f.become_master += 1
            self._vrrp_last_master = f.name
        f.state = state
        f.last_transition = self._t

    def _vrrp_reconcile(self) -> None:
        if not self.firewalls:
            return
        advert = self.duration("vrrp_advert")
        if self._vrrp_last_master is None:  # the scenario's initial MASTER
            self._vrrp_last_master = next((f.name for f in self.firewalls.values() if f.state == MASTER), None)
        for f in self.firewalls.values():
            if not self._fw_vm_ok(f) or not f.keepalived_running:
                if f.state == MASTER:
                    self._vrrp_graceful = self._fw_vm_ok(f)  # keepalived stop sends a priority-0 advert
                    self._vrrp_master_lost_at = self._t
                if f.state != INIT:
                    if f.state == MASTER:
                        f.release_master += 1
                    f.state = INIT
                    f.last_transition = self._t
            elif f.track_value:
                if f.state == MASTER:
                    self._vrrp_graceful = True
                    self._vrrp_master_lost_at = self._t
                self._set_fw_state(f, FAULT)
            elif f.state in (INIT, FAULT):
                self._set_fw_state(f, BACKUP)
        alive = [f for f in self.firewalls.values() if self.fw_alive(f) and f.state != FAULT]
        if self.faults.split_brain:
            for f in alive:
                self._set_fw_state(f, MASTER)
            return
        masters = [f for f in alive if f.state == MASTER]
        if len(masters) > 1:
            keep = max(masters, key=lambda f: (f.effective_priority, f.name))
            for f in masters:
                if f is not keep:
                    self._set_fw_state(f, BACKUP)
        elif len(masters) == 1:
            m = masters[0]
            better = [f for f in alive
                      if f.state == BACKUP and not f.nopreempt and f.effective_priority > m.effective_priority]
            if better:
                self._set_fw_state(m, BACKUP)
                self._set_fw_state(max(better, key=lambda f: f.effective_priority), MASTER)
        elif alive and not self._vrrp_takeover_pending and self._vrrp_may_take_over(alive):
            best = max(alive, key=lambda f: (f.effective_priority, f.name))
            skew = (256 - best.effective_priority) / 256 * advert
            delay = skew if self._vrrp_graceful else 3 * advert + skew
            self._vrrp_graceful = False
            self._vrrp_takeover_pending = True
            self.at(delay, self._vrrp_takeover)

    def _vrrp_may_take_over(self, candidates) -> bool:
        """Fault vip-stuck: the peer never takes the VIP over; the firewall that held
        it last may still take it back (so restoring its track file ends the outage)."""
        if not self.faults.vip_stuck:
            return True
        best = max(candidates, key=lambda f: (f.effective_priority, f.name))
        return best.name == self._vrrp_last_master

    def _vrrp_takeover(self) -> None:
        self._vrrp_takeover_pending = False
        alive = [f for f in self.firewalls.values() if self.fw_alive(f) and f.state == BACKUP]
        if alive and not self._vrrp_may_take_over(alive):
            return
        if not alive or any(f.state == MASTER and self.fw_alive(f) for f in self.firewalls.values()):
            return
        self._set_fw_state(max(alive, key=lambda f: (f.effective_priority, f.name)), MASTER)
