"""The guest keys (issue 11 items 1, 2, 11) driven in the TUI against the simulated lab, through the real
sources: start, clean shutdown, reboot, hard stop with a typed confirmation, the migrate dialog, a batch of
three marked guests with the queue's per-item results, snapshots (take, roll back, delete) and read-only
refusals. Each action must reach the lab (the next poll shows it) and the command log.

One lab for the module (speed 20: a live migration takes 0.4 s); each test acts on its own guests."""

from __future__ import annotations

import json
import os

import pytest

from console.app import ConsoleApp
from console.config import load_config
from console.sources import build_hub
from screens.guest_modals import MigrateModal, TypedConfirmModal
from screens.modals import ConfirmModal
from screens.operate import InputModal
from screens.snapshots import SnapshotFormModal, SnapshotsModal
from tests.simlab import SimLab
from widgets.batch_queue import BatchQueue
from widgets.fast_table import FastTable

from .helpers import notes, screen_text

pytestmark = pytest.mark.slow
SIZE = (120, 36)


@pytest.fixture(scope="module")
def lab():
    with SimLab("seed", speed=20.0) as lab:
        yield lab


def make_app(lab, read_only: bool = False, ui_read_only: bool | None = None) -> ConsoleApp:
    """read_only: the sources refuse writes; ui_read_only (default: the same): the console knows it."""
    config = load_config(lab.config_path)
    ui = read_only if ui_read_only is None else ui_read_only
    return ConsoleApp(config, None, lambda c: build_hub(c, read_only=read_only), start_polling=False, read_only=ui)


async def poll_pve(app, pilot) -> None:
    app.hub.publish(await app.hub.pollers["proxmox"].poll_once())
    await pilot.pause()


async def guests_view(app, pilot, vmid: int | None = None) -> FastTable:
    await poll_pve(app, pilot)
    await pilot.press("2")
    await pilot.pause()
    table = app.screen.query_one("#guests", FastTable)
    if vmid is not None:
        assert table.move_cursor_to_key(guest_key(app, vmid))
    return table


def guest_key(app, vmid: int) -> str:
    return next(g.key for g in app.snapshots["proxmox"].data.guests if g.vmid == vmid)


def guest(app, vmid: int):
    return next(g for g in app.snapshots["proxmox"].data.guests if g.vmid == vmid)


async def settle(app, pilot) -> None:
    """Every queued action followed to its end, then a fresh poll."""
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)  # the queue panel redraws on a short timer
    await poll_pve(app, pilot)


def log_records(state_dir) -> list[dict]:
    path = state_dir / "command-log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def queue_rows(app):
    return app.screen.query_one(BatchQueue).rows


async def test_start_then_clean_shutdown_with_its_timeout(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 113)  # debian-template, stopped
        assert guest(app, 113).status == "stopped"
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.question == "Start VM 113 (debian-template) on pve3."  # the ops layer's sentence
        await pilot.press("y")
        await settle(app, pilot)
        assert guest(app, 113).status == "running"
        assert queue_rows(app)[-1].state == "done"
        assert "start VM 113 (debian-template)" in screen_text(app)  # the queue stays on screen

        await pilot.press("ctrl+w")
        await pilot.pause()
        assert isinstance(app.screen, InputModal) and "how many seconds" in app.screen.question
        await pilot.press("backspace", "backspace", "backspace", "3", "0", "enter")
        await pilot.pause()
        assert "cleanly (ACPI / init), within 30 s; it stays off" in app.screen.question
        await pilot.press("y")
        await settle(app, pilot)
        assert guest(app, 113).status == "stopped"
    calls = [r["call"] for r in log_records(state_dir)]
    assert "POST nodes/pve3/qemu/113/status/start" in calls
    assert "POST nodes/pve3/qemu/113/status/shutdown" in calls
    assert any(r["kind"] == "task" and r["ok"] and "shutdown" in r["action"] for r in log_records(state_dir))


async def test_reboot_follows_the_task_and_reports(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 121)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert "Reboot VM 121 (swarm1) on pve1: a clean shutdown, then a start." == app.screen.question
        await pilot.press("y")
        await settle(app, pilot)
        assert queue_rows(app)[-1].state == "done"
        assert any(n.startswith("reboot 121: done") for n in notes(app))
        assert guest(app, 121).status == "running"
    assert any(r["call"] == "POST nodes/pve1/qemu/121/status/reboot" for r in log_records(state_dir))


