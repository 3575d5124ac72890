"""The fault the hostile proxies and the fake SSH hosts serve right now.

The test process sets it; the bench process (tests/faults/bench_server.py)
reads it on every request, from one small JSON file replaced atomically, so
the two processes need no other channel. Layers and fault kinds of the matrix
are named here once. A proxy or fake host serves the fault only to requests of
the layer under test; everything else passes through.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

# matrix layer -> the layer name `labconsole check --json` reports it under
LAYERS = {"proxmox": "proxmox", "ceph-api": "ceph", "ceph-ssh": "ceph", "swarm": "swarm",
          "traefik": "traefik", "vrrp": "vrrp"}
KINDS = ("down", "slow", "error", "malformed", "auth", "tls")


class FaultState:
    def __init__(self, path: Path):
        self.path = Path(path)

    def set(self, layer: str | None, kind: str | None, variant: str = "bad-json") -> None:
        if layer is not None and layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"layer": layer, "kind": kind, "variant": variant}))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.set(None, None)

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"layer": None, "kind": None, "variant": "bad-json"}

    def for_layer(self, layer: str) -> str | None:
        """The fault kind to serve a request of `layer`, or None to pass it through."""
        now = self.read()
        return now["kind"] if now["layer"] == layer else None

    @property
    def variant(self) -> str:
        return self.read()["variant"]
