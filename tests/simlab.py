"""SimLab: run `python -m console.sim` as a child process for tests (sync and async).

    with SimLab(speed=10) as lab:            # or: async with SimLab() as lab:
        cfg = lab.config_path                # DIR/config.toml, load it like a user config
        lab.control("node-down", "pve2")     # inject a fault
        lab.wait_until(lambda s: s["nodes"]["pve2"]["status"] == "offline")
        lab.clear()

The sim is started with --parent-pid, so it exits on its own if the test
process dies; stop() sends SIGTERM, then SIGKILL. No orphans, no stale dirs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from console.sim.control import ControlError, call

REPO_ROOT = Path(__file__).resolve().parents[1]


class SimLabError(RuntimeError):
    pass


class SimLab:
    def __init__(self, scenario: str = "seed", speed: float = 10.0, directory: Path | str | None = None,
                 ready_timeout: float = 30.0, extra_args: tuple[str, ...] = ()):
        self.scenario = scenario
        self.speed = speed
        self.ready_timeout = ready_timeout
        self.extra_args = tuple(extra_args)
        self._own_dir = directory is None
        self.dir = Path(directory) if directory is not None else None
        self.process: subprocess.Popen | None = None
        self.info: dict = {}

    # ------------------------------------------------------------ lifecycle
    @property
    def config_path(self) -> Path:
        return self.dir / "config.toml"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def stderr_path(self) -> Path:
        return self.dir / "sim-stderr.log"

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> SimLab:
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="labsim-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "console.sim", "--scenario", self.scenario, "--dir", str(self.dir),
               "--speed", str(self.speed), "--parent-pid", str(os.getpid()), *self.extra_args]
        with open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=err)
        deadline = time.monotonic() + self.ready_timeout
        while not (self.dir / "ready").exists():
            if self.process.poll() is not None:
                code = self.process.returncode
                self._cleanup_dir()
                raise SimLabError(f"the sim exited with {code} before it was ready:\n{self._last_stderr}")
            if time.monotonic() > deadline:
                self.stop()
                raise SimLabError(f"the sim was not ready within {self.ready_timeout:.0f}s:\n{self._last_stderr}")
            time.sleep(0.05)
        self.info = json.loads((self.dir / "sim.json").read_text())
        return self

    _last_stderr = ""

    def stop(self) -> int | None:
        code = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait(timeout=10)
        elif self.process is not None:
            code = self.process.returncode
        self._cleanup_dir()
        return code

    def _cleanup_dir(self) -> None:
        self._last_stderr = self.stderr()
        if self._own_dir and self.dir is not None and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SimLab:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    async def __aenter__(self) -> SimLab:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self.stop)

    # -------------------------------------------------------------- control
    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            return call(self.dir, method, path, body)
        except ControlError as exc:
            raise SimLabError(f"{exc}\n--- sim stderr ---\n{self.stderr()}") from None

    def control(self, kind: str, target: str | int | None = None, value: float | None = None) -> dict:
        """Inject a fault (see World.inject for the kinds)."""
        return self._call("POST", "/fault",
                          {"kind": kind, "target": None if target is None else str(target), "value": value})

    fault = control

    def clear(self, kind: str | None = None, target: str | int | None = None) -> dict:
        return self._call("POST", "/clear", {"kind": kind, "target": None if target is None else str(target)})

    def state(self) -> dict:
        return self._call("GET", "/state")

    def availability(self) -> dict:
        return self._call("GET", "/availability")

    def reset_availability(self) -> dict:
        return self._call("POST", "/reset-availability", {})

    def back_up_all(self) -> list[int]:
        """Back up now every guest whose last backup is stale or missing (the seed has two:
        111 stale, 113 never), through the sim's API as `labconsole guest backup` does, so
        that a health check of the lab starts OK. The VMIDs backed up. Any thread, any loop."""
        import threading

        done: list = []
        worker = threading.Thread(target=lambda: done.append(asyncio.run(self._back_up_all())))
        worker.start()
        worker.join()
        if not done or isinstance(done[0], BaseException):
            raise SimLabError(f"backing up the lab's guests failed: {done[0] if done else 'no result'}")
        return done[0]

    async def _back_up_all(self) -> list[int] | BaseException:
        from console.config import load_config
        from console.ops.backups import backup_now, backup_report
        from console.sources import build_sources

        saved = os.environ.get("LABCONSOLE_STATE_DIR")
        if saved is None:  # the command log of these backups: the lab's, never the user's
            os.environ["LABCONSOLE_STATE_DIR"] = str(self.dir / "state")
        sources = build_sources(load_config(self.config_path).cluster(None))
        try:
            report = await backup_report(sources)
            todo = [g.vmid for g in report.guests if g.state != "fresh"]
            for vmid in todo:
                res = await backup_now(sources, vmid, "pbs")
                if not res.ok:
                    return SimLabError(f"backup of {vmid}: {res.message}")
            return todo
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
            return exc
        finally:
            await sources.close()
            if saved is None:
                os.environ.pop("LABCONSOLE_STATE_DIR", None)

    def wait_until(self, predicate, timeout: float = 60.0, interval: float = 0.1) -> dict:
        """Poll state() until predicate(state) is true; the state, or SimLabError with the last one."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.state()
            if predicate(last):
                return last
            time.sleep(interval)
        raise SimLabError(f"condition not reached within {timeout:.0f}s; last state: {json.dumps(last)[:2000]}")
