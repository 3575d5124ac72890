"""Hostile strings: what an attacker who can name a VM, tag a guest, label a
service, log a line or make apt print something would send to the terminal.

Used by the sim's `hostile` scenario and by the tests of console.inert; kept
in the package (not under tests/) because the sim serves it.
"""

from __future__ import annotations

OSC_TITLE = "\x1b]0;PWNED\x07"
OSC_CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"
CLEAR_SCREEN = "\x1b[2J\x1b[H"
RTL_OVERRIDE = "\u202e"

CORPUS: tuple[str, ...] = (
    f"x{OSC_TITLE}",
    f"clip{OSC_CLIPBOARD}",
    f"wipe{CLEAR_SCREEN}",
    "[bold red]x[/]",
    "unbalanced [/] close",
    "[link=https://evil.example]click[/link]",
    "nul\x00byte",
    "carriage\rreturn",
    "line\nbreak",
    "bell\x07ring",
    f"{RTL_OVERRIDE}gnp.exe",
    "zero\u200dwidth\u200cjoin\u2066iso\u2069",
    "emoji 🦄👨‍👩‍👧",
    "dcs\x1bP1$qm\x1b\\end",
    "csi8bit\x9b31mred",
    "del\x7fchar",
    "A" * 10_000,
)


def hostile(i: int, prefix: str = "") -> str:
    """The i-th hostile string (cycling), after a readable prefix."""
    return f"{prefix}{CORPUS[i % len(CORPUS)]}"
