"""Run the simulated lab as a child process for `labconsole --demo`.

    with DemoLab(scenario="seed") as lab:
        run_tui(lab.config, ...)

The sim runs in its own process group with its output in DIR/sim.log; it is
stopped (SIGTERM, then SIGKILL) and its temp dir removed on normal exit,
Ctrl+C, an exception, interpreter exit (atexit) and SIGTERM/SIGHUP (after which
the process ends within EXIT_GRACE even if a thread would keep it alive). If this
process is SIGKILLed, the sim notices through --parent-pid and exits itself,
removing the temp dir (--remove-dir-on-exit).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from console.config_model import Config
from console.errors import ConsoleError
from console.sim import SCENARIOS  # noqa: F401  (re-exported: the launcher's accepted scenarios)

log = logging.getLogger(__name__)

DIR_PREFIX = "labconsole-demo-"
OWNER_FILE = "launcher.pid"
_CAUGHT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
EXIT_GRACE = 5.0  # s an orderly exit gets after SIGTERM/SIGHUP before the process ends anyway


class DemoLab:
    def __init__(self, scenario: str = "seed", speed: float | None = None, ready_timeout: float | None = None,
                 command: list[str] | None = None, stop_timeout: float = 5.0):
        """`command` replaces `python -m console.sim` (tests); the launcher appends its arguments.
        `stop_timeout`: seconds the sim gets to exit on SIGTERM before SIGKILL."""
        self.scenario = scenario
        self.speed = speed
        self.ready_timeout = ready_timeout or (120.0 if scenario == "large" else 30.0)
        self.command = command or [sys.executable, "-m", "console.sim"]
        self.stop_timeout = stop_timeout
        self.dir: Path | None = None
        self.config: Config | None = None
        self.control_url: str | None = None
        self.process: subprocess.Popen | None = None
        self._old_handlers: dict[int, object] = {}
        self._stopped = False

    # --- lifecycle -------------------------------------------------------
    def __enter__(self) -> DemoLab:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> DemoLab:
        remove_stale_dirs()
        self.dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        (self.dir / OWNER_FILE).write_text(f"{os.getpid()}\n")
        atexit.register(self.stop)
        self._install_signal_handlers()
        args = [*self.command, "--scenario", self.scenario, "--dir", str(self.dir), "--parent-pid", str(os.getpid()),
                "--remove-dir-on-exit"]
        if self.speed is not None:
            args += ["--speed", str(self.speed)]
        log.info("starting the simulated lab: %s", " ".join(args))
        try:
            with open(self.dir / "sim.log", "wb") as out:
                self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True, cwd=self.dir, env=_child_env())
            self._wait_ready()
            self._load()
        except BaseException:
            self.stop()
            raise
        log.info("simulated lab ready in %s (pid %s)", self.dir, self.process.pid)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        ready = self.dir / "ready"
        while not ready.exists():
            code = self.process.poll()
            if code is not None:
                raise ConsoleError("demo", f"the simulated lab exited with status {code} before it was ready"
                                   + self._log_tail())
            if time.monotonic() > deadline:
                raise ConsoleError("demo", f"the simulated lab was not ready after {self.ready_timeout:.0f} s"
                                   + self._log_tail())
            time.sleep(0.05)

    def _load(self) -> None:
        from console.config import load_config

        info = json.loads((self.dir / "sim.json").read_text())
        self.control_url = info.get("control_url")
        self.config = load_config(self.dir / "config.toml")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = (self.dir / "sim.log").read_text(errors="replace").rstrip()
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"; last lines of its log:\n{tail}" if tail else " (its log is empty)"

    def stop(self) -> None:
        """Stop the sim and remove the temp dir. Idempotent; safe from atexit and signal handlers."""
        if self._stopped:
            return
        self._stopped = True
        proc = self.process
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("simulated lab did not stop on SIGTERM; killing it")
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc is not None:  # anything the sim left in its group
            _signal_group(proc.pid, signal.SIGKILL)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        self._restore_signal_handlers()
        atexit.unregister(self.stop)

    # --- signals ---------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        for sig in _CAUGHT_SIGNALS:
            try:
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread: rely on atexit and __exit__
                return

    def _restore_signal_handlers(self) -> None:
        for sig, old in self._old_handlers.items():
            try:
                signal.signal(sig, old)
            except (ValueError, TypeError):
                pass
        self._old_handlers.clear()

    def _on_signal(self, signum, frame) -> None:
        previous = self._old_handlers.get(signum)
        self.stop()
        if callable(previous):
            previous(signum, frame)
            return
        # The console's input thread (Textual's, not a daemon) spins on the EOF of a terminal that went
        # away (an SSH connection dropped) and would keep the process alive, at full CPU, after
        # SystemExit: the process ends within EXIT_GRACE whatever happens.
        ender = threading.Timer(EXIT_GRACE, os._exit, (128 + signum,))
        ender.daemon = True
        ender.start()
        raise SystemExit(128 + signum)


def remove_stale_dirs(parent: Path | None = None) -> list[Path]:
    """Remove demo dirs left by a launcher that was SIGKILLed: owner and sim both gone."""
    removed = []
    for directory in Path(parent or tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        owner = _pid_in(directory / OWNER_FILE)
        if owner is None or _pid_alive(owner):
            continue  # not ours to judge, or still in use
        sim = _pid_in(directory / "ready") or _json_pid(directory / "sim.json")
        if sim is not None and _pid_alive(sim):
            continue
        shutil.rmtree(directory, ignore_errors=True)
        log.info("removed stale demo dir %s", directory)
        removed.append(directory)
    return removed


def _pid_in(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _json_pid(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive (an init that never reaps keeps them around)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _child_env() -> dict[str, str]:
    """Our environment, with this `console` package first on the path (works without installing)."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