async def test_hard_stop_needs_the_typed_vmid_or_name(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 123)
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmModal)
        assert app.screen.sentence.startswith("STOP VM 123 (swarm3) on pve3 at once")
        await pilot.press("y", "enter")  # a 'y' is not a confirmation here
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmModal) and "that is not" in screen_text(app)
        assert log_records(state_dir) == []
        await pilot.press("backspace", *"swarm3", "enter")
        await settle(app, pilot)
        assert guest(app, 123).status == "stopped"
    assert any(r["call"] == "POST nodes/pve3/qemu/123/status/stop" for r in log_records(state_dir))


async def test_migrate_dialog_lists_targets_and_preconditions(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 111)  # jellyfin: a PCI device on pve3
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, MigrateModal)
        text = screen_text(app)
        assert "local resources: hostpci0" in text and "cannot move now" in text
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, ConfirmModal)  # refused before the question
        assert any("uses local resources (hostpci0)" in n for n in notes(app))

        table = app.screen.query_one("#guests", FastTable)
        assert table.move_cursor_to_key(guest_key(app, 112))  # backup-server on pve2
        await pilot.press("ctrl+g")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, MigrateModal)
        assert [t[0] for t in modal.targets] == ["pve1", "pve3"]
        assert "free" in screen_text(app) and "live (online): no downtime" in screen_text(app)
        await pilot.press("down", "enter")  # pve3
        await pilot.pause()
        assert app.screen.question == "Migrate VM 112 (backup-server) from pve2 to pve3, live, without downtime."
        await pilot.press("y")
        await settle(app, pilot)
        assert guest(app, 112).node == "pve3"
        done = queue_rows(app)[-1]
        assert done.state == "done" and "-> pve3" in done.what
    assert any(r["call"] == "POST nodes/pve2/qemu/112/migrate" for r in log_records(state_dir))


async def test_batch_of_three_marked_guests_with_the_queue(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await guests_view(app, pilot)
        table.focus()
        for vmid in (102, 122, 201):
            assert table.move_cursor_to_key(guest_key(app, vmid))
            await pilot.press("space")
        await pilot.pause()
        assert table.marked_keys() == [guest_key(app, v) for v in (102, 122, 201)]
        assert "●3 marked" in str(table.border_title)
        table.set_filter("swarm")  # marks survive a filter and a sort
        table.sort_by("name")
        await pilot.pause()
        assert len(table.marked_keys()) == 3
        table.set_filter("")
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert "Reboot 3 guests, at most 3 at once" in app.screen.question
        assert "201 (db), 102 (fw2), 122 (swarm2)" in app.screen.question  # in the order shown (by name)
        await pilot.press("y")
        await pilot.pause()
        assert {r.state for r in queue_rows(app)} <= {"queued", "running", "done"}
        await settle(app, pilot)
        rows = queue_rows(app)
        assert [r.state for r in rows] == ["done"] * 3
        assert any("3 done, 0 failed" in n for n in notes(app))
        assert len(table.marked_keys()) == 3  # still marked after the refresh
        await pilot.press("escape")  # esc clears the marks first
        assert table.marked_keys() == []
        await pilot.press("ctrl+l")
        await pilot.pause(0.2)
        assert queue_rows(app) == ()
    reboots = [r for r in log_records(state_dir) if r["call"].endswith("/status/reboot")]
    assert len(reboots) == 3


async def test_snapshot_take_roll_back_and_delete(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 110)  # homeassistant, a VM
        await pilot.press("z")
        await pilot.pause()
        await app.workers.wait_for_complete()
        modal = app.screen
        assert isinstance(modal, SnapshotsModal)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen, SnapshotFormModal)
        await pilot.press(*"1bad", "enter")
        await pilot.pause()
        assert "must start with a letter" in screen_text(app)
        for _ in "1bad":
            await pilot.press("backspace")
        await pilot.press(*"before-upgrade", "tab", *"pre 9.1", "tab", "space", "enter")
        await pilot.pause()
        assert app.screen.question == ("Take snapshot 'before-upgrade' (pre 9.1) of VM 110 (homeassistant) "
                                       "including its RAM.")
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert modal.listing is not None and [s.name for s in modal.listing.snapshots] == ["ha-2024-11",
                                                                                          "before-upgrade"]
        assert modal.listing.snapshots[1].vmstate and modal.listing.snapshots[1].parent == "ha-2024-11"
        text = screen_text(app)  # the tree: the new one under its parent, the running state under it
        assert "  └ before-upgrade" in text and "    └ ● now" in text and "pre 9.1" in text

        assert modal.table.move_cursor_to_key("before-upgrade")
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert "Roll VM 110 (homeassistant) back to snapshot 'before-upgrade': stop it (PVE does)" in \
            app.screen.question and "it runs again after (the snapshot has its RAM)" in app.screen.question
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert app.screen.question == ("Delete snapshot 'before-upgrade' of VM 110 (homeassistant) "
                                       "(the guest keeps running).")
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert [s.name for s in modal.listing.snapshots] == ["ha-2024-11"]
        await pilot.press("escape")
    calls = [r["call"] for r in log_records(state_dir)]
    assert "POST nodes/pve1/qemu/110/snapshot" in calls
    assert "POST nodes/pve1/qemu/110/snapshot/before-upgrade/rollback" in calls
    assert "DELETE nodes/pve1/qemu/110/snapshot/before-upgrade" in calls


