"""Root for a non-root SSH user: how a command is run through password-less sudo,
and how a refusing sudo is told apart from the command failing.

A command sudo can run as it stands (words, quotes, `$(...)` that the user's
shell expands first) becomes `sudo -n CMD`, so a sudoers list of programs
(README) is enough; anything with shell syntax (`;`, `&&`, `|`, redirections,
a leading VAR=value) runs as `sudo -n sh -c '...'`. `-n`: never a password
prompt, sudo fails at once instead.
"""

from __future__ import annotations

import re
import shlex

from console.errors import ConsoleError
from console.ssh_batch import short

_SIMPLE = re.compile(r"""^(?![A-Za-z_][A-Za-z0-9_]*=)(?:[^;&|<>\n`]|\$\([^;&|<>\n()`]*\))+$""")
_REFUSED = re.compile(r"^sudo: (a password is required|a terminal is required|.*is not in the sudoers file|"
                      r".*not allowed to (execute|run)|sorry, user .* may not run)", re.MULTILINE)


def as_root(command: str) -> str:
    """`command` run as root through password-less sudo."""
    if _SIMPLE.match(command.strip()):
        return f"sudo -n {command.strip()}"
    return f"sudo -n sh -c {shlex.quote(command)}"


def sudo_refusal(alias: str, user: str, shown: str, exit_status: int, stderr: str) -> ConsoleError | None:
    """The error to raise when sudo itself refused (the command never ran), else None."""
    m = _REFUSED.search(stderr)
    if exit_status == 0 or m is None:
        return None
    return ConsoleError(f"ssh {alias}", f"sudo refused `{short(shown)}` for {user}: {short(m.group(0))}",
                        f"allow {user} to run it without a password (sudoers NOPASSWD, see README) "
                        "or connect as root")
