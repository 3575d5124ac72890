"""VRRP (keepalived) on the firewalls, read over SSH.

Per firewall, concurrently, one SSH batch: keepalived's JSON dump plus
`ip -j addr` (the VIP cross-check). A keepalived that does not answer the dump
(killed, crashed, stopped) is reported as answering=False with the reason:
after a SIGKILL the dead master keeps the VIP on its interface and its notify
file still says MASTER, so neither of those may stand in for the dump. Such a
firewall keeps its last known instances (with `seen_at`, the time of its last
answer), shown as stale; when no firewall answers the fetch fails, so the
poller keeps the last state and marks the layer failed and stale.

How the dump is obtained (`VrrpConfig.dump`):
- "signal": `rm -f JSON_FILE; kill -s $(keepalived --signum=JSON) $(cat
  PIDFILE)` (batched with `ip -j addr`), then `cat JSON_FILE` until keepalived
  has written all of it (it ends with "]"). Plain commands only, no shell
  loops, so any POSIX shell (and the simulated lab's) runs them. A failing
  kill means keepalived is not running.
- anything else: a command printing the dump (e.g. the `ka-state` helper);
  exit 2 from it means keepalived is not running, 3 that it wrote no dump.

Two answering firewalls that disagree on an instance's MASTER (both, or
neither) are read once more, within the same budget: the two reads are never
quite simultaneous, so one read can fall across a hand-over; a real split
brain or outage is still there on the second read.

Sync groups: keepalived's JSON dump does not name them, so an instance's group
comes from the text dump when that is what the dump command prints, else from
vrrp.sync_groups; `with_sync_groups` fills VrrpInstance.sync_group and
VrrpState.sync_groups (each with its preferred firewall: vrrp.preferred_masters,
else vrrp.preferred_master).

Writes (maintenance D1/R4 and the run's final VIP fail-back), as plain SSH commands:
- set_track(fw, value): `echo VALUE > cfg.track_file` (a keepalived `track_file`;
  with weight 0 a non-zero value puts the instance in FAULT, so the peer
  takes the VIP; 0 restores it);
- keepalived(fw, running): `systemctl start|stop keepalived`.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import replace

from console.config_model import FirewallConfig, VrrpConfig
from console.errors import ConsoleError, ReadOnlyError
from console.inert import cap, inert, inert_block
from console.model import Firewall, VrrpState, VrrpSyncGroup
from console.sources.vrrp_parse import parse_dump, parse_ip_addr

KEEPALIVED_START = "systemctl start keepalived"
KEEPALIVED_STOP = "systemctl stop keepalived"
IP_ADDR = "ip -j addr"
DUMP_RETRY_DELAY = 0.02  # s between reads of a dump keepalived is still writing


def signal_command(pidfile: str, json_file: str) -> str:
    f, p = shlex.quote(json_file), shlex.quote(pidfile)
    return f"rm -f {f}; kill -s $(keepalived --signum=JSON) $(cat {p})"


def _torn(firewalls: list[Firewall]) -> bool:
    """Two answering firewalls disagree about who is MASTER of an instance (both, or neither)."""
    answering = [fw for fw in firewalls if fw.answering]
    if len(answering) < 2:
        return False
    masters: dict[str, int] = {}
    for fw in answering:
        for inst in fw.instances:
            masters[inst.name] = masters.get(inst.name, 0) + (inst.state == "MASTER")
    return any(n != 1 for n in masters.values())


class VrrpSource:
    name = "vrrp"

    def __init__(self, cfg: VrrpConfig, ssh, read_only: bool = False, cluster_name: str | None = None):
        self.cfg = cfg
        self.ssh = ssh
        self.read_only = read_only
        self.cluster_name = cluster_name or "vrrp"
        self.signal_mode = cfg.dump == "signal"
        self.dump_command = signal_command(cfg.pidfile, cfg.json_file) if self.signal_mode else cfg.dump
        self._last: dict[str, Firewall] = {}  # firewall name -> its last answer
        self.wall_clock = time.time

    async def close(self) -> None:
        """Nothing of its own: the shared SSH pool is closed by its owner (Sources.close)."""

    async def fetch(self) -> VrrpState:
        if not self.cfg.firewalls:
            raise ConsoleError("vrrp", "no firewalls configured", "list them in vrrp.firewalls")
        loop = asyncio.get_running_loop()
        budget, started = self.cfg.timeout * 0.9, loop.time()
        firewalls = await self._read_all(budget)
        left = budget - (loop.time() - started)
        if _torn(firewalls) and left > budget / 2:
            # the firewalls answer at slightly different moments: read across a hand-over, one is still
            # MASTER and the other already (or neither yet) for an instant. A real split brain or
            # outage is still there a moment later, so it is said only when a second read agrees.
            firewalls = await self._read_all(left)
        if not any(fw.answering for fw in firewalls):
            raise ConsoleError("vrrp", "no firewall answered: " + "; ".join(_without_prefix(fw) for fw in firewalls),
                               "check SSH and keepalived on the firewalls; the last known state is kept")
        now = self.wall_clock()
        out = []
        for fw in firewalls:
            if fw.answering:
                fw = replace(fw, seen_at=now)
                self._last[fw.name] = fw
            elif fw.name in self._last:  # keep what it said last, marked by its age
                last = self._last[fw.name]
                fw = replace(fw, instances=last.instances, seen_at=last.seen_at)
            out.append(fw)
        return with_sync_groups(tuple(out), self.cfg)

    async def _read_all(self, budget: float) -> list[Firewall]:
        return list(await asyncio.gather(*(self._read(fw, budget) for fw in self.cfg.firewalls)))

    async def _read(self, fw: FirewallConfig, budget: float) -> Firewall:
        # Each firewall gets a little less than the poll's timeout, so one that
        # hangs is reported as such while the other's answer still arrives.
        try:  # in this task, not wait_for's own: a read cancelled as it fails must not leave an unretrieved error
            async with asyncio.timeout(budget):
                return await self._read_firewall(fw, budget)
        except ConsoleError as exc:
            return Firewall(fw.name, fw.ssh_host, answering=False, error=str(exc))
        except TimeoutError:
            return Firewall(fw.name, fw.ssh_host, answering=False,
                            error=f"vrrp {fw.name}: no answer over SSH from {fw.ssh_host} within {budget:g} s")

    async def _read_firewall(self, fw: FirewallConfig, budget: float) -> Firewall:
        dump, addr = await self.ssh.run_many(fw.ssh_host, [self.dump_command, IP_ADDR], timeout=budget,
                                             privileged=(True, False))  # signalling keepalived needs root
        addresses: tuple[str, ...] = ()
        if addr.exit_status == 0:
            try:
                addresses = parse_ip_addr(addr.stdout, f"vrrp {fw.name}")
            except ConsoleError:
                addresses = ()
        if dump.exit_status != 0:
            return Firewall(fw.name, fw.ssh_host, answering=False, addresses=addresses,
                            error=self._dump_failed(fw, dump.exit_status, dump.stderr or dump.stdout))
        text = await self._read_json_file(fw, budget / 2) if self.signal_mode else dump.stdout
        if text is None:
            return Firewall(fw.name, fw.ssh_host, answering=False, addresses=addresses,
                            error=f"vrrp {fw.name}: keepalived took the dump signal but wrote no complete "
                                  f"{self.cfg.json_file} (hung, or built without JSON support?)")
        try:
            instances = parse_dump(text, f"vrrp {fw.name}")
        except ConsoleError as exc:
            return Firewall(fw.name, fw.ssh_host, answering=False, addresses=addresses, error=str(exc))
        return Firewall(fw.name, fw.ssh_host, answering=True, instances=instances, addresses=addresses)

    async def _read_json_file(self, fw: FirewallConfig, wait: float) -> str | None:
        """The dump file once keepalived has written all of it; None if not within `wait` s."""
        cmd = f"cat {shlex.quote(self.cfg.json_file)}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            r = await self.ssh.run(fw.ssh_host, cmd, timeout=wait)
            if r.exit_status == 0 and r.stdout.rstrip().endswith("]"):
                return r.stdout
            if loop.time() + DUMP_RETRY_DELAY > deadline:
                return None
            await asyncio.sleep(DUMP_RETRY_DELAY)

    def _dump_failed(self, fw: FirewallConfig, code: int, output: str) -> str:
        last = next((line.strip() for line in reversed(inert_block(output).strip().splitlines()) if line.strip()), "")
        detail = f": {cap(last)}" if last else ""
        if self.signal_mode:
            what = f"keepalived is not running (signalling the PID in {self.cfg.pidfile} failed)"
        elif code == 2:
            what = "keepalived is not running (no process to signal)"
        elif code == 3:
            what = "keepalived did not write its JSON dump (hung, or built without JSON support?)"
        else:
            what = f"the keepalived dump command exited {code}"
        return f"vrrp {fw.name}: {what}{detail}"

    # ------------------------------------------------------------------ writes

    def _firewall(self, fw: str) -> FirewallConfig:
        for f in self.cfg.firewalls:
            if fw in (f.name, f.ssh_host):
                return f
        known = ", ".join(f.name for f in self.cfg.firewalls)
        raise ConsoleError("vrrp", f"no firewall named {fw!r} (known: {known})")

    def _guard(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(action, self.cluster_name)

    async def set_track(self, fw: str, value: int, track_file: str | None = None) -> None:
        """Write `value` to keepalived's track file on `fw` (0 = healthy; default file: vrrp.track_file)."""
        self._guard(f"set track file on {fw}")
        f = self._firewall(fw)
        cmd = f"echo {int(value)} > {shlex.quote(track_file or self.cfg.track_file)}"
        await self.ssh.run(f.ssh_host, cmd, timeout=self.cfg.timeout, check=True, privileged=True)

    async def keepalived(self, fw: str, running: bool) -> None:
        """Start or stop keepalived on `fw` (stopping sends a priority-0 advert: fast failover)."""
        self._guard(f"{'start' if running else 'stop'} keepalived on {fw}")
        f = self._firewall(fw)
        cmd = KEEPALIVED_START if running else KEEPALIVED_STOP
        await self.ssh.run(f.ssh_host, cmd, timeout=self.cfg.timeout, check=True, privileged=True)


