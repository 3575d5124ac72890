"""Docker Registry HTTP API v2 (the distribution spec): the digest a tag points at now.

`RegistryClient.tag_digest(ref)` asks the registry for the manifest of a tag
(HEAD, then GET when the registry sends no Docker-Content-Digest) with every
manifest type in Accept (OCI index, Docker manifest list, Docker v2, OCI
manifest), so the digest is the one `docker service create` pins (the index's
for a multi-platform image). Bearer token challenges are answered the way the
Docker client does (anonymously, or with the credentials given for that
registry); Basic challenges with the credentials given. Blocking (requests):
call it in a thread (`check_images` does).

Every failure is a `RegistryError` with a reason in words (registry not
reachable, TLS, private image without credentials, tag or repository unknown,
rate limited), never a traceback; text from the registry is made inert here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError
from console.inert import cap, inert

DOCKER_HUB = "docker.io"
HUB_API = "https://registry-1.docker.io"
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """A check that could not be made; `reason` says why, in words."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status  # the registry's HTTP status, when it answered


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "docker.io", "ghcr.io", "127.0.0.1:5000"
    repository: str  # "library/nginx", "team/app"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """How Docker names it: `nginx:1.27`, `ghcr.io/team/app:2`."""
        repo = self.repository.removeprefix("library/") if self.registry == DOCKER_HUB else self.repository
        base = repo if self.registry == DOCKER_HUB else f"{self.registry}/{repo}"
        return base + (f":{self.tag}" if self.tag else "")


