"""The simulated lab's image registry: repositories, tags, manifests, blobs.

Kept beside the World (``world.registry``, made by ``registry_of``). The sim
server seeds it from the Swarm services (``seed_registry``: every service's
tag is published and the service pinned to its digest, as `docker stack
deploy` pins), then serves it with registry_api.py; the Docker front resolves
tags through it (/distribution/{name}/json) and the Swarm dynamics ask it
whether an image's tasks crash.

Faults (World.inject/clear, console/sim/faults.py):
  image-publish REPO:TAG     the tag points at a new image (a new digest)
  image-crash REPO:TAG       the tag points at a new image whose tasks exit at once
  registry-private REPO      pulls of REPO need credentials (user "lab", PASSWORD)
Latency and errors: the fault family "registry" (latency / error-rate).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
from dataclasses import dataclass, field

from console.sim.sim_errors import SimError

REGISTRY_FAULTS = ("image-publish", "image-crash", "registry-private")
USER, PASSWORD = "lab", "sim-registry-pass"
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MULTI_ARCH = ("library/traefik", "library/nextcloud")  # published as manifest lists, as on Docker Hub


@dataclass
class SimRegistry:
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # digest -> (media type, body)
    blobs: dict[str, bytes] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # repo -> tag -> digest
    private: set[str] = field(default_factory=set)
    crashing: set[str] = field(default_factory=set)  # digests whose tasks exit at once
    tokens: dict[str, set[str]] = field(default_factory=dict)  # bearer token -> repos it may pull
    generation: int = 0

    def digest_of(self, repo: str, ref: str) -> str | None:
        if ref.startswith("sha256:"):
            return ref if ref in self.manifests else None
        return self.tags.get(repo, {}).get(ref)


def registry_of(world) -> SimRegistry:
    reg = getattr(world, "registry", None)
    if reg is None:
        reg = world.registry = SimRegistry()
    return reg


def split_name(image: str) -> tuple[str, str, str | None]:
    """`traefik:v3` -> ("library/traefik", "v3", None); `a/b:1@sha256:..` -> ("a/b", "1", "sha256:..")."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        rest = remainder  # the sim answers for any registry host (it stands in as a mirror)
    repo, tag = rest.rsplit(":", 1) if ":" in rest.rsplit("/", 1)[-1] else (rest, "latest")
    if "/" not in repo:
        repo = f"library/{repo}"
    return repo, tag, digest or None


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _put_blob(reg: SimRegistry, data: bytes) -> dict:
    digest = sha(data)
    reg.blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def _image_manifest(reg: SimRegistry, repo: str, tag: str, arch: str, crash: bool) -> tuple[str, int]:
    reg.generation += 1
    layer = _put_blob(reg, gzip.compress(f"{repo}:{tag} {arch} build {reg.generation}\n".encode(), mtime=0))
    cmd = ["sh", "-c", "exit 1"] if crash else ["/entrypoint"]
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": cmd},
                         "rootfs": {"type": "layers", "diff_ids": [sha(f"{reg.generation}".encode())]}},
                        sort_keys=True).encode()
    cfg = _put_blob(reg, config)
    body = json.dumps({"schemaVersion": 2, "mediaType": SCHEMA2,
                       "config": {"mediaType": CONFIG, **cfg},
                       "layers": [{"mediaType": LAYER, **layer}]}, indent=3).encode()
    digest = sha(body)
    reg.manifests[digest] = (SCHEMA2, body)
    return digest, len(body)


def schema1_of(name: str, tag: str, schema2: bytes) -> bytes:
    """The (unsigned) schema 1 form distribution 2.8 serves a client that accepts nothing newer."""
    layers = json.loads(schema2)["layers"]
    return json.dumps({"schemaVersion": 1, "name": name, "tag": tag, "architecture": "amd64",
                       "fsLayers": [{"blobSum": x["digest"]} for x in reversed(layers)],
                       "history": [{"v1Compatibility": "{}"} for _ in layers]}, indent=3).encode()