def with_sync_groups(firewalls: tuple[Firewall, ...], cfg: VrrpConfig) -> VrrpState:
    """The state with each instance's sync group (from the text dump, else from vrrp.sync_groups)
    and the sync groups themselves, each with its preferred firewall."""
    # names from the config meet names from the dump, which were made inert where they entered
    configured = {inert(inst): inert(group) for group, members in cfg.sync_groups for inst in members}
    members: dict[str, list[str]] = {inert(group): [inert(i) for i in m] for group, m in cfg.sync_groups}
    out = []
    for fw in firewalls:
        insts = []
        for inst in fw.instances:
            if inst.sync_group is None and inst.name in configured:
                inst = replace(inst, sync_group=configured[inst.name])
            if inst.sync_group is not None and inst.name not in members.setdefault(inst.sync_group, []):
                members[inst.sync_group].append(inst.name)
            insts.append(inst)
        out.append(replace(fw, instances=tuple(insts)))
    preferred = tuple((inert(name), fw) for name, fw in cfg.preferred_masters)
    groups = tuple(VrrpSyncGroup(name, tuple(m), dict(preferred).get(name, cfg.preferred_master))
                   for name, m in members.items())
    return VrrpState(firewalls=tuple(out), preferred_master=cfg.preferred_master, sync_groups=groups,
                     preferred=preferred)


def _without_prefix(fw: Firewall) -> str:
    """'fw1: <why>' from a per-firewall error that already names it ('vrrp fw1: …')."""
    error = fw.error or "no answer"
    return error if error.startswith(f"ssh {fw.name}") else f"{fw.name}: {error.removeprefix(f'vrrp {fw.name}: ')}"
