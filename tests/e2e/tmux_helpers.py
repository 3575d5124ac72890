"""Drive a terminal program in tmux on a PRIVATE server (`tmux -L <unique socket>`).

    with TmuxSession(["labconsole", "--demo"], width=80, height=24, env={...}) as tm:
        tm.wait_for("Health", timeout=30)
        tm.send("2")                # keys as tmux send-keys names them: "Escape", "Enter", "C-q"
        tm.type(":ceph")            # literal text (send-keys -l)
        print(tm.capture())

Only the private server this object started is ever killed (kill-server on its
own socket), never the default one nor anything found by name.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class TmuxSession:
    def __init__(self, command: Sequence[str], width: int = 80, height: int = 24,
                 env: Mapping[str, str] | None = None, cwd: str | None = None, term: str = "xterm-256color"):
        self.socket = f"labconsole-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.session = "e2e"
        self.command = list(command)
        self.width, self.height = width, height
        self.env = dict(env or {})
        self.cwd = cwd
        self.term = term
        self.started = False
        self.socket_path = ""

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> TmuxSession:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=15)

    def start(self) -> TmuxSession:
        # The pane's environment: tmux's server passes its own environment (ours) to the pane;
        # `env` sets the extras and TERM explicitly so the program sees exactly this terminal.
        assignments = [f"{k}={v}" for k, v in {**self.env, "TERM": self.term}.items()]
        shell_cmd = "exec env " + " ".join(shlex.quote(a) for a in assignments + self.command)
        args = ["new-session", "-d", "-s", self.session, "-x", str(self.width), "-y", str(self.height)]
        if self.cwd:
            args += ["-c", self.cwd]
        # -f /dev/null: no user config. remain-on-exit in the same command list as new-session, so
        # even a program that dies at once leaves its last screen (and pane_dead) to read.
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args, shell_cmd,
                        ";", "set-option", "-g", "remain-on-exit", "on"],
                       check=True, capture_output=True, text=True, timeout=15,
                       env={**os.environ, "TERM": self.term})
        self.started = True
        self.socket_path = self._tmux("display-message", "-p", "#{socket_path}", check=False).stdout.strip()
        return self

    def kill(self) -> None:
        """Kill this object's private tmux server (and so the program in it); idempotent."""
        if self.started:
            self.started = False
            self._tmux("kill-server", check=False)
            if self.socket_path and os.path.basename(self.socket_path) == self.socket:
                try:  # tmux leaves the socket file behind
                    os.unlink(self.socket_path)
                except OSError:
                    pass

    # ------------------------------------------------------------ input
    def send(self, *keys: str) -> None:
        """Keys by tmux name, one event each ("Escape", "Enter", "Down", "C-r", "2")."""
        for key in keys:
            self._tmux("send-keys", "-t", self.session, key)

    def type(self, text: str) -> None:
        """Literal text, as typed."""
        self._tmux("send-keys", "-t", self.session, "-l", text)

    # ------------------------------------------------------------ output
    def capture(self, escapes: bool = False) -> str:
        """The visible screen as plain text, one line per row (escapes=True: with SGR colour codes)."""
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.session).stdout

    def pane_pid(self) -> int | None:
        out = self._tmux("display-message", "-p", "-t", self.session, "#{pane_pid}", check=False).stdout.strip()
        return int(out) if out.isdigit() else None

    def pane_dead(self) -> bool:
        out = self._tmux("display-message", "-p", "-t", self.session, "#{pane_dead}", check=False).stdout.strip()
        return out == "1"

    def wait_until(self, predicate: Callable[[str], bool], timeout: float, what: str = "condition",
                   interval: float = 0.1) -> str:
        """Poll the screen until predicate(screen) holds; return that screen or raise with the last one."""
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; screen:\n{screen}")
            time.sleep(interval)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        return self.wait_until(lambda s: text in s, timeout, what=repr(text))

    def wait_gone(self, text: str, timeout: float = 10.0) -> str:
        return self.wait_until(lambda s: text not in s, timeout, what=f"{text!r} to go away")


def make_sandbox(prefix: str) -> Path:
    """A short private root for one console run (the sim puts unix sockets under TMPDIR:
    paths must stay < 108 bytes), with the dirs console_env points at."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    for sub in ("tmp", "config", "state", "data", "cache", "runtime"):
        (root / sub).mkdir()
    (root / "runtime").chmod(0o700)
    return root


def console_env(root: Path, **extra: str) -> dict[str, str]:
    """Environment that keeps a console run's files (demo dir, journal, logs) inside `root`."""
    env = {
        "TMPDIR": str(root / "tmp"),
        "LABCONSOLE_STATE_DIR": str(root / "state"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_STATE_HOME": str(root / "state"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_RUNTIME_DIR": str(root / "runtime"),
        "LABCONSOLE_CONFIG": str(root / "config" / "absent.toml"),  # the demo must not need one
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env
