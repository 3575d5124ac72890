"""Node software in the World: apt update, dist-upgrade, kernels, pins, downgrade, ZFS rollback."""

from __future__ import annotations

import pytest

from console.sim.world import SimCommandFailed, World


@pytest.fixture
def w() -> World:
    return World("seed", speed=10_000, manual_clock=True)  # speed only shortens the output pauses


async def upgrade(w: World, node: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await w.dist_upgrade(node, lines.append)
    return code, lines


def reboot(w: World, node: str) -> None:
    w.reboot_node(node)
    w.advance(w.duration("node_shutdown") + w.duration("reboot") + 1)
    assert w.nodes[node].status == "online"


def test_apt_update_fills_upgradable_from_repo(w):
    n = w.nodes["pve2"]
    n.upgradable = {}
    upid = w.apt_update("pve2")
    assert ":aptupdate:" in upid
    w.advance(5)
    assert w.pve_tasks[upid].exitstatus == "OK"
    assert n.upgradable["pve-manager"] == "8.2.5"
    assert n.upgradable["proxmox-kernel-6.8.12-5-pve-signed"] == "6.8.12-5"
    assert "corosync" not in n.upgradable  # not newer in the repository
    assert n.apt_updated_at == w.pve_tasks[upid].endtime


async def test_dist_upgrade_then_reboot_boots_new_kernel(w):
    code, lines = await upgrade(w, "pve1")
    assert code == 0
    assert "Unpacking pve-manager (8.2.5) over (8.2.4) ..." in lines
    assert any("Copying and configuring kernels" in line for line in lines)
    n = w.nodes["pve1"]
    assert n.packages["pve-manager"] == "8.2.5" and n.upgradable == {}
    assert n.kernels == ["6.8.12-4-pve", "6.8.12-5-pve"]
    assert n.kernel == "6.8.12-4-pve"  # running kernel changes only on reboot
    reboot(w, "pve1")
    assert n.kernel == "6.8.12-5-pve" and n.pve_version == "8.2.5"
    assert "pve1" not in w.verify_failed


async def test_dist_upgrade_failure_exits_100_and_changes_nothing(w):
    w.inject("apt-fail", "pve2")
    before = dict(w.nodes["pve2"].packages)
    code, lines = await upgrade(w, "pve2")
    assert code == 100
    assert lines[-1].startswith("E: Unable to fetch some archives")
    assert w.nodes["pve2"].packages == before
    w.clear("apt-fail", "pve2")
    assert (await upgrade(w, "pve2"))[0] == 0


async def test_download_only_fetches_into_the_cache_and_installs_nothing(w):
    n = w.nodes["pve1"]
    before = dict(n.packages)
    lines: list[str] = []
    assert await w.dist_upgrade("pve1", lines.append, download_only=True) == 0
    assert n.packages == before and n.upgradable  # nothing installed, still pending
    assert lines[-1] == "Download complete and in download only mode"
    gets = [line for line in lines if line.startswith("Get:")]
    assert len(gets) == len(n.upgradable)
    fetched = next(line for line in lines if line.startswith("Fetched "))
    assert f"in {w.duration('apt_fetch'):.0f}s" in fetched
    # the install then fetches nothing: the archives are in the cache
    code, again = await upgrade(w, "pve1")
    assert code == 0 and n.packages["pve-manager"] == "8.2.5"
    assert not [line for line in again if line.startswith(("Get:", "Fetched "))]
    assert any(line.startswith("Need to get 0.0 MB/") for line in again)


async def test_pinned_kernel_boots_and_next_boot_pin_is_dropped(w):
    await upgrade(w, "pve3")
    w.kernel_pin("pve3", "6.8.12-4-pve", next_boot=True)
    reboot(w, "pve3")
    assert w.nodes["pve3"].kernel == "6.8.12-4-pve"
    assert w.nodes["pve3"].pinned_kernel is None
    reboot(w, "pve3")
    assert w.nodes["pve3"].kernel == "6.8.12-5-pve"
    w.kernel_pin("pve3", "6.8.12-4-pve")
    reboot(w, "pve3")
    reboot(w, "pve3")
    assert w.nodes["pve3"].kernel == "6.8.12-4-pve"  # a permanent pin stays
    w.kernel_unpin("pve3")
    reboot(w, "pve3")
    assert w.nodes["pve3"].kernel == "6.8.12-5-pve"
    with pytest.raises(SimCommandFailed):
        w.kernel_pin("pve3", "5.15.0-1-pve")


async def test_bad_kernel_boots_but_fails_verification_until_old_kernel(w):
    w.inject("bad-kernel", "pve1")
    await upgrade(w, "pve1")
    reboot(w, "pve1")
    n = w.nodes["pve1"]
    assert n.status == "online" and n.kernel == "6.8.12-5-pve"
    assert "pve1" in w.verify_failed
    assert n.pve_version == "8.2.4" != n.packages["pve-manager"]  # pveversion mismatch
    w.advance(30)
    assert not w.osds[0].up  # its OSD does not come up
    assert "OSD_DOWN" in {c["code"] for c in w.ceph_health()[1]}
    w.kernel_pin("pve1", "6.8.12-4-pve", next_boot=True)
    reboot(w, "pve1")
    w.advance(5)
    assert "pve1" not in w.verify_failed and w.osds[0].up


async def test_no_return_node_stays_offline_until_cleared(w):
    w.inject("no-return", "pve2")
    w.reboot_node("pve2")
    w.advance(120)
    assert w.nodes["pve2"].status == "offline"
    w.clear("no-return", "pve2")
    w.advance(1)
    assert w.nodes["pve2"].status == "offline"  # clearing powers it on: it boots first
    w.advance(w.duration("reboot"))
    assert w.nodes["pve2"].status == "online"


async def test_zfs_rollback_restores_packages_and_kernels(w):
    n = w.nodes["pve1"]
    before_pkgs, before_kernels = dict(n.packages), list(n.kernels)
    w.zfs_snapshot("pve1", "labconsole-pre-upgrade")
    with pytest.raises(SimCommandFailed):
        w.zfs_snapshot("pve1", "labconsole-pre-upgrade")
    await upgrade(w, "pve1")
    w.zfs_snapshot("pve1", "after")
    w.zfs_rollback("pve1", "labconsole-pre-upgrade")
    assert n.packages == before_pkgs and n.kernels == before_kernels
    assert n.zfs_snapshots == ["labconsole-pre-upgrade"]  # later snapshots destroyed (-r)
    assert n.upgradable["pve-manager"] == "8.2.5"
    with pytest.raises(SimCommandFailed):
        w.zfs_rollback("pve1", "nope")


async def test_downgrade_recorded_versions(w):
    await upgrade(w, "pve2")
    assert w.downgrade("pve2", {"pve-manager": "8.2.4", "qemu-server": "8.2.3"}) == 0
    assert w.nodes["pve2"].packages["pve-manager"] == "8.2.4"
    assert w.nodes["pve2"].upgradable["pve-manager"] == "8.2.5"
    with pytest.raises(SimCommandFailed) as err:
        w.downgrade("pve2", {"pve-manager": "1.0"})
    assert err.value.exit_status == 100