def publish(world, image: str, crash: bool = False) -> str:
    """Push a new image under `image`'s tag; returns the digest the tag now points at."""
    reg = registry_of(world)
    repo, tag, _ = split_name(image)
    if repo in MULTI_ARCH:
        children = []
        for arch, variant in (("amd64", None), ("arm64", "v8")):
            digest, size = _image_manifest(reg, repo, tag, arch, crash)
            platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
            children.append({"mediaType": SCHEMA2, "digest": digest, "size": size, "platform": platform})
        body = json.dumps({"schemaVersion": 2, "mediaType": LIST, "manifests": children}, indent=3).encode()
        digest = sha(body)
        reg.manifests[digest] = (LIST, body)
    else:
        digest, _size = _image_manifest(reg, repo, tag, "amd64", crash)
    if crash:
        reg.crashing.add(digest)
    reg.tags.setdefault(repo, {})[tag] = digest
    return digest


def seed_registry(world) -> None:
    """Publish every service's tag and pin the service (spec, templates, tasks) to its digest."""
    for svc in world.services.values():
        if "@" in svc.image:
            continue
        repo, tag, _ = split_name(svc.image)
        known = registry_of(world).digest_of(repo, tag)  # services sharing a tag run the same image
        pinned = f"{svc.image}@{known or publish(world, svc.image)}"
        _repin(world, svc, pinned)
    reg = registry_of(world)
    for svc in world.services.values():  # one tag re-pushed since: the demo has an image update pending
        if svc.name == "grafana":
            publish(world, svc.image.split("@")[0])
    reg.private.add("lab/private-app")
    publish(world, "lab/private-app:1")


def _repin(world, svc, pinned: str) -> None:
    old = svc.image
    svc.image = pinned
    svc.spec.setdefault("TaskTemplate", {}).setdefault("ContainerSpec", {})["Image"] = pinned
    for template in world._templates.get(svc.id, {}).values():
        if template.get("ContainerSpec", {}).get("Image") == old:
            template["ContainerSpec"]["Image"] = pinned
    world._good_images.setdefault(svc.id, set()).add(pinned)
    for task in world.tasks.values():
        if task.service_id == svc.id and task.image == old:
            task.image = pinned


def crashes(world, image: str) -> bool:
    """Do tasks of `image` exit at once? Pinned: that digest; a bare tag: what the tag points at now."""
    reg = getattr(world, "registry", None)
    if reg is None or not reg.crashing:
        return False
    repo, tag, digest = split_name(image)
    return (digest or reg.digest_of(repo, tag)) in reg.crashing


def distribution(world, image: str) -> dict:
    """/distribution/{name}/json: the descriptor the tag resolves to (as the engine asks the registry)."""
    reg = registry_of(world)
    repo, tag, digest = split_name(image)
    found = reg.digest_of(repo, digest or tag)
    if repo in reg.private:
        raise SimError(401, f"Head \"https://registry-1.docker.io/v2/{repo}/manifests/{tag}\": unauthorized: "
                            "authentication required")
    if found is None:
        raise SimError(401, f"Error response from daemon: manifest unknown: manifest unknown ({repo}:{tag})")
    media, body = reg.manifests[found]
    platforms = [{"architecture": "amd64", "os": "linux"}]
    if media == LIST:
        platforms = [m["platform"] for m in json.loads(body)["manifests"]]
    return {"Descriptor": {"mediaType": media, "digest": found, "size": len(body)}, "Platforms": platforms}


def new_token(reg: SimRegistry, repos: set[str]) -> str:
    token = secrets.token_hex(16)
    reg.tokens[token] = repos
    if len(reg.tokens) > 1000:
        reg.tokens.pop(next(iter(reg.tokens)))
    return token


# ------------------------------------------------------------------ faults


def _target(kind: str, target) -> str:
    if not target or not isinstance(target, str):
        raise SimError(400, f"fault {kind}: give an image REPO:TAG (or a repository for registry-private)")
    return target


def inject_registry(world, kind: str, target) -> None:
    reg = registry_of(world)
    text = _target(kind, target)
    if kind == "registry-private":
        reg.private.add(split_name(text)[0])
    else:
        publish(world, text, crash=kind == "image-crash")


def clear_registry(world, kind: str, target) -> None:
    reg = registry_of(world)
    if kind == "registry-private":
        if target:
            reg.private.discard(split_name(str(target))[0])
        else:
            reg.private = {r for r in reg.private if r == "lab/private-app"}
    elif kind == "image-crash":
        if target:
            repo, tag, _ = split_name(str(target))
            reg.crashing.discard(reg.digest_of(repo, tag) or "")
        else:
            reg.crashing.clear()


def registry_faults_dict(world) -> dict:
    reg = getattr(world, "registry", None)
    if reg is None:
        return {}
    return {"registry_private": sorted(reg.private), "image_crashing": sorted(reg.crashing)}
