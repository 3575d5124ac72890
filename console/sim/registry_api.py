"""The simulated image registry: Docker Registry HTTP API v2 (the distribution spec), read side.

make_registry_app(world, base_url) -> aiohttp Application; server.py serves it
on loopback over plain HTTP (a local registry, as Debian's docker-registry is
run by scripts/registry-up.sh) and names it in config.toml as the mirror for
docker.io, so the console asks it for every service image.

  GET|HEAD /v2/                                 200 {} (API version check)
  GET      /v2/<name>/tags/list[?n=&last=]      {"name", "tags"}, paginated with a Link header
  GET|HEAD /v2/<name>/manifests/<tag|digest>    the manifest; Docker-Content-Digest, Content-Type
  GET|HEAD /v2/<name>/blobs/<digest>            config and layer blobs
  GET      /token?service=&scope=               bearer tokens for private repositories

Errors are the spec's {"errors": [{"code", "message", "detail"}]} (NAME_UNKNOWN,
MANIFEST_UNKNOWN, BLOB_UNKNOWN, UNAUTHORIZED, UNSUPPORTED); a private
repository answers 401 with a Bearer challenge. Writes are not offered (405):
new images appear through the faults image-publish / image-crash.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re

from aiohttp import web

from console.sim.registry_state import (
    LIST,
    PASSWORD,
    SCHEMA1,
    SCHEMA2,
    USER,
    new_token,
    registry_of,
    schema1_of,
    sha,
)

SERVICE = "labsim-registry"
_NAME = r"(?P<name>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
_REF = r"(?P<ref>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[0-9a-f]{64})"
API_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}
INDEX = "application/vnd.oci.image.index.v1+json"


def _errors(status: int, code: str, message: str, detail=None, headers: dict | None = None,
            head: bool = False) -> web.Response:
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode() + b"\n"
    hdrs = {**API_HEADER, "Content-Type": "application/json; charset=utf-8", **(headers or {})}
    if head:
        hdrs["Content-Length"] = str(len(body))
        return web.Response(status=status, headers=hdrs)
    return web.Response(status=status, body=body, headers=hdrs)


class RegistryFront:
    def __init__(self, world, base_url: str):
        self.world = world
        self.base_url = base_url.rstrip("/")
        self.routes = [
            (r"/v2/?", ("GET", "HEAD"), self.version),
            (rf"/v2/{_NAME}/tags/list", ("GET",), self.tags),
            (rf"/v2/{_NAME}/manifests/{_REF}", ("GET", "HEAD"), self.manifest),
            (rf"/v2/{_NAME}/blobs/(?P<digest>sha256:[0-9a-f]{{64}})", ("GET", "HEAD"), self.blob),
            (r"/token", ("GET",), self.token),
        ]

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.world.tick()
        delay = self.world.fault_delay("registry")
        if delay > 0:
            await asyncio.sleep(delay)
        for pattern, methods, handler in self.routes:  # noqa: B007 - the route found is used after the loop
            match = re.fullmatch(pattern, request.path)
            if match:
                break
        else:
            return web.Response(status=404, text="404 page not found\n", headers=API_HEADER)
        head = request.method == "HEAD"
        if request.method not in methods:
            return _errors(405, "UNSUPPORTED", "The operation is unsupported.", head=head)
        if self.world.fault_error("registry"):
            return _errors(500, "UNKNOWN", "unknown error", head=head)
        return await handler(request, **match.groupdict())

    # ------------------------------------------------------------ auth

    def _denied(self, request: web.Request, name: str) -> web.Response | None:
        reg = registry_of(self.world)
        if name not in reg.private:
            return None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and name in reg.tokens.get(auth[7:].strip(), set()):
            return None
        challenge = (f'Bearer realm="{self.base_url}/token",service="{SERVICE}",'
                     f'scope="repository:{name}:pull"')
        detail = [{"Type": "repository", "Class": "", "Name": name, "Action": "pull"}]
        return _errors(401, "UNAUTHORIZED", "authentication required", detail,
                       {"WWW-Authenticate": challenge}, head=request.method == "HEAD")

    async def token(self, request: web.Request) -> web.Response:
        reg = registry_of(self.world)
        user = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if (user, password) != (USER, PASSWORD):
                return web.json_response({"details": "incorrect username or password"}, status=401)
        grant: set[str] = set()
        for scope in request.query.getall("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository" and "pull" in actions.split(",") and (user or name not in reg.private):
                grant.add(name)
        token = new_token(reg, grant)
        return web.json_response({"token": token, "access_token": token, "expires_in": 300})

    # ----------------------------------------------------------- reads

    async def version(self, request: web.Request) -> web.Response:
        return web.Response(status=200, body=None if request.method == "HEAD" else b"{}",
                            headers={**API_HEADER, "Content-Type": "application/json; charset=utf-8",
                                     "Content-Length": "2"})

    async def tags(self, request: web.Request, name: str) -> web.Response:
        reg = registry_of(self.world)
        denied = self._denied(request, name)
        if denied is not None:
            return denied
        if name not in reg.tags:
            return _errors(404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        tags = sorted(reg.tags[name])
        last = request.query.get("last")
        if last:
            tags = [t for t in tags if t > last]
        headers = dict(API_HEADER)
        if "n" in request.query:
            try:
                n = int(request.query["n"])
            except ValueError:
                return _errors(400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested",
                               {"n": request.query["n"]})
            if n < len(tags) and n >= 0:
                tags = tags[:n]
                if tags:
                    headers["Link"] = f'</v2/{name}/tags/list?last={tags[-1]}&n={n}>; rel="next"'
        return web.json_response({"name": name, "tags": tags}, headers=headers)

    async def manifest(self, request: web.Request, name: str, ref: str) -> web.Response:
        reg = registry_of(self.world)
        head = request.method == "HEAD"
        denied = self._denied(request, name)
        if denied is not None:
            return denied
        digest = reg.digest_of(name, ref) if name in reg.tags else None
        if digest is None:  # distribution 2.8 says MANIFEST_UNKNOWN for an unknown repository too
            detail = {"Tag": ref} if not ref.startswith("sha256:") else {"Digest": ref}
            return _errors(404, "MANIFEST_UNKNOWN", "manifest unknown", detail, head=head)
        media, body = reg.manifests[digest]
        accepted = {a.split(";")[0].strip() for h in request.headers.getall("Accept", []) for a in h.split(",")}
        if media == LIST and not ({LIST, INDEX} & accepted) and not ref.startswith("sha256:"):
            # a client that cannot read a list gets the linux/amd64 image (what distribution does)
            child = next(m for m in json.loads(body)["manifests"] if m["platform"]["architecture"] == "amd64")
            digest = child["digest"]
            media, body = reg.manifests[digest]
        elif media == SCHEMA2 and not ({SCHEMA2, LIST, INDEX} & accepted):
            media, body = SCHEMA1, schema1_of(name, ref, body)  # an old client: distribution converts
            digest = sha(body)
        headers = {**API_HEADER, "Content-Type": media, "Docker-Content-Digest": digest, "Etag": f'"{digest}"',
                   "Content-Length": str(len(body))}
        return web.Response(status=200, body=None if head else body, headers=headers)

    async def blob(self, request: web.Request, name: str, digest: str) -> web.Response:
        reg = registry_of(self.world)
        head = request.method == "HEAD"
        denied = self._denied(request, name)
        if denied is not None:
            return denied
        data = reg.blobs.get(digest)
        if name not in reg.tags or data is None:
            return _errors(404, "BLOB_UNKNOWN", "blob unknown to registry", digest, head=head)
        headers = {**API_HEADER, "Content-Type": "application/octet-stream", "Docker-Content-Digest": digest,
                   "Etag": f'"{digest}"', "Content-Length": str(len(data)), "Accept-Ranges": "bytes"}
        return web.Response(status=200, body=None if head else data, headers=headers)


REGISTRY_FRONT_KEY = web.AppKey("registry_front", RegistryFront)
__all__ = ["make_registry_app", "SCHEMA2", "LIST"]


def make_registry_app(world, base_url: str) -> web.Application:
    front = RegistryFront(world, base_url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", front.dispatch)
    app[REGISTRY_FRONT_KEY] = front
    return app
