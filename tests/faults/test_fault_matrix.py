"""The fault matrix: 6 layers x 6 fault kinds, each a `labconsole check --json` against the sim
with the layer under test routed through a hostile proxy or fake SSH host (tests/faults/bench.py).

Every cell (tests/faults/cell_checks.py): the faulted layer is not ok and says
why in a readable sentence, every other layer is still ok with the same summary
as without the fault, the exit code is 3 (UNKNOWN), and the run ends within
2 x the governing timeout + 5 s + what a fault-free run took (printed, with the
matrix table at the end of the run). The layer under test has a 2 s timeout in
its "slow" cells; everything else 15 s, so nothing innocent times out on a
loaded machine. Most cells run `run_check` in-process (fast); the "slow" cell of
every layer runs the real CLI as a subprocess, because that is where a worker
thread stuck in a hung request would hold up the exit. LABFAULT_CLI=all runs
every cell so. Beyond the 36: the other malformed shapes per layer, endpoints
that accept and never speak, and the bench's own routes without a fault.
"""

from __future__ import annotations

import os

import certifi
import pytest

from tests.faults.cell_checks import check_cell
from tests.faults.fault_state import KINDS, LAYERS
from tests.faults.hostile_json import PRIMARY, VARIANTS

CELLS = [(layer, kind) for layer in LAYERS for kind in KINDS]
CLI_CELLS = {(layer, "slow") for layer in LAYERS}
VARIANT_CELLS = [(layer, v) for layer in LAYERS for v in VARIANTS if v != PRIMARY]

# Still broken in console/ when this was last run (reported to the coordinator). strict: once
# fixed, the cell XPASSes, which fails the run until its line here is deleted.
STILL_BROKEN: dict[tuple[str, str], str] = {}


def _cells(cells: list[tuple[str, str]]) -> list:
    return [pytest.param(*cell, id="-".join(cell), marks=[pytest.mark.xfail(reason=STILL_BROKEN[cell], strict=True)]
                         if cell in STILL_BROKEN else []) for cell in cells]


@pytest.fixture(autouse=True)
def _configured_trust_only(monkeypatch):
    """requests lets these override a configured CA (see the last test): without them, the swarm
    TLS cell is rejected by swarm.tls_ca, the path it is there to test."""
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)


def _cli(cell) -> bool:
    return cell in CLI_CELLS or os.environ.get("LABFAULT_CLI") == "all"


@pytest.mark.parametrize(("layer", "kind"), _cells(CELLS))
def test_fault_cell(bench, layer, kind, request):
    run = bench.run(layer, kind, variant=PRIMARY, cli=_cli((layer, kind)))
    request.node.user_properties.append(("fault_cell", (layer, kind, run.via, round(run.elapsed, 2))))
    check_cell(bench, run, layer, kind, PRIMARY if kind == "malformed" else None)


@pytest.mark.parametrize(("layer", "variant"), _cells(VARIANT_CELLS))
def test_malformed_variant(bench, layer, variant):
    """The other hostile shapes (null, {"data": null}, [], list-for-object, object-for-list, strings
    for numbers, Infinity): never an empty healthy layer, never a Python error in the text."""
    run = bench.run(layer, "malformed", variant=variant)
    check_cell(bench, run, layer, "malformed", variant)


SILENT = [layer for layer in LAYERS if layer != "ceph-api"]  # ceph-api shares Proxmox's endpoints


@pytest.mark.parametrize("layer", SILENT)
def test_silent_endpoint(bench, layer):
    """Slow before the protocol starts: the port accepts, then no TLS handshake, SSH banner or
    HTTP answer ever comes. Through the real CLI: the process must end near the timeout too."""
    run = bench.run(layer, "silent", cli=True)
    check_cell(bench, run, layer, "silent")


ROUTES = [*LAYERS, "swarm-tls"]


@pytest.mark.parametrize("route", ROUTES)
def test_hostile_route_without_a_fault_is_healthy(bench, route):
    """The bench itself: each layer's hostile route (proxy, fake SSH host, the tcp+TLS Docker
    endpoint) serves the sim's real answers when no fault is set, so a failing cell is the fault."""
    layer, kind = ("swarm", "tls-pass") if route == "swarm-tls" else (route, None)
    run = bench.run(layer, kind)
    print(f"[{route} route, no fault] exit {run.code} in {run.elapsed:.2f} s")
    failed = {k: v["error"] for k, v in run.doc["layers"].items() if not v["ok"]}
    assert not failed and run.code == 0, f"exit {run.code}: {failed}"
    assert {k: v["summary"] for k, v in run.doc["layers"].items()} == bench.baseline
    assert run.elapsed < bench.timeout_bound(layer, kind, run.via)


def test_swarm_tls_ca_wins_over_requests_ca_bundle(bench, monkeypatch):
    """swarm.tls_ca must verify a tcp:// manager even when REQUESTS_CA_BUNDLE is set (as on
    many systems): requests lets that variable override a session's `verify`."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    run = bench.run("swarm", "tls-pass")
    swarm = run.doc["layers"]["swarm"]
    assert swarm["ok"], swarm["error"]
