"""The maintenance wizard's texts: the status line of each phase, the plan and preflight
review, and log lines wrapped to the pane (screens/maintenance.py renders them)."""

from __future__ import annotations

import textwrap

from rich.text import Text

from console.maintenance.events import MARKS
from console.maintenance.session import WizardSession


def wrap_lines(lines: list[str], width: int) -> list[str]:
    """Long lines wrapped to the pane (the Log widget would cut them), continuation indented."""
    if width < 20:
        return lines
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        indent = " " * min(len(line) - len(line.lstrip()) + 2, width // 2)
        out.extend(textwrap.wrap(line, width, subsequent_indent=indent, drop_whitespace=False,
                                 break_on_hyphens=False) or [line])
    return out


def status_text(s: WizardSession) -> str:
    if s.phase == "choose":
        return s.message or ("Maintenance wizard: choose a node (enter), or all for a rolling upgrade. "
                             "Nothing changes until you confirm.")
    if s.phase == "planning":
        return s.message
    if s.phase == "review":
        if s.downtime_to_accept:
            names = ", ".join(f"{e['sid']} {e['name']} (rule {e['rule']})" for e in s.downtime_to_accept)
            return (f"{s.message}: HA rules keep {names} on {s.nodes[0] if s.nodes else 'the node'}: it stops "
                    "with the reboot. y: accept that downtime · r: re-check · esc: back")
        if not s.preflight_ok:
            return f"{s.message}: fix what failed, then r: re-check · esc: back"
        return f"{s.message}. c: confirm by typing {s.confirm_word} · r: re-check · esc: back"
    if s.phase == "running":
        current = next((x for x in s.steps if x.status in ("running", "undoing")), None)
        where = f"{MARKS[current.status]} {current.id} {current.title}" if current else "starting"
        return f"{s.node}: {where} — ctrl+x: abort"
    if s.phase == "waiting":
        keys = {"retry": "r: retry", "rejoin": "r: rejoin", "rollback": "ctrl+b: roll back", "skip": "ctrl+y: skip"}
        return f"{s.message}\n" + " · ".join([keys[c] for c in s.choices if c in keys] + ["ctrl+x: abort"])
    return f"{s.message} — esc: back"

def review_text(s: WizardSession) -> Text:
    text = Text()
    if s.plan_text:
        text.append("Plan\n", style="bold")
        text.append(s.plan_text.rstrip() + "\n\n")
    if s.checks:
        text.append("Preflight (read-only checks, nothing changed)\n", style="bold")
        for c in s.checks:
            if c.ok:
                text.append(f"✔ {c.id} ", style="green")
                text.append(f"{c.title}\n")
            else:
                text.append(f"✖ {c.id} {c.title}\n", style="bold red")
                text.append(f"    {c.reason}\n", style="red")
            for note in c.notes:
                text.append(f"    {note}\n", style="dim")
    return text
