"""The VRRP source over SSH against the simulated lab's firewalls: states,
split brain, writes, and failures (keepalived down, unreachable, hanging,
malformed dump, wrong host key). Secrets never appear in what it returns."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import asyncssh
import pytest

from console.config import load_config
from console.config_model import SshHost
from console.errors import ConsoleError, ReadOnlyError
from console.sources.vrrp import VrrpSource
from console.ssh import SshPool

SIM_AUTH_PASS = "lab-vrrp-s3cret"  # the sim's dump carries this auth_data, like a real one


def _cluster(lab):
    return load_config(lab.config_path).cluster()


def _fw(state, name):
    fw = next(f for f in state.firewalls if f.name == name)
    return fw, (fw.instances[0] if fw.instances else None)


async def _until(source, pred, what: str, tries: int = 100):
    state = None
    for _ in range(tries):
        state = await source.fetch()
        if pred(state):
            return state
        await asyncio.sleep(0.1)
    pytest.fail(f"never saw {what}; last: {state}")


@pytest.mark.parametrize("dump", ["configured", "signal"])
async def test_fetch_from_the_seed_lab(seed_sim, dump):
    cluster = _cluster(seed_sim)
    cfg = cluster.vrrp if dump == "configured" else dataclasses.replace(cluster.vrrp, dump="signal")
    pool = SshPool(cluster.ssh)
    try:
        state = await VrrpSource(cfg, pool).fetch()
    finally:
        await pool.close()
    fw1, i1 = _fw(state, "fw1")
    fw2, i2 = _fw(state, "fw2")
    assert fw1.answering and fw2.answering, (fw1.error, fw2.error)
    assert (i1.state, i2.state) == ("MASTER", "BACKUP") and state.preferred_master == "fw1"
    assert i1.effective_priority > i2.effective_priority
    vip = i1.vips[0]
    assert vip in fw1.addresses and vip not in fw2.addresses
    assert SIM_AUTH_PASS not in repr(state)


async def test_split_brain_shows_two_masters(sim):
    cluster = _cluster(sim)
    pool = SshPool(cluster.ssh)
    source = VrrpSource(cluster.vrrp, pool)
    try:
        sim.control("split-brain")
        state = await _until(source, lambda s: all(_fw(s, n)[1] and _fw(s, n)[1].state == "MASTER"
                                                   for n in ("fw1", "fw2")), "two masters")
    finally:
        await pool.close()
    assert all(f.answering for f in state.firewalls)
    assert all(_fw(state, n)[1].vips[0] in _fw(state, n)[0].addresses for n in ("fw1", "fw2"))
    # the seed's sync group fails as a whole: one split-brain finding, about the group
    from console.health_vrrp import vrrp_rules

    found = [(f.subject, f.text) for f in vrrp_rules(state) if "SPLIT BRAIN" in f.text]
    assert found == [("VG_1", "SPLIT BRAIN on sync group VG_1 (WAN, LAN, IOT): fw1 and fw2 are both MASTER")]


async def test_seed_sync_group_moves_as_a_whole_on_the_track_file(sim):
    cluster = _cluster(sim)
    assert cluster.vrrp.sync_groups == (("VG_1", ("WAN", "LAN", "IOT")),)  # the sim's config names the group
    pool = SshPool(cluster.ssh)
    source = VrrpSource(cluster.vrrp, pool)
    try:
        state = await source.fetch()
        [g] = state.sync_groups
        assert (g.name, g.members, g.preferred_master) == ("VG_1", ("WAN", "LAN", "IOT"), "fw1")
        fw1 = _fw(state, "fw1")[0]
        assert [(i.name, i.state, i.sync_group, i.vips) for i in fw1.instances] == [
            ("WAN", "MASTER", "VG_1", ("10.0.0.1/24",)), ("LAN", "MASTER", "VG_1", ("10.0.10.1/24",)),
            ("IOT", "MASTER", "VG_1", ("10.0.30.1/24",))]
        assert {v.split("/")[0] for i in fw1.instances for v in i.vips} <= {a.split("/")[0] for a in fw1.addresses}
        await source.set_track("fw1", 1)
        state = await _until(source, lambda s: all(i.state == "MASTER" for i in _fw(s, "fw2")[0].instances),
                             "every member MASTER on fw2")
        assert all(i.state == "FAULT" for i in _fw(state, "fw1")[0].instances)
        await source.set_track("fw1", 0)
    finally:
        await pool.close()


async def test_stopping_keepalived_and_the_track_file_move_the_vip(sim):
    cluster = _cluster(sim)
    pool = SshPool(cluster.ssh)
    source = VrrpSource(cluster.vrrp, pool)
    try:
        await source.keepalived("fw1", running=False)
        state = await _until(source, lambda s: _fw(s, "fw2")[1].state == "MASTER", "fw2 MASTER after the stop")
        fw1, inst = _fw(state, "fw1")
        assert not fw1.answering and inst is None and "not running" in fw1.error
        await source.keepalived("fw1", running=True)
        # nopreempt: the restarted fw1 stays BACKUP, the VIP stays on fw2
        state = await _until(source, lambda s: _fw(s, "fw1")[0].answering, "fw1 answering again")
        assert _fw(state, "fw2")[1].state == "MASTER"
        await source.set_track("fw2", 1)  # weight 0: a non-zero value means FAULT
        await _until(source, lambda s: _fw(s, "fw2")[1].state == "FAULT" and _fw(s, "fw1")[1].state == "MASTER",
                     "fw2 in FAULT and the VIP back on fw1")
        await source.set_track("fw2", 0)
        await _until(source, lambda s: _fw(s, "fw2")[1].state == "BACKUP", "fw2 back to BACKUP")
        with pytest.raises(ConsoleError) as err:
            await source.set_track("fw9", 1)
        assert "fw9" in str(err.value)
    finally:
        await pool.close()


async def test_read_only_refuses_writes(seed_sim):
    cluster = _cluster(seed_sim)
    source = VrrpSource(cluster.vrrp, None, read_only=True)
    with pytest.raises(ReadOnlyError):
        await source.keepalived("fw1", running=False)
    with pytest.raises(ReadOnlyError):
        await source.set_track("fw1", 1)


def _with_host(cluster, alias: str, port: int):
    hosts = tuple(h for h in cluster.ssh.hosts if h.alias != alias)
    orig = cluster.ssh.host(alias)
    return dataclasses.replace(cluster.ssh, hosts=hosts + (SshHost(alias, "127.0.0.1", port, orig.user, orig.keys),))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_firewall_is_reported_and_the_other_still_read(seed_sim):
    cluster = _cluster(seed_sim)
    port = _closed_port()
    pool = SshPool(_with_host(cluster, "fw2", port))
    try:
        state = await VrrpSource(cluster.vrrp, pool).fetch()
    finally:
        await pool.close()
    fw1, i1 = _fw(state, "fw1")
    fw2, i2 = _fw(state, "fw2")
    assert fw1.answering and i1.state == "MASTER"
    assert not fw2.answering and i2 is None and f"127.0.0.1:{port}" in fw2.error and "refused" in fw2.error


async def test_hanging_firewall_times_out_alone(seed_sim):
    async def silent(reader, writer):  # accepts, never speaks SSH
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cluster = _cluster(seed_sim)
    pool = SshPool(_with_host(cluster, "fw1", port))
    try:
        state = await VrrpSource(dataclasses.replace(cluster.vrrp, timeout=1.0), pool).fetch()
    finally:
        await pool.close()
        server.close()
    fw1, _ = _fw(state, "fw1")
    assert not fw1.answering and "no answer" in fw1.error
    assert _fw(state, "fw2")[0].answering


async def test_malformed_dump_is_not_answering(seed_sim):
    cluster = _cluster(seed_sim)
    pool = SshPool(cluster.ssh)
    cfg = dataclasses.replace(cluster.vrrp, dump="echo '[{\"data\": {\"iname\": '")
    try:
        with pytest.raises(ConsoleError) as err:  # no firewall answered: the layer fails
            await VrrpSource(cfg, pool).fetch()
    finally:
        await pool.close()
    text = str(err.value)
    assert text.startswith("vrrp: no firewall answered: ") and text.count("malformed keepalived JSON dump") == 2
    assert "fw1: " in text and "fw2: " in text and "__rc" not in text and "</dev/null" not in text


async def test_wrong_host_key_names_host_and_fingerprint(seed_sim, tmp_path):
    cluster = _cluster(seed_sim)
    fw1 = cluster.ssh.host("fw1")
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[{fw1.address}]:{fw1.port} {' '.join(other)}\n")
    pool = SshPool(dataclasses.replace(cluster.ssh, known_hosts=wrong))
    try:
        with pytest.raises(ConsoleError) as err:  # fw2 is not in that known_hosts either: no firewall answered
            await VrrpSource(cluster.vrrp, pool).fetch()
    finally:
        await pool.close()
    text = str(err.value)
    assert f"{fw1.address}:{fw1.port} CHANGED" in text and "SHA256:" in text and "not in" in text


async def test_ssh_dropping_every_session_is_reported_per_firewall(seed_sim):
    cluster = _cluster(seed_sim)
    pool = SshPool(cluster.ssh)
    seed_sim.control("error-rate", "ssh", 1.0)
    try:
        with pytest.raises(ConsoleError) as err:  # no firewall answered: the layer fails
            await VrrpSource(cluster.vrrp, pool).fetch()
    finally:
        seed_sim.clear("error-rate")
        await pool.close()
    for fw in cluster.vrrp.firewalls:
        host = cluster.ssh.host(fw.ssh_host)
        assert f"{host.address}:{host.port}" in str(err.value), str(err.value)
    assert SIM_AUTH_PASS not in str(err.value)
