"""Upgrade everything against the sim: `upgrade plan --all` names every item in
order and changes nothing; `upgrade run --all --yes` upgrades every node, CT,
VM, the firewall pair and every Swarm service and leaves `check` at 0; a guest
whose upgrade breaks its service stops the run with that guest rolled back,
the items that ran alongside it (the lanes: console/upgrade/everything_lanes.py)
finished and the items not started untouched; the stopped run is finished
(rolled back), nothing else is changed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json

import pytest

from console.config import load_config
from console.config_model import GuestProbe
from console.sources import build_sources
from console.upgrade.everything_plan import service_rows
from tests.maintenance.conftest import upgraded
from tests.upgrade.conftest import cluster_for, guests, journal_records, probe_url, upgrade

NODES = ("pve1", "pve2", "pve3")
UNINSPECTABLE = {"homeassistant": "not Debian", "jellyfin": "no guest agent and no SSH address"}
NOT_RUN = {"110", "111", "113"}  # homeassistant, jellyfin, the stopped debian-template


def newer_services(lab) -> set[str]:
    async def go() -> set[str]:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            return {r.name for r in await service_rows(sources) if r.pending}
        finally:
            await sources.close()

    return asyncio.run(go())


def started_alongside(recs: list[dict]) -> dict[str, list[str]]:
    """Every item that started, with the items already running then (the journal's item-start records)."""
    return {r["node"]: r["alongside"] for r in recs if r["event"] == "item-start"}


def cluster_tasks(lab) -> list[dict]:
    async def go() -> list[dict]:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            from console.ops.common import pve

            return await pve(sources).cluster_tasks()
        finally:
            await sources.close()

    return asyncio.run(go())


def moved_while_upgraded(lab) -> tuple[set[str], list[str]]:
    """Migrations of a guest that began between its run's snapshot and the snapshot's removal (PVE tasks, lab
    time): the lanes must never upgrade a guest that moves (the run's grace 0 removes the snapshot at G5).
    Returns the guests checked (those with a snapshot) and what moved."""
    tasks = cluster_tasks(lab)
    bad = []
    checked = {str(t.get("id")) for t in tasks if str(t.get("type", "")).endswith("snapshot")}
    for vmid in checked:
        mine = [t for t in tasks if t.get("id") == vmid]
        made = [t["starttime"] for t in mine if t["type"].endswith("snapshot") and "del" not in t["type"]]
        gone = [t["starttime"] for t in mine if "delsnapshot" in t["type"]]
        start, end = min(made), max(gone, default=float("inf"))
        bad += [f"{vmid}: {t['type']} at {t['starttime']} within {start}-{end}" for t in mine
                if t["type"].endswith("migrate") and start <= t["starttime"] < end]
    return checked, bad


def placement(lab) -> dict[int, str]:
    """vmid -> node of every running guest, as the API shows it."""
    async def go() -> dict[int, str]:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            pve = await sources.get("proxmox").fetch()
            return {g.vmid: g.node for g in pve.guests if g.status == "running"}
        finally:
            await sources.close()

    return asyncio.run(go())


def pending_guests(lab) -> dict[str, int]:
    return {vmid: g["pending"] for vmid, g in guests(lab).items() if g.get("pending")}


def test_plan_all_names_every_item_in_order_and_changes_nothing(lab):
    before = guests(lab)
    code, out = upgrade(cluster_for(lab), "plan", "--all", "--json")
    assert code == 0, out[-3000:]
    doc = json.loads(out)
    layers = [i["layer"] for i in doc["items"] if i["action"] == "upgrade"]
    assert layers == sorted(layers, key=("firewalls", "node", "ct", "vm", "service").index), layers
    order = doc["order"]
    assert order[0] == "firewalls" and set(order[1:4]) == set(NODES), order
    assert "200/mail" in order and "201/db" in order and order.index("201/db") > order.index("pve3")
    assert any(o.startswith("service:") for o in order) and order[-1].startswith("service:")
    fw = doc["items"][0]
    assert fw["label"] == "firewalls" and fw["members"][1] == "fw1", fw  # fw1 holds the VIPs: BACKUP goes first
    skipped = {i["label"].split("/")[-1]: i["reason"] for i in doc["items"] if i["action"] == "skipped"}
    for name, why in UNINSPECTABLE.items():
        assert why in skipped.get(name, ""), skipped
    assert doc["counts"]["upgrade"] == len(order)
    assert guests(lab) == before  # nothing changed inside any guest

    lanes = doc["lanes"]
    assert lanes["nodes"] == order[:4] and lanes["services"] == [o for o in order if o.startswith("service:")]
    assert set(lanes["guests"]) == {o for o in order if "/" in o} and doc["max_guests"] == 2
    along = {i["label"]: i["alongside"] for i in doc["items"] if i["action"] == "upgrade"}
    assert along["firewalls"] == ["pve3"], along  # the first node holds no firewall VM; pve1 and pve2 do
    assert "firewalls" not in along["pve1"] and "200/mail" in along["pve1"], along  # mail parks on pve3
    assert "122/swarm2" not in along["121/swarm1"] and "200/mail" in along["121/swarm1"], along  # one Swarm VM
    assert all(not i.startswith("service:") for i in along["121/swarm1"]), along  # images after the Swarm VMs

    code, text = upgrade(cluster_for(lab), "plan", "--all")
    assert code == 0 and text.splitlines()[0].startswith("Upgrade everything on demo:"), text
    assert "Lanes (items of different lanes run at the same time" in text and "[may run alongside: " in text, text
    assert "  1. firewalls" in text and "fw1 (MASTER)" in text and "skipped: not Debian (Home Assistant OS)" in text


def test_plan_needs_a_target_or_all(lab):
    from console.errors import ConsoleError

    with pytest.raises(ConsoleError, match="name one GUEST"):
        upgrade(cluster_for(lab), "plan")
    with pytest.raises(ConsoleError, match="name one GUEST"):
        upgrade(cluster_for(lab), "run", "db", "--all", "--yes")
    with pytest.raises(ConsoleError, match="--return-guests goes with --all"):
        upgrade(cluster_for(lab), "run", "db", "--return-guests", "--yes")


@pytest.mark.slow
def set_failback(lab, sid: str, on: bool) -> None:
    """`ha-manager set SID --failback 0|1` through the API (PVE 9 HA resource option)."""
    async def go() -> None:
        sources = build_sources(load_config(lab.config_path).cluster(None))
        try:
            await sources.get("proxmox")._write("ha set", "put", f"cluster/ha/resources/{sid}", failback=int(on))
        finally:
            await sources.close()

    asyncio.run(go())


def ct_migrations(lab) -> dict[str, int]:
    """Migrations per guest over the run (PVE tasks: hamigrate for HA guests, else vzmigrate/qmigrate)."""
    out: dict[str, int] = {}
    for t in cluster_tasks(lab):
        if t.get("type") in ("hamigrate", "vzmigrate"):
            out[str(t.get("id"))] = out.get(str(t.get("id")), 0) + 1
    return out


def test_run_all_upgrades_every_layer_and_check_is_ok(lab, state_dir, capsys):
    assert newer_services(lab), "the seed lab has a service with a newer image"
    lab.back_up_all()  # the seed has a stale and a never backed-up guest: `check` must end at 0 from the upgrade alone
    # db's HA rule prefers pve2: with failback on (PVE's default) the CRM brings it back when pve2 is
    # back, a second restart-migration; with failback off it stays where the run put it
    set_failback(lab, "ct:201", False)
    home = placement(lab)
    code, out = upgrade(cluster_for(lab, grace=0), "run", "--all", "--yes")
    assert code == 0, out[-4000:]
    moves = ct_migrations(lab)
    assert moves.get("201") == 1 and moves.get("200") == 1, moves  # each CT restart-migrated once in the run
    assert "guests left where the run placed them" in out, out[-3000:]
    now = placement(lab)
    assert now[200] != home[200], (home, now)  # mail stays where pve1's drain parked it (no second restart)
    assert all(upgraded(lab, n) for n in NODES), lab.state()["nodes"]
    left = pending_guests(lab)
    assert set(left) <= NOT_RUN, left  # every CT, VM and firewall that can be read is up to date
    assert not newer_services(lab)
    recs = journal_records(state_dir)
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    alongside = started_alongside(recs)
    assert any(a for i, a in alongside.items() if "/" in i), alongside  # guests ran alongside other items
    checked, moved = moved_while_upgraded(lab)
    assert checked >= {"101", "102", "200", "201", "112", "121", "122", "123"} and not moved, (checked, moved)
    from console.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--config", str(lab.config_path), "check"]) == 0, buf.getvalue()


@pytest.mark.slow
def test_run_all_with_return_guests_ends_with_every_guest_home(lab, state_dir):
    home = placement(lab)
    code, out = upgrade(cluster_for(lab, grace=0), "run", "--all", "--yes", "--return-guests", "--json")
    assert code == 0, out[-4000:]
    doc = json.loads(out)
    assert doc["state"] == "done" and doc["return_guests"] is True, doc
    assert doc["guests"]["returned"] is True and doc["guests"]["away"] == [], doc["guests"]
    now = placement(lab)
    assert {v: now.get(v) for v in home if v in now} == {v: n for v, n in home.items() if v in now}, (home, now)
    assert set(home) - set(now) <= {111}, (home, now)  # jellyfin (PCI passthrough) stops for its node's reboot
    recs = journal_records(state_dir)
    assert recs[0]["options"] == {"return_guests": True} and recs[-1]["state"] == "done", recs[0]
    assert set(pending_guests(lab)) <= NOT_RUN and all(upgraded(lab, n) for n in NODES)


@pytest.mark.slow
def test_a_broken_guest_stops_the_run_with_it_rolled_back_and_the_rest_untouched(lab, state_dir):
    # mail is upgraded alongside pve1's maintenance (it sits on pve3, upgraded, from pve1's drain on)
    lab.control("guest-upgrade-breaks-service", 200)
    cluster = cluster_for(lab, (GuestProbe("200", http=(probe_url(lab, 200),)),), grace=0)
    before = pending_guests(lab)
    code, out = upgrade(cluster, "run", "--all", "--yes", "--json")  # progress on stderr, the outcome on stdout
    assert code == 1, out[-4000:]
    doc = json.loads(out)
    assert doc["state"] == "rolled_back" and doc["exit_code"] == 1 and doc["stopped_at"] == "200/mail", doc
    assert "checks fail after the upgrade" in doc["error"], doc
    states = {i["item"]: i["state"] for i in doc["items"]}
    recs = journal_records(state_dir)
    started = started_alongside(recs)
    assert "pve1" in started["200/mail"], started  # it ran alongside the node lane
    mail = guests(lab)["200"]
    assert mail["pending"] == before["200"] and not mail["broken"], mail  # back on its snapshot
    # what ran alongside it went on to its end; what had not started was not touched
    assert {i: s for i, s in states.items() if i in started and i != "200/mail"} == {
        i: "done" for i in started if i != "200/mail"}, states
    pending = [i for i, s in states.items() if s == "pending"]
    assert pending and set(pending).isdisjoint(started), (pending, started)
    assert all(upgraded(lab, n) == (n in started) for n in NODES), (lab.state()["nodes"], started)
    after = pending_guests(lab)
    for label in states:
        vmid = label.split("/")[0]
        if vmid.isdigit():
            assert (after.get(vmid) == before[vmid]) == (label not in started or label == "200/mail"), label
    assert newer_services(lab) and "service:grafana" in pending
    assert recs[-1]["state"] == "rolled_back"


@pytest.mark.slow
def test_a_stopped_run_resumes_at_the_item_where_it_stopped(lab, state_dir):
    lab.control("snapshot-fails", 200)
    cluster = cluster_for(lab, grace=0)
    code, out = upgrade(cluster, "run", "--all", "--yes", "--on-failure", "stop")
    assert code == 1 and "200/mail: failed" in out and "upgrade resume" in out, out[-3000:]
    recs = journal_records(state_dir)
    started = started_alongside(recs)
    done_before = [r["node"] for r in recs if r["event"] == "node-done"]
    assert set(done_before) == set(started) - {"200/mail"}, (done_before, started)  # the rest ran to its end
    assert guests(lab)["200"]["pending"] == 7 and guests(lab)["201"]["pending"]  # not touched, nor db (later)

    lab.clear("snapshot-fails", 200)
    code, out = upgrade(cluster, "resume")
    assert code == 0, out[-3000:]
    assert out.startswith("resume run ") and "item 200/mail state failed" in out, out[:300]
    recs = journal_records(state_dir)
    done = [r["node"] for r in recs if r["event"] == "node-done"]
    assert done[:len(done_before)] == done_before and len(done) == len(set(done))  # nothing done twice
    assert recs[-1]["event"] == "run-end" and recs[-1]["state"] == "done"
    assert set(pending_guests(lab)) <= NOT_RUN and not newer_services(lab)
    assert upgrade(cluster, "resume") == (0, "no unfinished upgrade run of this cluster\n")


def test_the_updates_session_reads_everything_and_refuses_to_run_read_only(lab):
    from console.errors import ConsoleError
    from console.upgrade.everything_session import UpdatesSession

    async def go() -> UpdatesSession:
        cluster = cluster_for(lab)
        sources = build_sources(cluster)
        try:
            s = UpdatesSession(cluster, sources, read_only=True)
            await s.refresh()
            with pytest.raises(ConsoleError, match="read-only"):
                await s.start()
            return s
        finally:
            await sources.close()

    s = asyncio.run(go())
    assert s.phase == "ready" and s.plan is not None and s.message.startswith("11 item(s) to upgrade"), s.message
    by_kind = {(r.kind, r.name): r for r in s.rows}
    assert s.item_for(by_kind[("firewall", "fw2")]) == "firewalls"
    assert s.item_for(by_kind[("vm", "homeassistant")]) is None  # skipped: not Debian
    assert guests(lab)["200"]["pending"] == 7


def test_one_rows_item_from_the_view_a_crashing_image_is_rolled_back_by_swarm(lab, state_dir):
    from console.ops.swarm import find_service
    from console.upgrade.everything_session import UpdatesSession
    from tests.upgrade.conftest import SCALE, TIMEOUTS

    lab.control("image-crash", "traefik/whoami:v1.10.3")  # the tag now points at an image whose tasks exit

    async def go() -> tuple[UpdatesSession, str | None, str | None]:
        cluster = cluster_for(lab)
        sources = build_sources(cluster)
        try:
            before = (await find_service(sources, "whoami")).spec.digest
            s = UpdatesSession(cluster, sources, read_only=False, poll=0.2, scale=SCALE, timeouts=dict(TIMEOUTS))
            await s.refresh()
            await s.start("service:whoami")
            return s, before, (await find_service(sources, "whoami")).spec.digest
        finally:
            await sources.close()

    s, before, after = asyncio.run(go())
    assert s.outcome == "rolled_back", "\n".join(s.lines)
    assert after == before  # Swarm returned it to the image it ran
    text = "\n".join(s.lines)
    assert "rolled back by Swarm" in text and "↺ service:whoami: rolled back" in text, text
    recs = journal_records(state_dir)
    assert recs[0]["nodes"] == ["service:whoami"] and recs[-1]["state"] == "rolled_back"
    assert guests(lab)["200"]["pending"] == 7  # nothing else was touched
