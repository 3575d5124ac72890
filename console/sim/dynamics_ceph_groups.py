"""`ceph osd set-group|unset-group FLAGS WHO...`: noup/nodown/noin/noout for some OSDs only.

WHO is an OSD ("osd.3" or "3"), a CRUSH node (a host, or the root "default"),
a device class ("ssd") or any|all|*. The flags live in world.ceph.group_flags
(key -> set of flags; keys are "osd.N", host names, "default" or class names)
and show as the health check OSD_FLAGS, worded like Ceph's OSDMap::check_health.
Semantics modelled: noout (a down OSD stays in) and noin (a booting OSD that
was out stays out); noup/nodown are recorded and reported only.
"""

from __future__ import annotations

from console.sim.sim_errors import SimError
from console.sim.state import SimOsd

GROUP_FLAGS = ("noup", "nodown", "noin", "noout")
ROOT = "default"


class CephGroupFlags:
    """Mixed into World."""

    def _crush_hosts(self) -> list[str]:
        """Hosts in CRUSH order (the order their buckets were created: node order)."""
        have = {o.host for o in self.osds.values()}
        return [n for n in self.nodes if n in have] + sorted(have - set(self.nodes))

    def _group_keys(self, who: str) -> list[str]:
        if who in ("any", "all", "*"):
            return [f"osd.{i}" for i in sorted(self.osds)]
        bare = who.removeprefix("osd.")
        if bare.isdigit():
            return [f"osd.{int(bare)}"]
        if who in self._crush_hosts() or who == ROOT:
            return [who]
        if who in {o.device_class for o in self.osds.values()}:
            return [who]
        raise SimError(400, f'unable to parse osd id or crush node or device class: "{who}". ')

    def set_ceph_group_flag(self, flag: str, who: str, on: bool) -> str:
        """Set or clear one group flag; returns Ceph's status message ("" when all went well)."""
        self.tick()
        if flag not in GROUP_FLAGS:
            raise SimError(400, f"unrecognized flag '{flag}', must be one of {{noup,nodown,noin,noout}}")
        note = ""
        for key in self._group_keys(who):
            if key.startswith("osd.") and int(key[4:]) not in self.osds:
                note += f"{key} does not exist. "
                continue
            flags = self.ceph.group_flags.setdefault(key, set())
            if on:
                flags.add(flag)
            else:
                flags.discard(flag)
            if not flags:
                del self.ceph.group_flags[key]
        self._reconcile()
        return note

    def osd_group_flags(self, o: SimOsd) -> set[str]:
        """Flags that apply to this OSD through set-group (its own, its host's, the root's, its class')."""
        g = self.ceph.group_flags
        return set().union(g.get(f"osd.{o.id}", ()), g.get(o.host, ()), g.get(ROOT, ()), g.get(o.device_class, ()))

    def osd_noout(self, o: SimOsd) -> bool:
        return "noout" in self.ceph.flags or "noout" in self.osd_group_flags(o)

    def osd_noin(self, o: SimOsd) -> bool:
        return "noin" in self.ceph.flags or "noin" in self.osd_group_flags(o)

    def group_flag_detail(self) -> list[str]:
        """OSD_FLAGS detail lines: OSDs, then CRUSH nodes by bucket id, then device classes."""
        g = self.ceph.group_flags
        lines = [f"osd.{i} has flags {','.join(sorted(g[f'osd.{i}']))}" for i in sorted(self.osds) if g.get(f"osd.{i}")]
        # host buckets get ids -3, -5, ... in creation order and the root -1; Ceph lists them by id
        for host in reversed(self._crush_hosts()):
            if g.get(host):
                lines.append(f"host {host} has flags {','.join(sorted(g[host]))}")
        if g.get(ROOT):
            lines.append(f"root {ROOT} has flags {','.join(sorted(g[ROOT]))}")
        for cls in sorted({o.device_class for o in self.osds.values()}):
            if g.get(cls):
                lines.append(f"device class '{cls}' has flags {','.join(sorted(g[cls]))}")
        return lines

    def osd_flags_check(self) -> dict | None:
        detail = self.group_flag_detail()
        if not detail:
            return None
        return {
            "code": "OSD_FLAGS",
            "severity": "HEALTH_WARN",
            "summary": f"{len(detail)} OSDs or CRUSH {{nodes, device-classes}} have {{NOUP,NODOWN,NOIN,NOOUT}} flags "
                       "set",
            "count": len(detail),
            "detail": detail,
        }
