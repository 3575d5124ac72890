"""Run a terminal program on a pseudo-terminal and keep every byte it writes.

    with PtySession([labconsole, "demo"], env=..., cwd=...) as pty:
        pty.wait_for(b"Health", timeout=60)
        pty.send("2")
        raw = pty.output()          # every byte the program wrote to its terminal, raw

Unlike tmux, nothing interprets the output: a test can assert on the exact bytes
that would reach the operator's terminal. Only the process this object started
(its own session) is ever signalled.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading
import time
from typing import Mapping, Sequence


class PtySession:
    def __init__(self, command: Sequence[str], width: int = 100, height: int = 30,
                 env: Mapping[str, str] | None = None, cwd: str | None = None, term: str = "xterm-256color"):
        self.command = list(command)
        self.width, self.height = width, height
        self.env = {**os.environ, **(env or {}), "TERM": term}
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self._master = -1
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def __enter__(self) -> "PtySession":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "PtySession":
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.height, self.width, 0, 0))
        self.proc = subprocess.Popen(self.command, stdin=slave, stdout=slave, stderr=slave, env=self.env,
                                     cwd=self.cwd, start_new_session=True)
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, daemon=True, name="pty-reader")
        self._reader.start()
        return self

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: the slave side is closed (the program exited)
                return
            if not chunk:
                return
            with self._lock:
                self._buf += chunk

    def send(self, text: str) -> None:
        os.write(self._master, text.encode())

    def escape(self) -> None:
        """The Escape key alone: a pause after it, or the next key would read as Alt+key."""
        self.send("\x1b")
        time.sleep(0.4)

    def output(self) -> bytes:
        with self._lock:
            return bytes(self._buf)

    def mark(self) -> int:
        """The current output length (to wait for something written after this point)."""
        with self._lock:
            return len(self._buf)

    def wait_for(self, needle: bytes, timeout: float, since: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.output()[since:]:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the program exited ({self.proc.returncode}) before writing {needle!r}; "
                                     f"last output: {self.output()[-2000:]!r}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {needle!r}; "
                                     f"last output: {self.output()[-2000:]!r}")
            time.sleep(0.1)

    def settle(self, quiet: float = 1.0, timeout: float = 20.0) -> None:
        """Wait until the program has written nothing for `quiet` seconds (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        last, since = self.mark(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.mark()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.send("\x11")  # ctrl+q
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        return self.proc.returncode