async def test_read_only_refuses_every_guest_key(lab, state_dir):
    app = make_app(lab, read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await guests_view(app, pilot, 112)
        for key in ("ctrl+o", "ctrl+w", "ctrl+e", "ctrl+k", "ctrl+g", "ctrl+n"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, (ConfirmModal, TypedConfirmModal, MigrateModal, InputModal)), key
        await pilot.press("space", "ctrl+e")  # a batch too
        await pilot.pause()
        assert table.marked_keys()
        await pilot.press("z")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, SnapshotsModal)  # reading them is fine
        for key in ("ctrl+t", "ctrl+b", "ctrl+d"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, SnapshotsModal), key
        refused = [n for n in notes(app) if n.startswith("read-only: refused")]
        assert len(refused) == 10, refused
        assert "(read-only)" in refused[0]
    assert log_records(state_dir) == []
    assert not os.path.exists(state_dir / "command-log.jsonl")


async def test_read_only_below_the_ui_fails_the_queued_item(lab, state_dir):
    """Sources read-only but the UI not told (a bug elsewhere): the ops layer still refuses, nothing is sent."""
    app = make_app(lab, read_only=True, ui_read_only=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 113)
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        row = queue_rows(app)[-1]
        assert row.state == "failed" and "refused: start VM 113 (debian-template) (read-only mode)" in row.message
        assert any(n.startswith("start 113 failed: refused") for n in notes(app))
    assert log_records(state_dir) == []


async def test_detail_pane_shows_config_snapshots_and_backup(lab):
    app = make_app(lab)
    async with app.run_test(size=(140, 44)) as pilot:
        await guests_view(app, pilot, 110)  # homeassistant: HA, one snapshot in the seed lab
        await pilot.press("d")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane = str(app.screen.query_one("#guest-detail").render())
        assert "scsi0 ceph-vm:vm-110-disk-0 32G" in pane
        assert "net0 vmbr0 untagged virtio" in pane
        assert "snapshots 1" in pane
        assert "HA        started" in pane
        assert "addresses\n ens18 10.0.100.111/24" in pane  # from the guest agent
        assert "backup    " in pane and " ago on " in pane


async def test_evacuate_the_node_of_the_cursor_guest(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await guests_view(app, pilot, 111)  # jellyfin on pve3: its PCI device keeps it there
        await pilot.press("ctrl+n")
        for _ in range(100):  # the plan reads every guest's preconditions first
            if isinstance(app.screen, ConfirmModal):
                break
            await pilot.pause(0.05)
        question = app.screen.question
        assert question.startswith("Move ") and " off pve3: " in question
        assert "staying: 111 (local resources (hostpci0))" in question and "At most 3 at once." in question
        await pilot.press("y")
        await settle(app, pilot)
        rows = queue_rows(app)
        assert rows and all(r.state == "done" for r in rows), rows
        assert [g.vmid for g in app.snapshots["proxmox"].data.guests if g.node == "pve3"] == [111]
    assert all(r["call"].endswith("/migrate") for r in log_records(state_dir) if r["kind"] == "api")


async def test_batch_migrate_picks_one_target_for_the_marked_guests(lab, state_dir):
    app = make_app(lab)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await guests_view(app, pilot)
        table.focus()
        for vmid in (121, 122):  # swarm1 on pve1, swarm2 on pve2
            assert table.move_cursor_to_key(guest_key(app, vmid))
            await pilot.press("space")
        await pilot.press("ctrl+g")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, MigrateModal) and modal.title_text == "migrate 2 guests"
        assert [t[0] for t in modal.targets] == ["pve1", "pve2", "pve3"]
        assert "each is checked as it goes" in screen_text(app)
        modal.query_one("OptionList").highlighted = 2
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.question.startswith("Migrate 2 guests to pve3, at most 3 at once")
        await pilot.press("y")
        await settle(app, pilot)
        assert [r.state for r in queue_rows(app)] == ["done", "done"]
        assert guest(app, 121).node == guest(app, 122).node == "pve3"
    moved = sorted(r["call"] for r in log_records(state_dir) if r["call"].endswith("/migrate"))
    assert moved == ["POST nodes/pve1/qemu/121/migrate", "POST nodes/pve2/qemu/122/migrate"]
