"""SVG snapshots of every screen at 80x24 and 160x48 (frozen clock, fake seed lab).

Regenerate after a deliberate change with:
    .venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update
and look at the report before committing the new SVGs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

VIEWS = {"health": "1", "guests": "2", "ceph": "3", "swarm": "4", "traefik": "5", "vrrp": "6"}
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


async def first_poll(pilot) -> None:
    await pilot.app.hub.poll_all_once()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", VIEWS)
def test_screen(snap_compare, make_app, view, size):
    assert snap_compare(make_app(), press=[VIEWS[view]], terminal_size=SIZES[size], run_before=first_poll)


def test_faults_on_health_80x24(snap_compare, make_app, lab, clock):
    """Split brain, a down OSD and a failing Traefik source, as the operator sees them first."""
    v = lab.data["vrrp"]
    lab.update("vrrp", firewalls=tuple(replace(fw, instances=(replace(fw.instances[0], state="MASTER"),))
                                       for fw in v.firewalls))
    osds = lab.data["ceph"].osds
    lab.update("ceph", health="HEALTH_WARN", osds=(osds[0], replace(osds[1], up=False), osds[2]), num_up_osds=2,
               checks=(lab.data["ceph"].checks + (_osd_down_check(),)))

    async def run_before(pilot) -> None:
        await first_poll(pilot)
        lab.failures["traefik"] = "connection refused (is Traefik's API enabled?)"
        clock.now += 30
        await first_poll(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_stale_ceph_160x48(snap_compare, make_app, lab, clock):
    async def run_before(pilot) -> None:
        await first_poll(pilot)
        lab.failures["ceph"] = "no answer within 5 s"
        clock.now += 47
        await first_poll(pilot)

    assert snap_compare(make_app(), press=["3"], terminal_size=(160, 48), run_before=run_before)


def _osd_down_check():
    from console.model import CephCheck

    return CephCheck("OSD_DOWN", "HEALTH_WARN", "1 osds down", ("osd.1 (root=default,host=pve2) is down",))