def parse_reference(text: str) -> ImageRef:
    """`[registry/]repo[:tag][@sha256:...]`, normalised as Docker does (docker.io, library/, latest)."""
    raw = (text or "").strip()
    rest, _, digest = raw.partition("@")
    if digest and not _DIGEST.match(digest):
        raise ConsoleError("registry", f"image {raw!r}: {digest!r} is not a sha256 digest")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    tag = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ConsoleError("registry", f"image {raw!r}: {tag!r} is not a valid tag")
    if not path or not all(_COMPONENT.match(c) for c in path.split("/")):
        raise ConsoleError("registry", f"image {raw!r} is not an image reference", "such as nginx:1.27 or host/app:2")
    if registry in (DOCKER_HUB, "index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return ImageRef(registry, path, tag or (None if digest else "latest"), digest or None)


def docker_credentials(path: str | None = None) -> dict[str, tuple[str, str]]:
    """Registry -> (user, password) from the Docker CLI's config (`docker login` writes it:
    $DOCKER_CONFIG/config.json or ~/.docker/config.json, "auths" entries with a base64 "auth").
    Credential helpers (credsStore) are not asked. A missing or unreadable file gives none."""
    import base64
    import json
    import os
    from pathlib import Path

    file = Path(path) if path else Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        auths = json.loads(file.read_text()).get("auths") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    out: dict[str, tuple[str, str]] = {}
    for key, entry in auths.items() if isinstance(auths, dict) else ():
        host = str(key).split("://", 1)[-1].split("/", 1)[0]
        host = DOCKER_HUB if host in ("index.docker.io", "registry-1.docker.io", "docker.io") else host
        try:
            user, _, password = base64.b64decode((entry or {}).get("auth", "")).decode().partition(":")
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue
        if user and password:
            out[host] = (user, password)
    return out


def _loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 or host.startswith("[") else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class RegistryClient:
    """Blocking client. `mirrors` maps a registry (as in the image name, "docker.io") to the base
    URL to ask instead (Docker's registry-mirrors; the simulated lab uses it); `credentials` maps a
    registry to (user, password). A loopback registry is tried over HTTPS, then plain HTTP (what
    Docker does for its default insecure range 127.0.0.0/8)."""

    def __init__(self, mirrors: Mapping[str, str] | None = None,
                 credentials: Mapping[str, tuple[str, str]] | None = None, timeout: float = 5.0,
                 verify: bool | str = True):
        self.mirrors = {k: v.rstrip("/") for k, v in (mirrors or {}).items()}
        self.credentials = dict(credentials or {})
        self.timeout = timeout
        self.verify = verify
        self._tokens: dict[tuple[str, str], str] = {}  # (base, scope) -> bearer token
        self._session: Any = None

    def _http(self):
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.trust_env = False  # no proxy or CA bundle from the environment decides for us
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def bases(self, registry: str) -> list[str]:
        if registry in self.mirrors:
            return [self.mirrors[registry]]
        if registry == DOCKER_HUB:
            return [HUB_API]
        if _loopback(registry):
            return [f"https://{registry}", f"http://{registry}"]
        return [f"https://{registry}"]

    # ------------------------------------------------------------ reads

    def tag_digest(self, ref: ImageRef) -> str:
        """The digest the tag points at now (HEAD; GET and hash the body when the header is missing)."""
        path = f"/v2/{ref.repository}/manifests/{ref.tag or ref.digest}"
        try:
            res = self._request(ref, "HEAD", path)
        except RegistryError as exc:
            if exc.status != 404:
                raise
            self.tags(ref)  # distribution answers MANIFEST_UNKNOWN for a repository it does not know too
            raise
        digest = res.headers.get("Docker-Content-Digest", "")
        if _DIGEST.match(digest):
            return digest
        res = self._request(ref, "GET", path)
        return "sha256:" + hashlib.sha256(res.content).hexdigest()

    def tags(self, ref: ImageRef) -> list[str]:
        res = self._request(ref, "GET", f"/v2/{ref.repository}/tags/list")
        try:
            return [inert(t) for t in (res.json().get("tags") or [])]
        except (ValueError, AttributeError):
            raise RegistryError(f"{ref.registry}: the tag list is not JSON") from None

    def _request(self, ref: ImageRef, method: str, path: str):
        import requests

        bases = self.bases(ref.registry)
        last: RegistryError | None = None
        for i, base in enumerate(bases):
            try:
                return self._send(base, ref, method, path)
            except requests.exceptions.SSLError as exc:
                last = RegistryError(f"{ref.registry}: TLS failed ({_tls_reason(exc)})")
            except requests.exceptions.Timeout:
                raise RegistryError(f"{ref.registry}: no answer within {self.timeout:g} s") from None
            except requests.exceptions.ConnectionError:
                last = RegistryError(f"registry {ref.registry} is not reachable ({base})")
            if i + 1 < len(bases):
                continue
        raise last or RegistryError(f"registry {ref.registry}: nothing to ask")

    def _send(self, base: str, ref: ImageRef, method: str, path: str):
        http = self._http()
        scope = f"repository:{ref.repository}:pull"
        headers = {"Accept": ACCEPT}
        token = self._tokens.get((base, scope))
        if token:
            headers["Authorization"] = f"Bearer {token}"

        def send(how: str):
            return http.request(how, base + path, headers=headers, timeout=self.timeout, verify=self.verify,
                                allow_redirects=True)

        res = send(method)
        if res.status_code == 401:
            headers.update(self._answer_challenge(base, ref, res.headers.get("WWW-Authenticate", ""), scope))
            res = send(method)
            if res.status_code == 401:
                creds = ref.registry in self.credentials
                raise RegistryError(f"{ref.name}: the registry refused the credentials given" if creds else
                                    f"{ref.name}: private image (the registry asks for credentials; none given)")
        if res.status_code == 200:
            return res
        if res.status_code == 404 and method == "HEAD":  # a HEAD has no body: a GET says which name is unknown
            res = send("GET")
        raise RegistryError(_status_reason(ref, res), res.status_code)

    def _answer_challenge(self, base: str, ref: ImageRef, header: str, scope: str) -> dict[str, str]:
        scheme = header.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE.findall(header))
        creds = self.credentials.get(ref.registry)
        if scheme == "basic":
            if not creds:
                raise RegistryError(f"{ref.name}: private image (the registry asks for credentials; none given)")
            import base64

            return {"Authorization": "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()}
        if scheme != "bearer" or not params.get("realm", "").startswith(("http://", "https://")):
            raise RegistryError(f"{ref.registry}: unsupported authentication challenge ({cap(inert(header), 80)})")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        try:
            res = self._http().get(params["realm"], params=query, auth=creds, timeout=self.timeout,
                                   verify=self.verify)
        except Exception:  # noqa: BLE001 - any transport failure of the token service means the same
            raise RegistryError(f"{ref.registry}: its token service did not answer") from None
        if res.status_code in (401, 403):
            raise RegistryError(f"{ref.name}: private image (the token service refused "
                                f"{'the credentials given' if creds else 'an anonymous pull'})")
        try:
            body = res.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if res.status_code != 200 or not token:
            raise RegistryError(f"{ref.registry}: its token service answered HTTP {res.status_code} without a token")
        self._tokens[(base, scope)] = token
        return {"Authorization": f"Bearer {token}"}


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate not trusted"
    if "WRONG_VERSION_NUMBER" in text or "record layer" in text:
        return "the registry does not speak HTTPS"
    return "handshake failed"


def _status_reason(ref: ImageRef, res) -> str:
    code = ""
    message = ""
    try:
        first = (res.json().get("errors") or [{}])[0]
        code, message = inert(first.get("code", "")), cap(inert(first.get("message", "")), 120)
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    if res.status_code == 404:
        if code == "NAME_UNKNOWN":
            return f"{ref.name}: repository not found in {ref.registry}"
        return f"{ref.name}: tag not found in {ref.registry}"
    if res.status_code == 429:
        return f"{ref.registry}: rate limited (HTTP 429); try later"
    if res.status_code == 403:
        return f"{ref.name}: access denied (HTTP 403)"
    return f"{ref.registry}: HTTP {res.status_code}" + (f" {code}: {message}" if code or message else "")
