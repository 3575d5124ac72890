"""Maintenance against the simulated lab: a fresh seed lab per test, the real
sources/services/engine in process (Maint), and checks read from the sim's own
state (the truth, not what the console believes)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from console.config import load_config
from console.config_model import ClusterConfig
from console.maintenance.engine import Event
from console.maintenance.journal import Journal
from console.maintenance.rolling import MaintenanceRun
from console.maintenance.runner import steps_for
from console.maintenance.services import MaintenanceServices
from console.sources import build_sources
from tests.simlab import REPO_ROOT, SimLab

SPEED = 60.0  # lab seconds per real second: a node's maintenance takes a few real seconds
SCALE = 4 / SPEED  # the engine's timeouts are lab seconds; allow 4x for a busy test machine
# waits short enough that a fault shows within a second or two of real time (lab seconds)
FAULT_TIMEOUTS = {"reboot": 50.0, "ceph_up": 30.0, "vip_move": 20.0, "node_online": 60.0, "api_errors": 20.0}
CLUSTER = "demo"  # the sim's config names its cluster so


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch) -> Path:
    """Journals and locks of every test go to its own directory."""
    d = tmp_path / "state"
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(d))
    return d


@pytest.fixture
def lab():
    with SimLab("seed", speed=SPEED) as lab:
        yield lab


def cluster_of(lab: SimLab) -> ClusterConfig:
    return load_config(lab.config_path).cluster(None)


class Maint:
    """The engine on a SimLab, in process: `async with Maint(lab) as m: await m.run(["pve1"])`."""

    def __init__(self, lab: SimLab, timeouts: dict[str, float] | None = None, poll: float = 0.2,
                 root_dataset: str | None = None):
        self.lab = lab
        self.cluster = cluster_of(lab)
        if root_dataset is not None:  # "" : no ZFS snapshot, roll back by downgrading packages
            m = dataclasses.replace(self.cluster.maintenance, root_dataset=root_dataset)
            self.cluster = dataclasses.replace(self.cluster, maintenance=m)
        self.timeouts = dict(FAULT_TIMEOUTS if timeouts is None else timeouts)
        self.poll = poll
        self.events: list[Event] = []
        self.hooks: dict[tuple[str, str], Any] = {}  # (event kind, step) -> callable, fired once
        self.run: MaintenanceRun | None = None

    async def __aenter__(self) -> Maint:
        self.sources = build_sources(self.cluster)
        self.svc = MaintenanceServices(self.cluster, self.sources, poll=self.poll, scale=SCALE,
                                       timeouts=self.timeouts)
        return self

    async def __aexit__(self, *exc) -> None:
        for name in ("proxmox", "swarm"):
            src = self.sources.get(name)
            if src is not None:
                await src.close()
        await self.sources.close()

    def on(self, kind: str, step: str, fn) -> None:
        """Call fn() once, when an event of this kind for this step is emitted (inject a fault)."""
        self.hooks[(kind, step)] = fn

    def _event(self, e: Event) -> None:
        self.events.append(e)
        fn = self.hooks.pop((e.kind, e.step), None)
        if fn is not None:
            fn()

    def start(self, nodes: list[str]) -> MaintenanceRun:
        self.run = MaintenanceRun.start(self.cluster.name, nodes, steps_for, self.svc, self._event)
        return self.run

    def resume(self, journal: Journal) -> MaintenanceRun:
        from console.maintenance.runner import restore_plan

        self.run = MaintenanceRun.resume(journal, steps_for, self.svc, self._event)
        if self.run.engine is not None:
            restore_plan(self.svc, self.run.engine.node, self.run.engine.ctx.facts)
        return self.run

    def failures(self) -> list[str]:
        return [f"{e.step}: {e.text}" for e in self.events if e.kind in ("step-failed", "undo-failed")]

    def transcript(self, last: int = 60) -> str:
        lines = [f"{e.kind} {e.step or ''} {e.text or e.state or ''}" for e in self.events]
        return "\n".join(lines[-last:])


# ------------------------------------------------------------------ the lab's truth
def wait_settled(lab: SimLab, timeout: float = 20.0) -> dict:
    """The sim's state once no guest is migrating and every PG is active+clean."""
    def settled(s):
        pgs = s["ceph"]["pg_states"]
        return not s["guests"]["migrating"] and set(pgs) == {"active+clean"}

    return lab.wait_until(settled, timeout=timeout)


async def guests_by_vmid(lab: SimLab) -> dict[int, dict]:
    """vmid -> {node, status, type}, read from the sim's Proxmox API."""
    from console.sources.proxmox import ProxmoxSource

    src = ProxmoxSource(cluster_of(lab).proxmox)
    try:
        state = await src.fetch()
    finally:
        await src.close()
    return {g.vmid: {"node": g.node, "status": g.status, "type": g.type} for g in state.guests}


