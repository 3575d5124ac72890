"""`labconsole vip failback` against the simulated firewalls: the VIP goes back to the
preferred firewall through the track files, the gap with no MASTER is measured, the
peer's track file is restored, and it is refused read-only."""

from __future__ import annotations

import asyncio

from console.config import load_config
from console.ops import firewall as fw
from console.sources import build_sources
from tests.ops.conftest import log_records


async def _master(src, want: list[str], limit: float = 10.0) -> None:
    for _ in range(int(limit / 0.1)):
        if fw.masters(await src.fetch()) == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"MASTER never became {want}")


async def _vip_on_fw2(lab) -> None:
    sources = build_sources(load_config(lab.config_path).cluster(None))
    try:
        vrrp = sources.get("vrrp")
        await vrrp.set_track("fw1", 1)  # as an interrupted maintenance leaves it
        await _master(vrrp, ["fw2"])
    finally:
        await sources.close()


def test_failback_moves_the_vip_and_reports_the_gap(lab, cli, state_dir):
    code, out, err = cli("vip", "failback", "--yes")
    assert code == 0 and "already holds the VIP" in out  # nothing to do on a healthy pair
    asyncio.run(_vip_on_fw2(lab))
    code, out, err = cli("vip", "failback", stdin="n\n")
    assert code == 2 and "from fw2 back to the preferred firewall fw1" in err and "cancelled" in err
    code, res = cli.json("vip", "failback", "--yes")
    assert code == 0 and res["ok"] and res["target"] == "fw1", res
    assert res["gap_s"] is not None and 0 <= res["gap_s"] < 5
    assert res["samples"][-1][1] == "fw1"
    code, out, err = cli("vip", "failback", "--yes")
    assert "already holds the VIP" in out  # fw2's track file went back to 0: fw1 stays MASTER
    rec = [r for r in log_records(state_dir) if r["kind"] == "vrrp"]
    assert len(rec) == 1 and rec[0]["ok"] and "gap" in rec[0]["result"]


def test_failback_is_refused_read_only(lab, cli, state_dir):
    asyncio.run(_vip_on_fw2(lab))
    code, out, err = cli("--read-only", "vip", "failback", "--yes")
    assert code == 2 and "(read-only mode)" in err and err.count("\n") == 1
    assert log_records(state_dir) == []
