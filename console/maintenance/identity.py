"""Which cluster a journal belongs to: the PVE cluster name and node names, and the
Ceph fsid when known. Journals record it at run start; a run recorded on another
cluster (another lab that happens to share the config's cluster name) is never
offered for resume and never blocks a run here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError


@dataclass(frozen=True)
class ClusterIdentity:
    pve_name: str | None
    nodes: tuple[str, ...]
    fsid: str | None = None

    @property
    def id(self) -> str:
        text = json.dumps([self.pve_name, sorted(self.nodes), self.fsid])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        where = f"PVE cluster {self.pve_name or '(unnamed)'} ({', '.join(self.nodes) or 'no nodes'})"
        return where + (f", Ceph fsid {self.fsid}" if self.fsid else "")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "pve_name": self.pve_name, "nodes": list(self.nodes), "fsid": self.fsid}

    @classmethod
    def from_dict(cls, d: Any) -> "ClusterIdentity | None":
        if not isinstance(d, dict) or not isinstance(d.get("nodes"), list):
            return None
        return cls(d.get("pve_name") if isinstance(d.get("pve_name"), str) else None,
                   tuple(sorted(str(n) for n in d["nodes"])),
                   d.get("fsid") if isinstance(d.get("fsid"), str) else None)

    def same_as(self, other: "ClusterIdentity") -> bool:
        """The same cluster: the Ceph fsid decides when both know it; else name and nodes."""
        if self.fsid and other.fsid:
            return self.fsid == other.fsid and self.pve_name == other.pve_name
        return self.pve_name == other.pve_name and set(self.nodes) == set(other.nodes)


def recorded_identity(header: dict[str, Any]) -> ClusterIdentity | None:
    """The identity a run-start record carries (None: written before identities were recorded)."""
    return ClusterIdentity.from_dict(header.get("identity"))


def belongs_to(header: dict[str, Any], identity: ClusterIdentity | None) -> bool:
    """Whether a journal (its run-start record) belongs to the cluster `identity` names.
    Unknown on either side (an old journal, a cluster not read yet): it counts as ours."""
    recorded = recorded_identity(header)
    return recorded is None or identity is None or recorded.same_as(identity)


async def cluster_identity(svc: Any) -> ClusterIdentity:
    """Read the identity of the cluster the services talk to (Ceph's fsid when it answers)."""
    pve = await svc.pve()
    fsid = None
    has = getattr(svc, "has", None)
    if has is not None and has("ceph"):
        try:
            fsid = (await svc.ceph()).fsid
        except ConsoleError:
            fsid = None  # name and nodes still tell clusters apart
    return ClusterIdentity(getattr(pve, "cluster_name", None), tuple(sorted(n.name for n in pve.nodes)), fsid)
