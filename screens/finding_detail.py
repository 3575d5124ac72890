"""The detail pane of a finding or an incident (Health: enter or d on its row).

Everything the list cuts short, wrapped to the width: the full text, the hint, when
it started, why it does not page (expected during a maintenance run, silenced), the
user-facing impact, the evidence the finding was read from (Ceph's check detail, the
router's errors, the failed tasks' exit codes, ...) and the objects it is about, each
with a jump key: 1-9, then letters. A jump closes the pane and shows that object's
screen filtered to it; enter jumps to the first (the row's own subject).

The pane is a snapshot of the moment it opened; esc closes it and the list is live
again. The keys j/k/g/G/q keep their usual meaning (scroll, close) and are no jump keys.
The sources made every string inert where it entered; it goes through `inert` once more
on its way to the screen (as `check` does) and is only ever appended as plain Text.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.inert import inert
from screens.detail_pane import DetailPane
from widgets.format import duration

# 1-9, then letters that mean nothing else here (j k g q scroll and close; d opened the pane)
JUMP_KEYS = tuple("123456789") + tuple(c for c in "abcefhilmnoprstuvwxyz")
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "unknown": "magenta", "info": "dim"}


def affected(incident, assessed) -> list[tuple[str, str, str]]:
    """(layer, subject, what) of the objects to jump to: the row's own subject first, then the
    incident's root and effects; each (layer, subject) once."""
    chosen = [assessed] if assessed is not None else []
    members = [*chosen, incident.root, *incident.effects] if incident is not None else chosen
    seen: set[tuple[str, str]] = set()
    out = []
    for a in members:
        f = a.finding
        if (f.layer, f.subject) in seen:
            continue
        seen.add((f.layer, f.subject))
        out.append((f.layer, f.subject, f.text))
    return out


def _when(started: float | None, now: float) -> str:
    if started is None:
        return "not known (it began before the event timeline was recording, or it has no event of its own)"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    return f"{stamp} ({duration(max(0.0, now - started))} ago)"


def _section(out: Text, title: str) -> None:
    out.append(f"\n{title}\n", style="bold underline")


def _key(out: Text, key: str | None) -> None:
    if key is None:
        out.append("    ")
    else:
        out.append(f" {key} ", style="bold reverse")
        out.append(" ")


def detail_text(incident, assessed, started: float | None, now: float, silences=(),
                keys: tuple[str, ...] = JUMP_KEYS) -> Text:
    """The pane's text. `assessed` None: the incident itself (its root, impact and effects).
    Each object to go to shows its key where it is named: the subject at the top, each effect
    in the list of effects; the rest under "also go to"."""
    a = assessed if assessed is not None else incident.root
    f = a.finding
    objects = affected(incident, assessed)
    key_of = {(layer, subject): key for key, (layer, subject, _) in zip(keys, objects, strict=False)}
    shown: set[tuple[str, str]] = {(f.layer, f.subject)}
    out = Text()
    _key(out, key_of.get((f.layer, f.subject)))
    out.append(f"{f.severity.upper()} ", style=SEVERITY_STYLE.get(f.severity, ""))
    out.append(f"[{inert(f.layer)}] {inert(f.subject)}\n", style="bold")
    out.append(f"{inert(f.text)}\n")
    if f.hint:
        out.append("\nhint: ", style="bold")
        out.append(f"{inert(f.hint)}\n")
    out.append("\nstarted: ", style="bold")
    out.append(_when(started, now) + "\n")
    if a.expected_run:
        out.append(f"expected: caused on purpose by maintenance run {a.expected_run}; it does not page\n",
                   style="dim")
    if a.silenced_by:
        silence = next((s for s in silences if s.id == a.silenced_by), None)
        reason = f" ({inert(silence.reason)})" if silence is not None else ""
        out.append(f"silenced by {inert(a.silenced_by)}{reason}: reported, not counted\n", style="dim")
    if incident is not None and assessed is None and incident.impact:
        _section(out, "impact")
        for line in incident.impact:
            out.append(f"  {inert(line)}\n", style="bold")
    if f.evidence:
        _section(out, "evidence")
        for line in f.evidence:
            out.append(f"  {inert(line)}\n")
    if incident is not None and assessed is None and incident.effects:
        _section(out, f"effects ({len(incident.effects)})")
        for e in incident.effects:
            where = (e.finding.layer, e.finding.subject)
            shown.add(where)
            _key(out, key_of.get(where))
            out.append(f"{e.finding.severity[:4]:4} ", style=SEVERITY_STYLE.get(e.finding.severity, ""))
            quiet = e.expected_run or e.silenced_by
            out.append(f"[{inert(e.finding.layer)}] {inert(e.finding.text)}\n", style="dim" if quiet else "")
    rest = [(k, o) for k, o in zip(keys, objects, strict=False) if (o[0], o[1]) not in shown]
    if rest:
        _section(out, "its incident (root first)" if assessed is not None else "also go to")
        for key, (layer, _subject, text) in rest:
            _key(out, key)
            out.append(f"[{inert(layer)}] {inert(text)}\n")
    if len(objects) > len(keys):
        out.append(f"  ... and {len(objects) - len(keys)} more: go to them from the list\n", style="dim")
    return out


class FindingDetail(DetailPane[tuple[str, str] | None]):
    """Dismissed with (layer, subject) to jump to, or None."""

    BINDINGS = [
        Binding("enter", "jump('1')", "Go to", show=False),
        *(Binding(k, f"jump('{k}')", "Go to", show=False) for k in JUMP_KEYS),
    ]

    def __init__(self, incident, assessed, started: float | None, now: float, silences=()) -> None:
        super().__init__()
        self.incident = incident
        self.assessed = assessed
        self.started = started
        self.now = now
        self.silences = silences
        self.objects = affected(incident, assessed)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            f = (self.assessed or self.incident.root).finding
            box.border_title = Text(f"{'finding' if self.assessed else 'incident'}: {inert(f.subject)}")
            box.border_subtitle = "1-9 a-z: go to the marked object · enter: its subject · j/k · esc"
            yield Static(detail_text(self.incident, self.assessed, self.started, self.now, self.silences),
                         id="detail-text")

    def action_jump(self, key: str) -> None:
        i = JUMP_KEYS.index(key)
        if i < len(self.objects):
            layer, subject, _ = self.objects[i]
            self.dismiss((layer, subject))
        else:
            self.notify(f"no object {key} here", timeout=2)
