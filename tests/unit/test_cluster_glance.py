"""console/cluster_glance.py: a cluster's row is read off the Story `check` tells; the glance polls
every cluster but the current one, swaps them on a switch, closes what it opened."""

from __future__ import annotations

import asyncio

import pytest

from console.cluster_glance import ClusterGlance, judge, row_of, unreachable_snapshots, worst_status
from console.config_model import ClusterConfig, Config, ProxmoxConfig, SecretRef
from console.errors import ConsoleError
from console.incidents import tell
from console.poller import Hub, Poller, Snapshot
from tests.unit.lab_models import NOW, lab

PVE = ProxmoxConfig(("https://192.0.2.9:8006",), "root@pam!console", SecretRef(env="NO_SUCH_TOKEN"))
HOME, LAB2, GONE = (ClusterConfig(name, color=color, proxmox=PVE)
                    for name, color in (("home", "green"), ("lab2", "magenta"), ("gone", "red")))


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """judge() reads maintenance runs and silences from the state dir: an empty one per test."""
    monkeypatch.setenv("LABCONSOLE_STATE_DIR", str(tmp_path / "state"))


def test_healthy_cluster_row_is_ok_with_a_dot_per_layer_and_no_incident():
    snaps = lab()
    row = row_of(HOME, snaps, tell(snaps, NOW), NOW)
    assert row.status == "ok" and row.exit_code == 0 and row.error is None and row.top is None
    assert [layer for layer, _ in row.layers] == ["cluster", "guests", "ceph", "swarm", "traefik", "vrrp"]
    assert {level for _, level in row.layers} == {"ok"}


def test_row_age_is_the_oldest_sources_and_grows_between_rounds():
    snaps = {**lab(), "ceph": Snapshot("ceph", lab()["ceph"].data, ok_at=NOW - 4)}
    row = row_of(HOME, snaps, tell(snaps, NOW), NOW)
    assert row.age(NOW) == 4 and row.age(NOW + 30) == 34  # read at round time, shown as of now


def test_node_down_row_names_the_root_cause_with_the_check_verdict():
    snaps = lab(pve_kw={"down": ("pve3",)}, ceph_kw={"down_osds": (2,)}, swarm_kw={"down": ("swarm3",)})
    story = tell(snaps, NOW)
    row = row_of(HOME, snaps, story, NOW)
    assert row.status == story.status == "critical" and row.exit_code == story.exit_code == 2
    assert row.top is not None and row.top.startswith("CRIT [cluster]") and "pve3" in row.top
    assert "effects)" in row.top  # the OSD, the Swarm node, ... are its effects, not rows of their own
    assert dict(row.layers)["cluster"] == story.layers["cluster"].level == "crit"


def test_no_source_answering_is_a_readable_cannot_reach_row():
    snaps = unreachable_snapshots(HOME, "proxmox: cannot connect to 192.0.2.9:8006 (connection refused)")
    row = row_of(HOME, snaps, judge("home", snaps, NOW), NOW)
    assert row.status == "unknown" and row.exit_code == 3
    assert row.error == "cannot reach: proxmox: cannot connect to 192.0.2.9:8006 (connection refused)"
    assert "Error" not in row.error and "Traceback" not in row.error
    # only what the cluster configures counts as failed (Ceph is read through Proxmox)
    assert {name for name, s in snaps.items() if s.configured} == {"proxmox", "ceph"}


def test_worst_status_ranks_clusters_as_check_ranks_layers():
    assert worst_status(["ok", "warning"]) == "warning"
    assert worst_status(["unknown", "critical", "ok"]) == "critical"
    assert worst_status(["ok", None]) == "unknown"  # a cluster not judged is not ok
    assert worst_status([]) == "ok"


class Lab:
    """A fake per-cluster source set: what each cluster's pollers fetch, and what got closed."""

    def __init__(self, failing: dict[str, str] | None = None) -> None:
        self.failing = failing or {}
        self.data = lab()
        self.built: list[str] = []
        self.stopped: list[str] = []

    def factory(self, cluster: ClusterConfig):
        if cluster.name == "gone":
            raise ConsoleError("proxmox", "token file /nowhere/token cannot be read")
        self.built.append(cluster.name)

        def fetcher(source):
            async def fetch():
                if cluster.name in self.failing:
                    raise ConsoleError(source, self.failing[cluster.name])
                return self.data[source].data
            return fetch
        hub = Hub([Poller(s, fetcher(s), timeout=1.0) for s in self.data])
        real_stop = hub.stop

        async def stop():
            self.stopped.append(cluster.name)
            await real_stop()
        hub.stop = stop  # type: ignore[method-assign]
        return hub


async def wait_for(predicate, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_glance_polls_every_cluster_but_the_current_and_swaps_on_a_switch():
    fake = Lab(failing={"lab2": "cannot connect to 192.0.2.9:8006 (connection refused)"})
    glance = ClusterGlance(Config((HOME, LAB2, GONE)), fake.factory, interval=0.05)
    seen = []
    glance.subscribe(seen.append)
    glance.watch("home")
    assert sorted(glance.polled) == ["gone", "lab2"]
    await wait_for(lambda: glance.rows["lab2"].status is not None and glance.rows["gone"].status is not None)
    assert glance.rows["home"].status is None  # the current cluster's row is the App's, never polled here
    assert glance.rows["lab2"].error == "cannot reach: proxmox: cannot connect to 192.0.2.9:8006 (connection refused)"
    assert glance.rows["gone"].error == "cannot reach: proxmox: token file /nowhere/token cannot be read"
    await wait_for(lambda: fake.built.count("lab2") == 1 and sum(r.name == "lab2" for r in seen) >= 3)
    assert fake.built == ["lab2"]  # the hub is kept between rounds (its connections too)

    fake.failing.clear()
    glance.watch("lab2")  # switched to lab2: its row comes from the live Hub now, home is polled here
    assert sorted(glance.polled) == ["gone", "home"]
    await wait_for(lambda: "lab2" in fake.stopped and glance.rows["home"].status == "ok")
    await glance.stop()
    assert glance.polled == () and sorted(fake.stopped) == ["home", "lab2"]


async def test_all_clusters_round_polls_the_clusters_concurrently():
    """Every cluster's round has started before any has ended (so the whole round takes about the
    longest timeout: figures in tests/bench/bench_check_all_clusters.py); a cluster whose sources
    cannot be built is reported as unreachable, not raised."""
    from console.cluster_glance import all_clusters_round

    started: list[str] = []
    both = asyncio.Event()

    async def round_of(cluster):
        if cluster.name == "gone":
            raise ConsoleError("proxmox", "token file /nowhere/token cannot be read")
        started.append(cluster.name)
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 2.0)  # times out unless the other cluster is polled meanwhile
        return {"proxmox": Snapshot("proxmox", lab()["proxmox"].data, ok_at=NOW)}, [], NOW

    rows = await all_clusters_round(Config((HOME, LAB2, GONE)), round_of)
    assert [c.name for c, _, _ in rows] == ["home", "lab2", "gone"]
    assert sorted(started) == ["home", "lab2"]
    assert rows[2][1]["proxmox"].error == "proxmox: token file /nowhere/token cannot be read"


def test_glance_is_data_layer_without_textual():
    from tests.unit.test_import_hygiene import loaded_after_import

    assert "textual" not in loaded_after_import(["console.cluster_glance", "console.check"])
