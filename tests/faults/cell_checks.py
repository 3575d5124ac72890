"""What every cell of the fault matrix asserts about one `labconsole check --json` run."""

from __future__ import annotations

import json
import re

from tests.faults.bench import CheckRun, FaultBench
from tests.faults.fault_state import LAYERS

# Python and library internals that must never reach an operator, and the
# console's own batch plumbing (a command line quoted whole in an error).
UNREADABLE = re.compile(
    r"Traceback|\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning)\b|\bRemoteDisconnected\b|\bReadTimeout\b"
    r"|\bConnectTimeout\b|urllib3|HTTPS?ConnectionPool|Max retries exceeded|NoneType|object has no attribute"
    r"|not subscriptable|is not iterable|unhashable|takes \d+ positional|\bint\(\)|\bfloat\(\)"
    r"|\( ?ka-state|__rc=|__labconsole_|\$__d|mktemp|/dev/null|<html|<body"
)
# what an empty layer looks like: a malformed answer must never be read as one
EMPTY_LAYER = re.compile(r"\b0/0\b|routers 0 ok, 0 warning, 0 error|OSDs 0 up/0 in of 0|NO MASTER")

# Cells where a layer other than the one under test legitimately fails too.
IMPLIED = {
    ("ceph-api", "tls"): {"proxmox"},  # Ceph-via-API rides Proxmox's connection: one certificate for both
}


def unreadable_parts(text: str | None) -> list[str]:
    return UNREADABLE.findall(text or "")


def assert_readable(text: str | None, what: str) -> None:
    bad = unreadable_parts(text)
    assert not bad, f"{what} is not a readable sentence: it contains {bad!r}:\n{text}"


def check_cell(bench: FaultBench, run: CheckRun, layer: str, kind: str, variant: str | None = None) -> None:
    """kind: the matrix fault kind, or "silent" (slow before the protocol starts)."""
    baseline, secret = bench.baseline, bench.token_secret
    bound = bench.timeout_bound(layer, kind, run.via)
    name = LAYERS[layer]
    doc = run.doc
    tag = f"[{layer} x {kind}{'/' + variant if variant else ''}, via {run.via}, {run.elapsed:.2f} s]"
    print(f"{tag} exit {run.code}; {name}: {doc['layers'][name]['error']!r}")
    layers = doc["layers"]
    under = layers[name]
    assert under["ok"] is False, f"{tag} {name} is reported ok under the fault: {json.dumps(under, indent=1)}"
    assert under["error"], f"{tag} {name} failed without an error text: {under}"
    assert len(under["error"]) < 2000, f"{tag} {name} error is {len(under['error'])} characters long"
    assert_readable(under["error"], f"{tag} {name} error")
    assert_readable(under["summary"], f"{tag} {name} summary")
    if kind == "malformed":
        assert not EMPTY_LAYER.search(under["summary"]), f"{tag} malformed answer read as an empty layer: {under}"

    implied = IMPLIED.get((layer, kind), set())
    for other, info in layers.items():
        if other == name:
            continue
        if other in implied:
            assert info["ok"] is False, f"{tag} {other} shares the faulted connection but is ok: {info}"
            assert_readable(info["error"], f"{tag} {other} error")
            continue
        assert info["ok"] is True, f"{tag} {other} (not under test) failed: {info['error']}"
        assert info["summary"] == baseline[other], \
            f"{tag} {other} (not under test) reads {info['summary']!r}, expected {baseline[other]!r}"

    for f in doc["findings"]:
        assert_readable(f["text"], f"{tag} finding text")
        assert_readable(f.get("hint"), f"{tag} finding hint")
    assert secret not in run.stdout and secret not in run.stderr, f"{tag} the API token secret was printed"

    assert run.code == doc["exit_code"], f"{tag} exit {run.code} but the JSON says {doc['exit_code']}"
    # 3 (UNKNOWN): a layer that cannot be read is unknown, not critical; no cell implies worse
    assert run.code == 3, (f"{tag} exit {run.code} ({doc['status']}), expected 3; "
                           f"findings: {[(f['severity'], f['layer'], f['text']) for f in doc['findings']]}")
    assert run.elapsed < bound, f"{tag} took {run.elapsed:.1f} s, bound {bound:.0f} s"
    if run.via == "cli":
        assert_readable(run.stderr, f"{tag} stderr")
