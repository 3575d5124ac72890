"""The fault the hostile proxies and the fake SSH serve right now (set by the test thread).

Layers and fault kinds of the matrix are named here once. A proxy or fake host
serves `kind` only to requests of `layer`; everything else passes through.
"""

from __future__ import annotations

from dataclasses import dataclass

# matrix layer -> the layer name `labconsole check --json` reports it under
LAYERS = {"proxmox": "proxmox", "ceph-api": "ceph", "ceph-ssh": "ceph", "swarm": "swarm",
          "traefik": "traefik", "vrrp": "vrrp"}
KINDS = ("down", "slow", "error", "malformed", "auth", "tls")


@dataclass
class FaultState:
    layer: str | None = None  # matrix layer under test, None: everything passes
    kind: str | None = None
    variant: str = "bad-json"  # which malformed answer, when kind == "malformed"

    def set(self, layer: str | None, kind: str | None, variant: str = "bad-json") -> None:
        if layer is not None and layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        # one assignment per field; readers on the proxy thread see old or new, both consistent enough
        self.variant, self.kind, self.layer = variant, kind, layer

    def clear(self) -> None:
        self.set(None, None)

    def for_layer(self, layer: str) -> str | None:
        """The fault kind to serve a request of `layer`, or None to pass it through."""
        return self.kind if self.layer == layer else None
