"""console.demo.DemoLab: start, ready, stop; no orphan process and no stale temp dir, however it ends.

Lifecycle tests run twice over: with a small stand-in that speaks the sim's
start-up protocol (so the launcher's own failure paths can be provoked) and
with the real simulated lab (`python -m console.sim`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.demo import DemoLab
from console.errors import ConsoleError

REPO = Path(__file__).resolve().parents[2]
HAVE_SIM = importlib.util.find_spec("console.sim.__main__") is not None
needs_sim = pytest.mark.skipif(not HAVE_SIM, reason="console/sim/__main__.py (the simulated lab) does not exist yet")

# Speaks the sim's start-up protocol: config.toml, sim.json, then ready; starts a grandchild
# (to prove the whole process group is stopped) and records its argv.
PROTOCOL_SIM = r"""
import json, os, subprocess, sys, time
args = sys.argv[1:]
d = args[args.index("--dir") + 1]
child = subprocess.Popen(["sleep", "300"])
json.dump({"argv": args, "grandchild": child.pid}, open(os.path.join(d, "args.json"), "w"))
open(os.path.join(d, "token"), "w").write("secret\n")
open(os.path.join(d, "config.toml"), "w").write('''default_cluster = "sim"
[clusters.sim.proxmox]
endpoints = ["https://127.0.0.1:8006"]
token_id = "root@pam!sim"
token_secret_file = "token"
''')
json.dump({"pid": os.getpid(), "control_url": "http://127.0.0.1:1/"}, open(os.path.join(d, "sim.json"), "w"))
open(os.path.join(d, "ready"), "w").close()
print("protocol sim ready", flush=True)
while True:
    time.sleep(1)
