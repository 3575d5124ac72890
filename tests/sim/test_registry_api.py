"""The simulated registry against the distribution spec (Docker Registry HTTP API v2).

The spec text is the one Debian's docker-registry ships
(/usr/share/doc/docker-registry/spec/api.md.gz, installed by
scripts/install-deps.sh --test): every error the sim answers must carry a code
and message from its table. The rest is the spec's rules: the API version
header on /v2/, Docker-Content-Digest = sha256 of the body (HEAD and GET
agree), Content-Type = the manifest's mediaType, Accept negotiation (a list
for clients that take lists, the amd64 image otherwise, schema 1 for a client
that takes nothing newer), tag list pagination with a Link header, blobs by
digest, 401 with a Bearer challenge for a private repository and the token
round trip, 405 UNSUPPORTED for writes. The engine's /distribution/{name}/json
is checked against moby's swagger (DistributionInspect).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console.sim.docker_api import make_docker_app
from console.sim.registry_api import REGISTRY_FRONT_KEY, make_registry_app
from console.sim.registry_state import PASSWORD, USER, registry_of, seed_registry
from console.sim.world import World

SPEC = Path("/usr/share/doc/docker-registry/spec/api.md.gz")
ALL = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
                 "application/vnd.docker.distribution.manifest.v2+json"])
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def spec_errors() -> dict[str, str]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} absent: install docker-registry (scripts/install-deps.sh --test) for the spec text")
    table = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+?) \|", gzip.decompress(SPEC.read_bytes()).decode(), re.M)
    # distribution's errcode.ErrorCodeUnknown (registry/api/errcode/register.go): what it sends with a 500;
    # api.md's table leaves it out
    return {**dict(table), "UNKNOWN": "unknown error"}


def _world() -> World:
    world = World("seed", speed=10, manual_clock=True)
    seed_registry(world)
    return world


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _client(world):
    server = TestServer(make_registry_app(world, "http://127.0.0.1:0"))
    client = TestClient(server)
    await client.start_server()
    server.app[REGISTRY_FRONT_KEY].base_url = str(client.make_url("")).rstrip("/")
    return client


async def _error(resp, spec_errors: dict[str, str], status: int) -> dict:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    (err,) = body["errors"]
    assert err["code"] in spec_errors and spec_errors[err["code"]] == err["message"], err
    return err


async def test_version_tags_and_manifests_follow_the_spec(spec_errors):
    world = _world()
    c = await _client(world)
    try:
        resp = await c.get("/v2/")
        assert resp.status == 200 and resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        assert await resp.json() == {}
        tags = await (await c.get("/v2/traefik/whoami/tags/list")).json()
        assert tags == {"name": "traefik/whoami", "tags": ["v1.10.3"]}
        world.inject("image-publish", "traefik/whoami:v1.10.4")
        world.inject("image-publish", "traefik/whoami:v1.11.0")
        page = await c.get("/v2/traefik/whoami/tags/list", params={"n": "2"})
        assert (await page.json())["tags"] == ["v1.10.3", "v1.10.4"]
        nxt = re.match(r'^<(/v2/traefik/whoami/tags/list\?[^>]+)>; rel="next"$', page.headers["Link"])
        assert nxt and (await (await c.get(nxt.group(1))).json())["tags"] == ["v1.11.0"]

        for name, ref in (("traefik/whoami", "v1.10.3"), ("library/traefik", "v3.1.2")):
            get = await c.get(f"/v2/{name}/manifests/{ref}", headers={"Accept": ALL})
            body = await get.read()
            head = await c.head(f"/v2/{name}/manifests/{ref}", headers={"Accept": ALL})
            digest = get.headers["Docker-Content-Digest"]
            assert digest == head.headers["Docker-Content-Digest"] == _sha(body)
            assert head.headers["Content-Length"] == str(len(body)) and not await head.read()
            assert get.headers["Content-Type"] == json.loads(body)["mediaType"]
            by_digest = await c.get(f"/v2/{name}/manifests/{digest}", headers={"Accept": ALL})
            assert await by_digest.read() == body
        # a multi-platform tag: the list for list-aware clients, the amd64 image for the others
        assert get.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.list.v2+json"
        child = await c.get("/v2/library/traefik/manifests/v3.1.2", headers={"Accept": SCHEMA2})
        amd64 = next(m for m in json.loads(body)["manifests"] if m["platform"]["architecture"] == "amd64")
        assert child.headers["Docker-Content-Digest"] == amd64["digest"] == _sha(await child.read())
        manifest = json.loads(await child.read())
        for blob in [manifest["config"], *manifest["layers"]]:
            got = await c.get(f"/v2/library/traefik/blobs/{blob['digest']}")
            data = await got.read()
            assert _sha(data) == blob["digest"] == got.headers["Docker-Content-Digest"] and len(data) == blob["size"]
        old = await c.get("/v2/traefik/whoami/manifests/v1.10.3")  # no Accept: schema 1, as distribution 2.8
        assert old.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v1+prettyjws"
        assert json.loads(await old.read())["schemaVersion"] == 1
    finally:
        await c.close()


async def test_errors_auth_and_writes_follow_the_spec(spec_errors):
    world = _world()
    c = await _client(world)
    try:
        err = await _error(await c.get("/v2/nothing/here/tags/list"), spec_errors, 404)
        assert err["code"] == "NAME_UNKNOWN"
        err = await _error(await c.get("/v2/traefik/whoami/manifests/v9", headers={"Accept": ALL}), spec_errors, 404)
        assert err["code"] == "MANIFEST_UNKNOWN" and err["detail"] == {"Tag": "v9"}
        head = await c.head("/v2/traefik/whoami/manifests/v9")
        assert head.status == 404 and not await head.read()
        err = await _error(await c.get("/v2/traefik/whoami/blobs/sha256:" + "0" * 64), spec_errors, 404)
        assert err["code"] == "BLOB_UNKNOWN"
        err = await _error(await c.put("/v2/traefik/whoami/manifests/v2", data=b"{}"), spec_errors, 405)
        assert err["code"] == "UNSUPPORTED"

        denied = await c.get("/v2/lab/private-app/manifests/1", headers={"Accept": ALL})
        assert (await _error(denied, spec_errors, 401))["code"] == "UNAUTHORIZED"
        challenge = dict(re.findall(r'(\w+)="([^"]*)"', denied.headers["WWW-Authenticate"]))
        assert denied.headers["WWW-Authenticate"].startswith("Bearer ")
        assert challenge["scope"] == "repository:lab/private-app:pull"
        token_path = challenge["realm"].split("/", 3)[3]
        query = {"service": challenge["service"], "scope": challenge["scope"]}
        anon = (await (await c.get(f"/{token_path}", params=query)).json())["token"]
        again = await c.get("/v2/lab/private-app/manifests/1", headers={"Authorization": f"Bearer {anon}"})
        assert again.status == 401  # an anonymous token does not open a private repository
        basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        wrong = await c.get(f"/{token_path}", params=query, headers={"Authorization": "Basic eDp5"})
        assert wrong.status == 401
        token = (await (await c.get(f"/{token_path}", params=query,
                                    headers={"Authorization": f"Basic {basic}"})).json())["token"]
        ok = await c.get("/v2/lab/private-app/manifests/1", headers={"Authorization": f"Bearer {token}",
                                                                     "Accept": ALL})
        assert ok.status == 200 and ok.headers["Docker-Content-Digest"] == _sha(await ok.read())

        world.inject("error-rate", "registry", 1.0)
        await _error(await c.get("/v2/traefik/whoami/tags/list"), spec_errors, 500)
    finally:
        await c.close()


async def test_engine_distribution_inspect_resolves_through_the_registry():
    from tests.sim.test_docker_conformance import SWAGGER, SwaggerChecker

    if not SWAGGER.is_file():
        pytest.skip(f"upstream fixtures absent ({SWAGGER}): conformance needs ../shared")
    checker = SwaggerChecker(SWAGGER, strict=True)
    world = _world()
    async with TestClient(TestServer(make_docker_app(world, "swarm1"))) as c:
        got = await (await c.get("/v1.45/distribution/traefik/whoami:v1.10.3/json")).json()
        assert not checker.check(got, "DistributionInspect"), checker.check(got, "DistributionInspect")
        assert got["Descriptor"]["digest"] == registry_of(world).tags["traefik/whoami"]["v1.10.3"]
        multi = await (await c.get("/distribution/traefik:v3.1.2/json")).json()
        assert {p["architecture"] for p in multi["Platforms"]} == {"amd64", "arm64"}
        missing = await c.get("/distribution/traefik/whoami:nope/json")
        assert missing.status == 401 and "manifest unknown" in (await missing.json())["message"]
