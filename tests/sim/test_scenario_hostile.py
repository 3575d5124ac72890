"""The `hostile` scenario: the corpus is wherever someone can write text, the lab still works,
and the seed scenario does not carry any of it."""

from __future__ import annotations

import json

import pytest

from console.hostile_corpus import CORPUS, OSC_TITLE
from console.sim.pve_render import cluster_resources
from console.sim.world import World


@pytest.fixture
def w() -> World:
    return World("hostile", speed=10_000, manual_clock=True)


def _text_of(w: World) -> str:
    parts = [g.name for g in w.guests.values()] + [t for g in w.guests.values() for t in g.tags]
    parts += [s.name for s in w.services.values()] + [json.dumps(s.spec["Labels"], ensure_ascii=False)
                                                      for s in w.services.values()]
    parts += [r.name for r in w.routers] + [r.rule or "" for r in w.routers]
    parts += [f.iname for f in w.firewalls.values()]
    return "\n".join(parts)


def test_every_corpus_entry_reaches_names_tags_services_and_routers(w):
    guests = [g.name for g in w.guests.values()]
    routers = [r.name for r in w.routers]
    for entry in CORPUS:
        assert any(entry in name for name in guests), entry
        assert any(entry in name for name in routers), entry
    assert any(OSC_TITLE in s.name for s in w.services.values())
    assert all(OSC_TITLE in f.iname for f in w.firewalls.values())


def test_the_lab_still_converges(w):
    status, checks = w.ceph_health()
    assert status == "HEALTH_WARN" and [c["code"] for c in checks] == ["HOSTILE_CHECK"]
    running = {t.service_id for t in w.tasks.values() if t.state == "running"}
    assert running == set(w.services)  # every service, hostile-named ones too, has a running task
    assert w.vip_holder() == ["fw1"]


def test_service_logs_carry_the_corpus_and_colours(w):
    whoami = next(s for s in w.services.values() if s.name == "whoami")
    lines = [text for _, text in w.service_logs(whoami.id, tail=200)]
    assert any(OSC_TITLE in line for line in lines)
    assert any("\x1b[31;1mERROR" in line for line in lines)


async def test_dist_upgrade_prints_hostile_package_names_and_script_output(w):
    lines: list[str] = []
    code = await w.dist_upgrade("pve1", lines.append)
    text = "\n".join(lines)
    assert code == 0
    assert OSC_TITLE in text and "\x00" in text and "\r" in text
    assert any(line.startswith("Setting up evil") for line in lines)


def test_json_answers_stay_valid_json(w):
    body = json.dumps({"data": cluster_resources(w, None)})
    assert "\x1b" not in body and "\x00" not in body  # escaped, as every JSON encoder does
    assert any(OSC_TITLE in r.get("name", "") for r in json.loads(body)["data"])


def test_seed_carries_none_of_it():
    text = _text_of(World("seed", manual_clock=True))
    assert text.replace("\n", "").isprintable()
    for entry in CORPUS:
        assert entry not in text