"""


def protocol_sim(extra: str = "") -> list[str]:
    return [sys.executable, "-c", extra + PROTOCOL_SIM]


def alive(pid: int) -> bool:
    """Running and not a zombie (a container's init may never reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


def test_start_ready_stop_leaves_nothing_behind():
    with DemoLab(command=protocol_sim()) as lab:
        info = json.loads((lab.dir / "args.json").read_text())
        assert lab.process.poll() is None and alive(info["grandchild"])
        assert lab.config.cluster().name == "sim" and lab.config.path == lab.dir / "config.toml"
        assert lab.control_url == "http://127.0.0.1:1/"
        argv = info["argv"]
        assert argv[argv.index("--parent-pid") + 1] == str(os.getpid())
        assert argv[argv.index("--scenario") + 1] == "seed" and "--speed" not in argv
        assert os.getpgid(lab.process.pid) == lab.process.pid  # its own process group
        directory, pid = lab.dir, lab.process.pid
    assert not directory.exists()
    assert not alive(pid) and wait_gone(info["grandchild"], 5)


def test_speed_and_scenario_are_passed_on():
    with DemoLab(scenario="large", speed=4.0, command=protocol_sim()) as lab:
        argv = json.loads((lab.dir / "args.json").read_text())["argv"]
    assert argv[argv.index("--scenario") + 1] == "large" and argv[argv.index("--speed") + 1] == "4.0"


def test_exception_and_ctrl_c_inside_still_clean_up():
    for exc in (RuntimeError("crash"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with DemoLab(command=protocol_sim()) as lab:
                directory, pid = lab.dir, lab.process.pid
                raise exc
        assert not directory.exists() and not alive(pid)


def test_sim_that_exits_early_is_reported_with_its_log():
    command = [sys.executable, "-c", "import sys; print('port 8006 already in use'); sys.exit(3)"]
    lab = DemoLab(command=command)
    with pytest.raises(ConsoleError) as info:
        lab.start()
    assert "exited with status 3" in str(info.value) and "port 8006 already in use" in str(info.value)
    assert not lab.dir.exists()


def test_sim_that_never_gets_ready_times_out_and_is_killed():
    command = [sys.executable, "-c", "import time; print('still booting', flush=True); time.sleep(300)"]
    lab = DemoLab(command=command, ready_timeout=1.0)
    with pytest.raises(ConsoleError) as info:
        lab.start()
    assert "not ready after 1 s" in str(info.value) and "still booting" in str(info.value)
    assert not lab.dir.exists() and not alive(lab.process.pid)


def test_sim_ignoring_sigterm_is_killed():
    ignore = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    with DemoLab(command=protocol_sim(ignore), stop_timeout=0.5) as lab:
        pid = lab.process.pid
    assert not alive(pid) and not lab.dir.exists()


def run_holder(command: list[str] | None, before: str = "") -> tuple[subprocess.Popen, dict]:
    """A separate process holding a DemoLab; returns it and what it printed (sim pid, dir).
    `before`: code run first (e.g. a thread that keeps the process alive)."""
    code = (f"import json, sys, time\n{before}from console.demo import DemoLab\n"
            f"lab = DemoLab(command={command!r}).start()\n"
            "print(json.dumps({'pid': lab.process.pid, 'dir': str(lab.dir)}), flush=True)\n"
            "time.sleep(300)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = holder.stdout.readline()
    assert line, "the holder process did not start the lab"
    return holder, json.loads(line)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_of_the_console_stops_the_sim(sig):
    holder, info = run_holder(protocol_sim())
    try:
        holder.send_signal(sig)
        assert holder.wait(timeout=30) == 128 + sig
        assert not alive(info["pid"]) and not Path(info["dir"]).exists()
    finally:
        holder.kill()
        holder.wait()


# Textual's input thread on a terminal that went away: not a daemon, it reads EOF forever
SPINNING_THREAD = ("import os, threading\n"
                   "eof = os.open(os.devnull, os.O_RDONLY)\n"
                   "threading.Thread(target=lambda: [os.read(eof, 1) for _ in iter(int, 1)]).start()\n")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_thread_that_would_keep_the_console_alive_does_not_after_sigterm_or_sighup(sig):
    holder, info = run_holder(protocol_sim(), before=SPINNING_THREAD)
    try:
        holder.send_signal(sig)
        assert holder.wait(timeout=30) == 128 + sig  # within EXIT_GRACE (5 s), not never
        assert not alive(info["pid"]) and not Path(info["dir"]).exists()
    finally:
        holder.kill()
        holder.wait()


def test_normal_interpreter_exit_stops_the_sim_via_atexit():
    code = ("import json\nfrom console.demo import DemoLab\n"
            f"lab = DemoLab(command={protocol_sim()!r}).start()\n"
            "print(json.dumps({'pid': lab.process.pid, 'dir': str(lab.dir)}))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    info = json.loads(result.stdout)
    assert result.returncode == 0 and not alive(info["pid"]) and not Path(info["dir"]).exists()


@needs_sim
def test_real_sim_starts_serves_its_config_and_stops():
    with DemoLab(scenario="seed") as lab:
        cluster = lab.config.cluster()
        assert cluster.proxmox is not None and cluster.proxmox.tls.verify
        assert cluster.proxmox.tls.fingerprint or cluster.proxmox.tls.ca_file
        assert cluster.swarm is not None and cluster.traefik is not None and cluster.vrrp is not None
        assert cluster.ssh.known_hosts is not None and cluster.ssh.known_hosts.exists()
        assert lab.control_url and lab.control_url.startswith("http://127.0.0.1:")
        directory, pid = lab.dir, lab.process.pid
    assert not directory.exists() and not alive(pid)


@needs_sim
def test_sigkill_of_the_console_leaves_no_sim_after_10_seconds():
    holder, info = run_holder(None)
    holder.kill()  # SIGKILL: no handler, no atexit; the sim must notice through --parent-pid
    holder.wait()
    assert wait_gone(info["pid"], 10), "the simulated lab outlived its parent by more than 10 s"
    # Nobody was left to remove the temp dir; the next demo start sweeps it.
    with DemoLab(command=protocol_sim()):
        assert not Path(info["dir"]).exists(), "a stale demo dir survived the next start"


def test_stale_dir_sweep_keeps_dirs_in_use(tmp_path):
    finished = subprocess.Popen(["true"])  # its pid is then one that is gone
    finished.wait()
    stale, in_use, foreign = (tmp_path / f"labconsole-demo-{n}" for n in ("stale", "inuse", "foreign"))
    for d in (stale, in_use, foreign):
        d.mkdir()
    (stale / "launcher.pid").write_text(f"{finished.pid}\n")
    (in_use / "launcher.pid").write_text(f"{os.getpid()}\n")
    from console.demo import remove_stale_dirs

    assert remove_stale_dirs(tmp_path) == [stale]
    assert in_use.exists() and foreign.exists()  # no launcher.pid: not a dir this launcher made
