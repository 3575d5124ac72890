"""Text from the cluster is inert in every operations result and in the headless output."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.text import Text

from console.hostile_corpus import CORPUS
from console.ops.backups import job_from
from console.ops.guests import guest_from
from console.ops.tasks import task_from


def _clean(s: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u200d\u2066" for c in s)


@pytest.mark.parametrize("bad", CORPUS)
def test_names_jobs_and_tasks_become_inert(bad):
    g = guest_from({"vmid": 101, "name": bad, "type": "qemu", "node": bad, "status": "running", "lock": bad,
                    "tags": f"a;{bad}"}, set())
    j = job_from({"id": bad, "storage": bad, "vmid": "101", "schedule": bad, "comment": bad})
    t = task_from({"upid": bad, "node": bad, "type": bad, "id": bad, "user": bad, "status": bad, "starttime": 1,
                   "endtime": 2})
    for s in (g.name, g.node, g.lock, *g.tags, j.id, j.storage, j.schedule, j.comment, t.upid, t.status, t.user):
        assert _clean(s), repr(s)


def test_markup_in_data_is_printed_literally():
    g = guest_from({"vmid": 101, "name": "[bold red]x[/]", "type": "qemu", "node": "pve1"}, set())
    out = io.StringIO()
    Console(file=out, highlight=False, width=200).print(Text(g.label))
    assert "[bold red]x[/]" in out.getvalue()