async def problems_after(lab: SimLab, baseline: dict[int, dict], *, back_home: bool = True,
                   flags_clear: bool = True) -> list[str]:
    """Everything that is not as a finished (or rolled back) maintenance must leave it."""
    s = await asyncio.to_thread(wait_settled, lab)
    out = []
    now = await guests_by_vmid(lab)
    for vmid, g in baseline.items():
        n = now.get(vmid)
        if g["status"] == "running" and (n is None or n["status"] != "running"):
            out.append(f"guest {vmid} is {n and n['status']} (was running)")
        elif back_home and n and n["node"] != g["node"]:
            out.append(f"guest {vmid} is on {n['node']}, was on {g['node']}")
    if flags_clear and s["ceph"]["flags"]:
        out.append(f"ceph flags left set: {s['ceph']['flags']}")
    if flags_clear and s["ceph"].get("group_flags"):
        out.append(f"ceph group flags left set: {s['ceph']['group_flags']}")
    for name, node in s["nodes"].items():
        if node["status"] != "online":
            out.append(f"{name} is {node['status']}")
        if node["ha_maintenance"]:
            out.append(f"{name} is still in HA maintenance")
    for name, sn in s["swarm"]["nodes"].items():
        if sn["availability"] != "active" or sn["state"] != "ready":
            out.append(f"swarm node {name} is {sn['availability']}/{sn['state']}")
    if len(s["vrrp"]["vip_holder"]) != 1:
        out.append(f"VIP held by {s['vrrp']['vip_holder']}")
    if s["swarm"]["services_converged"] != s["swarm"]["services"]:
        out.append(f"only {s['swarm']['services_converged']}/{s['swarm']['services']} swarm services converged")
    return out


async def running_elsewhere(lab: SimLab, baseline: dict[int, dict], node: str,
                            stays: set[int] = frozenset()) -> list[str]:
    """'Stopped safe': every guest that ran still runs, and none is left on `node` (but those that stay)."""
    now = await guests_by_vmid(lab)
    out = []
    for vmid, g in baseline.items():
        if g["status"] != "running" or vmid in stays:
            continue
        n = now.get(vmid)
        if n is None or n["status"] != "running":
            out.append(f"guest {vmid} is {n and n['status']}")
        elif n["node"] == node:
            out.append(f"guest {vmid} still on {node}")
    return out


def noout_on(lab: SimLab, node: str) -> bool:
    """noout holds for `node`'s OSDs: its CRUSH host's group flag (what maintenance sets), or global."""
    ceph = lab.state()["ceph"]
    return "noout" in ceph["flags"] or "noout" in ceph["group_flags"].get(node, [])


def upgraded(lab: SimLab, node: str) -> bool:
    n = lab.state()["nodes"][node]
    return n["upgradable"] == 0 and n["kernel"] == "6.8.12-5-pve" and n["pve_version"] == "8.2.5" \
        and not n["verify_failed"]


def not_upgraded(lab: SimLab, node: str) -> bool:
    n = lab.state()["nodes"][node]
    return n["kernel"] == "6.8.12-4-pve" and n["pve_version"] == "8.2.4" and n["upgradable"] > 0


# ------------------------------------------------------------------ the CLI in a subprocess
def cli_env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LABCONSOLE_STATE_DIR"] = str(state_dir)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def fast_config(lab: SimLab) -> Path:
    """The sim's config with reboot/migrate timeouts cut to 30 s, so that a console that
    waits for something that will not happen gives up within a test's time."""
    path = Path(lab.dir) / "config-fast.toml"
    if not path.exists():
        text = lab.config_path.read_text()
        for key in ("reboot_timeout", "migrate_timeout"):
            text, n = re.subn(rf"^{key} = .*$", f"{key} = 30.0", text, flags=re.M)
            assert n == 1, f"the sim's config has no {key} line"
        path.write_text(text)
    return path


def cli_cmd(lab: SimLab, *args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())",
            "--config", str(fast_config(lab)), "maintenance", *args]


def cli(lab: SimLab, state_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`labconsole maintenance ARGS` as a new console process."""
    return subprocess.run(cli_cmd(lab, *args), env=cli_env(state_dir), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)


def journal_records(state_dir: Path) -> list[dict]:
    d = state_dir / "journal" / CLUSTER
    out = []
    for p in sorted(d.glob("*.jsonl")) if d.is_dir() else ():
        for line in p.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line being written
    return out


def spawn_and_kill_at(lab: SimLab, state_dir: Path, node: str, step: str, timeout: float = 60.0,
                      cmd: list[str] | None = None, linger: float = 0.0) -> list[dict]:
    """Run `maintenance run NODE --yes` (or `cmd`) in a subprocess; SIGKILL it as soon as the journal
    shows the apply-start of `step` (`linger` seconds later). The journal records at the moment of the kill."""
    proc = subprocess.Popen(cmd or cli_cmd(lab, "run", node, "--yes"), env=cli_env(state_dir), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            recs = journal_records(state_dir)
            if any(r["event"] == "apply-start" and r.get("step") == step for r in recs):
                time.sleep(linger)
                proc.kill()
                proc.wait(10)
                return journal_records(state_dir)
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace")
                raise AssertionError(f"the run ended (exit {proc.returncode}) before {step} started:\n{out[-3000:]}")
            time.sleep(0.01)
        raise AssertionError(f"{step} did not start within {timeout} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def start_and_freeze(lab: SimLab, env: dict, state_dir: Path, node: str, step: str,
                     timeout: float = 60.0) -> subprocess.Popen:
    """`maintenance run NODE --yes` in a subprocess, SIGSTOPped once its journal shows the
    apply-start of `step`: it holds its locks for as long as the test needs (SIGCONT to go on)."""
    proc = subprocess.Popen(cli_cmd(lab, "run", node, "--yes"), env=env, cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while not any(r["event"] == "apply-start" and r.get("step") == step for r in journal_records(state_dir)):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.stdout.read().decode(errors="replace")
            proc.stdout.close()
            raise AssertionError(f"the run did not reach {step} (exit {proc.returncode}):\n{out[-3000:]}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGSTOP)
    return proc
