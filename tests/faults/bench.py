"""The fault bench: hostile proxies and fake SSH hosts in front of one running sim,
and the config rewritten per (layer, fault) to route the layer under test through them.

Everything hostile runs in its own process (bench_server.py), so a check run
in-process (run_check in the test process) or as a subprocess talks to it over
real sockets and never competes with it for a GIL. Routes, with no fault:

  proxmox   2 endpoints, HTTPS (the sim's certificate, pinned) -> pve proxies -> sim nodes 1, 2
  ceph      via the Proxmox API (those proxies), or via SSH to the fake Ceph host
            (proxmox cells read Ceph over SSH from the sim, so Ceph stays independent)
  swarm     2 managers, unix sockets -> docker proxies -> sim managers 1, 2
  traefik   HTTPS (pinned) -> traefik proxy -> sim
  vrrp      fw1, fw2 over SSH -> the sim (or the fake firewalls when vrrp is under test)
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from tests.faults.fault_state import KINDS, FaultState

REPO_ROOT = Path(__file__).resolve().parents[2]

# Seconds. FAULT_TIMEOUT: the timeout of the layer under test in its "slow" and "silent" cells.
# Every other timeout is CALM_TIMEOUT: on a loaded machine (2 cores, several test sessions) an
# innocent layer must not time out, and a fast failure must never race a timeout (a timeout
# message would hide the error text the cell is there to check).
FAULT_TIMEOUT = 2.0
CALM_TIMEOUT = 15.0
TIMEOUT_KEY = {"proxmox": "proxmox", "ceph-api": "ceph", "ceph-ssh": "ceph", "swarm": "swarm",
               "traefik": "traefik", "vrrp": "vrrp"}


@dataclass
class CheckRun:
    code: int
    doc: dict
    elapsed: float
    stdout: str
    stderr: str
    via: str  # "cli" or "in-process"


class FaultBench:
    """Starts tests/faults/bench_server.py (its own process) in front of `sim`, rewrites the
    sim's config per cell, sets the fault, and runs `labconsole check --json`."""

    def __init__(self, sim, directory: Path | None = None, ready_timeout: float = 60.0):
        self.sim = sim
        self.dir = Path(directory or tempfile.mkdtemp(prefix="labfault-"))
        self.state = FaultState(self.dir / "fault.json")
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self.baseline: dict[str, str] = {}  # layer -> summary with no fault
        self.calm_elapsed = {"cli": 0.0, "in-process": 0.0}  # seconds a fault-free check took

    def __enter__(self) -> "FaultBench":
        self.sim_cfg = tomllib.loads(self.sim.config_path.read_text())
        self.cluster = self.sim_cfg["default_cluster"]
        self.fingerprint = self.sim_cfg["clusters"][self.cluster]["proxmox"]["fingerprint"]
        self.sim_cert = self.sim.dir / "pve-cert.pem"
        self.traefik_password = self.dir / "traefik.pass"
        self.traefik_password.write_text("not-checked-by-the-sim\n")
        err = open(self.dir / "bench-stderr.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.bench_server", str(self.dir), str(self.sim.dir), str(os.getpid())],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        deadline = time.monotonic() + self.ready_timeout
        while not (self.dir / "ready").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the fault bench did not start:\n{self.stderr()}")
            time.sleep(0.05)
        self.ports = json.loads((self.dir / "bench.json").read_text())
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def stderr(self) -> str:
        try:
            return (self.dir / "bench-stderr.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # ---------------------------------------------------------------- config

    def config(self, layer: str | None = None, kind: str | None = None) -> dict:
        """The sim's config with every layer routed through the bench, and `layer` set up for `kind`.
        kind None: the layer's hostile route with no fault (sanity of the bench itself);
        "tls-pass": the TLS route with the right certificate; "silent": endpoints that accept the
        connection and never say a word (slow before the protocol even starts)."""
        p = self.ports
        cfg = copy.deepcopy(self.sim_cfg)
        c = cfg["clusters"][self.cluster]
        c["timeout"] = CALM_TIMEOUT  # every layer inherits it unless it sets its own
        c["ssh"]["known_hosts"] = p["known_hosts"]
        c["proxmox"]["endpoints"] = _https(p["pve_good"])
        c["ceph"]["via"] = "ssh" if layer in ("proxmox", "ceph-ssh") else "api"
        c["swarm"]["managers"] = [f"unix://{path}" for path in p["docker_unix"]]
        c["traefik"] = {"url": _https([p["traefik_good"]])[0], "verify_tls": True, "fingerprint": self.fingerprint,
                        "username": "monitor", "password_file": str(self.traefik_password)}
        if layer is None:
            return cfg
        if kind in ("slow", "silent"):
            c[TIMEOUT_KEY[layer]]["timeout"] = FAULT_TIMEOUT
        hosts = c["ssh"]["hosts"]

        def ssh_to(aliases: list[str], fake: list[int]) -> None:
            special = {"down": p["closed_ports"], "tls": [p["stranger_port"]] * 2, "silent": p["silent_ports"]}
            ports = special.get(kind, fake)
            for alias, port in zip(aliases, ports):
                hosts[alias] = {"address": "127.0.0.1", "port": port}

        if layer in ("proxmox", "ceph-api"):
            if kind in ("down", "silent") and layer == "proxmox":
                c["proxmox"]["endpoints"] = _https(p["closed_ports" if kind == "down" else "silent_ports"])
            elif kind == "tls":
                c["proxmox"]["endpoints"] = _https(p["pve_other"])
        elif layer == "ceph-ssh":
            c["ceph"]["ssh_hosts"] = ["pve1", "pve2"]
            ssh_to(["pve1", "pve2"], [p["fake_ports"]["ceph"]] * 2)
        elif layer == "swarm":
            if kind in ("down", "silent"):
                dead = p["closed_sockets" if kind == "down" else "silent_sockets"]
                c["swarm"]["managers"] = [f"unix://{path}" for path in dead]
            elif kind in ("tls", "tls-pass"):
                port = p["docker_tls_other"] if kind == "tls" else p["docker_tls_good"]
                c["swarm"].update(managers=[f"tcp://127.0.0.1:{port}"], tls_ca=str(self.sim_cert),
                                  tls_cert=p["docker_client"][0], tls_key=p["docker_client"][1])
        elif layer == "traefik":
            if kind in ("down", "tls", "silent"):
                port = {"down": p["closed_ports"][0], "tls": p["traefik_other"], "silent": p["silent_ports"][0]}[kind]
                c["traefik"]["url"] = _https([port])[0]
        elif layer == "vrrp":
            ssh_to([fw["ssh_host"] for fw in c["vrrp"]["firewalls"]], [p["fake_ports"]["fw1"], p["fake_ports"]["fw2"]])
        return cfg

    def timeout_bound(self, layer: str | None, kind: str | None, via: str) -> float:
        """How long a faulted run may take: 2 x the timeout that governs the layer's requests + 5 s,
        plus what a fault-free run of the same kind (CLI or in-process) took on this machine now.
        Ceph-via-API requests travel in Proxmox's HTTP client, with proxmox.timeout (CALM_TIMEOUT:
        the Proxmox layer itself is innocent in those cells)."""
        short = kind in ("slow", "silent") and layer != "ceph-api"
        return (FAULT_TIMEOUT if short else CALM_TIMEOUT) * 2 + 5 + self.calm_elapsed[via]

    def write_config(self, name: str, cfg: dict) -> Path:
        path = self.dir / "cells" / f"{name}.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(tomli_w.dumps(cfg))
        return path

    # ------------------------------------------------------------------- run

    def run(self, layer: str | None, kind: str | None, variant: str = "bad-json", cli: bool = False) -> CheckRun:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the fault bench process is not running:\n{self.stderr()}")
        name = f"{layer or 'base'}-{kind or 'pass'}" + (f"-{variant}" if kind == "malformed" else "")
        path = self.write_config(name, self.config(layer, kind))
        fault = kind if kind in KINDS else None  # "tls-pass", "silent": the config alone does it
        self.state.set(layer if fault else None, fault, variant)
        try:
            return self.run_cli(path) if cli else self.run_in_process(path)
        finally:
            self.state.clear()

    def run_in_process(self, path: Path) -> CheckRun:
        from console.check import run_check
        from console.config import load_config

        cluster = load_config(path).cluster()
        out = io.StringIO()
        started = time.monotonic()
        code = run_check(cluster, as_json=True, out=out)
        elapsed = time.monotonic() - started
        return CheckRun(code, json.loads(out.getvalue()), elapsed, out.getvalue(), "", "in-process")

    def run_cli(self, path: Path) -> CheckRun:
        exe = Path(sys.executable).with_name("labconsole")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from console.cli import main; "
                                                                    "sys.exit(main())"]
        env = {**os.environ, "XDG_STATE_HOME": str(self.dir / "state"), "LABCONSOLE_STATE_DIR": str(self.dir / "state")}
        started = time.monotonic()
        r = subprocess.run([*cmd, "--config", str(path), "check", "--json"], capture_output=True, text=True,
                           timeout=120, env=env, cwd=REPO_ROOT)
        elapsed = time.monotonic() - started
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"`labconsole check --json` printed no JSON (exit {r.returncode}):\n"
                                 f"stdout: {r.stdout[:2000]}\nstderr: {r.stderr[:2000]}") from None
        return CheckRun(r.returncode, doc, elapsed, r.stdout, r.stderr, "cli")

    @property
    def token_secret(self) -> str:
        return (self.sim.dir / "token").read_text().strip()


def _https(ports: list[int]) -> list[str]:
    return [f"https://127.0.0.1:{port}" for port in ports]
