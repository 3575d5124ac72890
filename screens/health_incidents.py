"""Rows of the Health screen's incident list: one row per incident (collapsed), its
impact and effects beneath it when expanded, and how long ago it started (AGE, from
the event timeline: console.incident_start). Effects a maintenance run causes on
purpose, and silenced ones, are dimmed. Pure: no Textual."""

from __future__ import annotations

from widgets.format import duration, mark
from widgets.table_columns import Column, Row, Within

COLUMNS = (
    Column("severity", "SEV", min_width=6, max_width=6),
    Column("layer", "LAYER", min_width=5, max_width=7, priority=2),
    Column("subject", "SUBJECT", min_width=6, max_width=16),
    Column("text", "INCIDENT", min_width=40, max_width=90, stretch=True),  # at 80 columns the hint goes first
    Column("age", "AGE", min_width=4, max_width=6, align="right", priority=1),
    Column("hint", "HINT", min_width=10, max_width=60, priority=3),
)
SEVERITY = {"critical": ("bad", "crit", 0), "unknown": ("unknown", "unkn", 1),
            "warning": ("warn", "warn", 2), "info": ("off", "info", 3)}


def _sev_cell(a) -> tuple[str, str]:
    if a.silenced_by:
        return mark("off", "sil")
    if a.expected_run:
        return mark("off", "exp")
    level, word, _ = SEVERITY.get(a.counted, ("unknown", a.counted, 1))
    return mark(level, word)


def finding_key(f) -> str:
    return f"{f.layer}|{f.subject}|{f.text}"


def incident_rows(incidents, expanded: set[str], silences=(), starts: dict[str, float] | None = None,
                  now: float = 0.0) -> tuple[list[Row], dict[str, tuple]]:
    """(rows, key -> (incident, the Assessed finding of the row or None for the incident itself)).
    Incident rows have the incident's key; an incident row's sort values keep its effects right
    under it under any column sort. `starts`: incident key -> epoch start; `now`: epoch seconds."""
    rows: list[Row] = []
    targets: dict[str, tuple] = {}
    starts = starts or {}
    by_id = {s.id: s for s in silences}
    for n, inc in enumerate(incidents):
        root = inc.root.finding
        level, word, rank = SEVERITY.get(inc.severity, ("unknown", inc.severity, 1))
        is_open = inc.key in expanded
        count = len(inc.effects)
        arrow = ("▾ " if is_open else "▸ ") if count or inc.impact else "  "
        text = f"{arrow}{root.text}" + (f"  [+{count}]" if count and not is_open else "")
        if not is_open and inc.impact:
            text += f"  {inc.impact[0]}"
        sev = _sev_cell(inc.root) if (inc.root.silenced_by or inc.root.expected_run and root.severity != "info") \
            else mark(level, word)
        silence = by_id.get(inc.root.silenced_by) if inc.root.silenced_by else None
        hint = f"silenced: {silence.reason}" if silence is not None else (root.hint or "")
        started = starts.get(inc.key)
        age = duration(max(0.0, now - started)) if started is not None else ""
        # per column: the incident's own value, then the story's order, then the row within the incident
        own = (rank, root.layer.lower(), root.subject.lower(), root.text.lower(),
               -started if started is not None else float("inf"), hint.lower())
        group = tuple((v, rank, n) for v in own)
        rows.append(Row(inc.key, (sev, root.layer, root.subject, text, age, hint),
                        tuple(Within(g, 0) for g in group), "dim" if inc.root.silenced_by else ""))
        targets[inc.key] = (inc, None)
        if not is_open:
            continue
        for k, line in enumerate(inc.impact, 1):
            rows.append(Row(f"{inc.key}#impact{k}", ("", "", "", f"   impact: {line}", "", ""),
                            tuple(Within(g, k) for g in group), "bold"))
            targets[f"{inc.key}#impact{k}"] = (inc, None)
        base = len(inc.impact) + 1
        for k, a in enumerate(inc.effects):
            f = a.finding
            key = f"{inc.key}>{finding_key(f)}"
            dim = a.expected_run or a.silenced_by
            rows.append(Row(key, (_sev_cell(a), f.layer, f.subject, f"   └ {f.text}", "", f.hint or ""),
                            tuple(Within(g, base + k) for g in group), "dim" if dim else ""))
            targets[key] = (inc, a)
    return rows, targets


def silence_line(silences, now: float) -> str:
    if not silences:
        return ""
    parts = [f"{s.subject} ({s.reason}, {s.remaining(now)} left)" for s in silences[:4]]
    more = f" and {len(silences) - 4} more" if len(silences) > 4 else ""
    return "silenced: " + " · ".join(parts) + more + "   (labconsole silence list)"
