"""How a screen runs an operation: refuse read-only, ask what is needed (a number,
a tag), say exactly what will happen (the ops layer's sentence) and wait for
yes, then run it and report its result. The work is console/ops; this is the
dialogue around it. Also the shell key: suspend the TUI, run ssh, resume.
"""

from __future__ import annotations

import subprocess
from typing import Any, Awaitable, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.errors import ConsoleError

# (sentence, do) once everything is asked and checked; None: the operator backed out
Prepared = tuple[str, Callable[[], Awaitable[Any]]] | None


class InputModal(ModalScreen[str | None]):
    """One line of input (a replica count, an image tag): enter answers, esc cancels."""

    DEFAULT_CSS = """
    InputModal { align: center middle; }
    InputModal > Vertical { width: 70; max-width: 95%; height: auto; border: thick $primary; background: $surface; padding: 0 1; }
    InputModal #prompt-question { margin: 1 0; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="prompt-question", markup=False)
            yield Input(self.value, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


def run_operation(screen, title: str, prepare: Callable[[], Awaitable[Prepared]]) -> None:
    """Refuse read-only at once; otherwise prepare (ask, check), confirm, run, report."""
    app = screen.app
    if app.read_only:
        app.notify(f"refused: {title} (read-only)", title="read-only", severity="warning")
        return
    if getattr(app, "actions", None) is None:
        app.notify(f"{title}: not available for this cluster", severity="warning")
        return
    screen.run_worker(_flow(app, title, prepare), group="operate", exit_on_error=False)


async def _flow(app, title: str, prepare: Callable[[], Awaitable[Prepared]]) -> None:
    from screens.modals import ConfirmModal

    try:
        prepared = await prepare()
        if prepared is None:
            return
        sentence, do = prepared
        if not await app.push_screen_wait(ConfirmModal(sentence)):
            return
        app.notify(f"{title}: started", title=title, timeout=2)
        res = await do()
    except ConsoleError as exc:
        app.notify(exc.message + (f" ({exc.hint})" if exc.hint else ""), title=f"{title} failed", severity="error")
        return
    ok = getattr(res, "ok", True)
    message = getattr(res, "message", "") or "done"
    app.notify(message, title=title if ok else f"{title} failed", severity="information" if ok else "error")
    app.hub.refresh()


async def ask(app, question: str, value: str = "") -> str | None:
    return await app.push_screen_wait(InputModal(question, value))


# ------------------------------------------------------------------ shells


def run_in_terminal(argv: tuple[str, ...]) -> int:
    """Run the shell in the terminal the TUI was using (the caller has suspended it)."""
    return subprocess.run(list(argv)).returncode


RUNNER: Callable[[tuple[str, ...]], int] = run_in_terminal  # tests put a recorder here


def open_shell(screen, target: str | None, what: str) -> None:
    """The shell key: a node name, a VMID or a swarm task id under the cursor."""
    app = screen.app
    if target is None:
        app.notify(f"no shell here: put the cursor on {what}", severity="warning")
        return
    if app.read_only:
        app.notify(f"refused: open a shell on {target} (read-only)", title="read-only", severity="warning")
        return
    if getattr(app.actions, "shell_plan", None) is None:
        app.notify("shells are not available for this cluster", severity="warning")
        return
    screen.run_worker(_shell(app, target), group="shell", exclusive=True, exit_on_error=False)


async def _shell(app, target: str) -> None:
    try:
        plan = await app.actions.shell_plan(target)
    except ConsoleError as exc:
        app.notify(exc.message + (f" ({exc.hint})" if exc.hint else ""), title="shell", severity="error")
        return
    from textual.app import SuspendNotSupported

    try:
        with app.suspend():
            print(plan.words, flush=True)
            code = RUNNER(plan.argv)
    except SuspendNotSupported:
        app.notify("this terminal cannot hand over to ssh: run `labconsole shell "
                   f"{target}` instead", title="shell", severity="error")
        return
    except OSError as exc:
        from console.errors import plain_reason

        app.notify(f"cannot run ssh: {plain_reason(exc)}", title="shell", severity="error")
        return
    if code not in (0, None):
        app.notify(f"ssh ended with exit status {code} ({plan.what})", title="shell", severity="warning")


# ------------------------------------------------------------------ keys on screens owned by others


def ceph_flags_key(screen) -> None:
    """Ceph screen: ask which flag, toggle it (set when unset, unset when set), with confirmation."""
    ceph = screen.data_of("ceph")
    now = sorted(ceph.flags) if ceph is not None else []

    async def prepare():
        from console.ops.ceph_flags import check_flag, flag_sentence

        flag = await ask(screen.app, "Ceph flag to set or unset (noout, norebalance, nobackfill, norecover, "
                         f"noscrub, ...). Set now: {', '.join(now) or 'none'}", "noout" if "noout" not in now else "")
        if not flag:
            return None
        check_flag(flag)
        on = flag not in now
        return flag_sentence(flag, on, frozenset(now)), lambda: screen.app.actions.ceph_flag(flag, on)

    run_operation(screen, "ceph flag", prepare)


def vip_failback_key(screen) -> None:
    """VRRP screen: move the VIP back to the preferred firewall; the result says the gap."""
    async def prepare():
        from console.ops.firewall import failback_sentence

        plan = await screen.app.actions.vip_failback_plan()
        if not plan.needed:
            screen.app.notify(failback_sentence(plan), title="vip fail-back")
            return None
        return failback_sentence(plan), lambda: screen.app.actions.vip_failback(plan)

    run_operation(screen, "vip fail-back", prepare)


def shell_here(app) -> None:
    """The shell key outside the swarm screen: a guest row (guests view) or a node row (health view)."""
    from widgets.fast_table import FastTable

    focused = app.focused
    key = focused.cursor_key if isinstance(focused, FastTable) else None
    target = None
    if isinstance(focused, FastTable) and focused.id == "guests" and key:
        target = key.rpartition("/")[2]  # "qemu/112" -> 112
    elif isinstance(focused, FastTable) and focused.id == "nodes" and key:
        target = key
    open_shell(app.screen, target, "a guest (guests view) or a node (health view)")
