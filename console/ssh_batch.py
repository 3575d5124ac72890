"""What an SSH command returned, and the batch scripts that run many commands over one
channel (in turn or in parallel) with a marker line carrying each one's exit status."""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.errors import ConsoleError
from console.inert import inert_block


@dataclass(frozen=True, slots=True)
class SshResult:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def command_failed(alias: str, command: str, result: SshResult) -> ConsoleError:
    err = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return ConsoleError(f"ssh {alias}", f"`{short(command)}` exited {result.exit_status}"
                        + (f": {short(err[-1])}" if err else ""))


def short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


_WRAPPER = re.compile(r"__rc\b|__labconsole_|\$__d\b|__d=|\$__p\d|__p\d+=|\$__r\d|__r\d+=|</dev/null")


def without_wrapper(text: str, marker: str) -> str:
    """Output of a batch that failed, without the lines that quote our wrapper script
    (a shell's syntax error echoes it): the user sees their commands, not our plumbing."""
    lines = [line for line in inert_block(text).splitlines()
             if line.strip() and marker not in line and not _WRAPPER.search(line)]
    return "\n".join(lines)


def batch_script(commands: list[str], marker: str) -> str:
    # Each command runs in a subshell (an `exit` ends only it) with stdin closed;
    # a marker line carrying its exit status follows its output on both streams.
    parts = []
    for cmd in commands:
        parts.append(f"( {cmd}\n) </dev/null; __rc=$?; printf '\\n{marker} %d\\n' \"$__rc\"; "
                     f"printf '\\n{marker}\\n' >&2")
    return "\n".join(parts)


def parallel_script(commands: list[str], marker: str) -> str:
    # Background every command with its output in a private temp dir, wait for
    # each (wait PID returns its status), then emit them in order as above.
    lines = ['__d=$(mktemp -d) || exit 97']
    for i, cmd in enumerate(commands):
        lines.append(f'( {cmd}\n) </dev/null >"$__d/{i}.o" 2>"$__d/{i}.e" & __p{i}=$!')
    for i in range(len(commands)):
        lines.append(f"wait $__p{i}; __r{i}=$?")
    for i in range(len(commands)):
        lines.append(f"cat \"$__d/{i}.o\"; printf '\\n{marker} %d\\n' \"$__r{i}\"; "
                     f"cat \"$__d/{i}.e\" >&2; printf '\\n{marker}\\n' >&2")
    lines.append('rm -rf "$__d"')
    return "\n".join(lines)


def split_batch(r: SshResult, marker: str, n: int) -> list[SshResult] | None:
    out_parts = r.stdout.split(f"\n{marker} ")
    err_parts = r.stderr.split(f"\n{marker}\n")
    if len(out_parts) != n + 1:
        return None
    results = []
    stdout_chunk = out_parts[0]
    for i in range(n):
        rest = out_parts[i + 1]
        code_text, _, next_chunk = rest.partition("\n")
        try:
            code = int(code_text.strip())
        except ValueError:
            return None
        err = err_parts[i] if i < len(err_parts) else ""
        if _WRAPPER.search(err):  # a shell quoting our wrapper in its complaint
            err = without_wrapper(err, marker) + "\n"
        results.append(SshResult(code, stdout_chunk, err))
        stdout_chunk = next_chunk
    return results
