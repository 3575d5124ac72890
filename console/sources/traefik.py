"""Traefik's API (read-only): version, http/tcp/udp routers, services with
per-server status, middlewares, entrypoints.

requests (through console.sources.tls: CA or pinned fingerprint) runs in
threads, one per endpoint, all concurrently. List endpoints are paginated by
Traefik (`per_page`, `page`); the `X-Next-Page` header names the next page and
is "1" on the last one, so pages are followed while it grows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from console.config_model import TraefikConfig
from console.errors import ConsoleError, plain_reason
from console.inert import inert, inert_tree
from console.model import TraefikState
from console.sources import shape as sh
from console.sources import traefik_parse as tp
from console.sources.shape import ShapeError
from console.sources.tls import describe_tls_error, requests_session

PER_PAGE = 100
MAX_PAGES = 1000
# (path, optional): optional endpoints may be absent on older Traefik (404 -> empty)
LISTS = {
    "http_routers": ("/api/http/routers", False),
    "http_services": ("/api/http/services", False),
    "http_middlewares": ("/api/http/middlewares", False),
    "tcp_routers": ("/api/tcp/routers", True),
    "tcp_services": ("/api/tcp/services", True),
    "tcp_middlewares": ("/api/tcp/middlewares", True),
    "udp_routers": ("/api/udp/routers", True),
    "udp_services": ("/api/udp/services", True),
    "entrypoints": ("/api/entrypoints", False),
}


def _public(url: str) -> str:
    """The URL without any user:password part, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class TraefikSource:
    name = "traefik"

    def __init__(self, cfg: TraefikConfig):
        self.cfg = cfg
        self.base = _public(cfg.url.rstrip("/"))
        self._session: requests.Session | None = None
        self._last_read: tuple[bytes, TraefikState] | None = None  # digests of the last parsed pages, and its state

    def _get_session(self) -> requests.Session:
        if self._session is None:
            session = requests_session(self.cfg.tls)
            if self.cfg.username:
                password = self.cfg.password.read() if self.cfg.password is not None else ""
                session.auth = (self.cfg.username, password)
            session.headers["Accept"] = "application/json"
            self._session = session
        return self._session

    async def fetch(self) -> TraefikState:
        """The layer's state. Every page is read as bytes; when all of them are the bytes of the last
        poll (routers and services rarely change), the last state is the answer, without decoding,
        making inert or parsing hundreds of routers again."""
        session = self._get_session()
        version_task = asyncio.to_thread(self._get_pages, session, "/api/version", True, paged=False)
        list_tasks = [asyncio.to_thread(self._get_pages, session, path, optional) for path, optional in LISTS.values()]
        answers = await asyncio.gather(version_task, *list_tasks)
        digest = b"".join(d for pages in answers for _, _, d in pages)
        if self._last_read is not None and self._last_read[0] == digest:
            return self._last_read[1]
        # decoding and parsing 600 routers takes tens of ms: in a worker thread, never on the event loop
        state = await asyncio.to_thread(self._decode_and_parse, answers)
        self._last_read = (digest, state)  # frozen all the way down: safe to hand out again
        return state

    def _decode_and_parse(self, answers: list[list[tuple[str, bytes, bytes]]]) -> TraefikState:
        version_pages, *list_pages = answers
        version = self._decode(*version_pages[0][:2]) if version_pages else None
        lists = [self._decode_list(pages) for pages in list_pages]
        return _parse_answers(version, dict(zip(LISTS, lists, strict=True)))

    async def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # ------------------------------------------------------------- blocking I/O

    def _get_pages(self, session: requests.Session, path: str, optional: bool,
                   paged: bool = True) -> list[tuple[str, bytes, bytes]]:
        """Blocking: every page of one endpoint as (where, bytes, digest); [] when an optional one is absent."""
        pages: list[tuple[str, bytes, bytes]] = []
        page = 1
        for _ in range(MAX_PAGES):
            got = self._get_raw(session, path, {"per_page": PER_PAGE, "page": page} if paged else None, optional)
            if got is None:
                return []
            raw, next_page = got
            pages.append((path, raw, hashlib.blake2b(raw, digest_size=16).digest()))
            if not paged or next_page is None or next_page <= page:
                return pages
            page = next_page
        raise ConsoleError("traefik", f"{self.base}{path}: more than {MAX_PAGES} pages")

    def _decode_list(self, pages: list[tuple[str, bytes, bytes]]) -> list:
        items: list = []
        for path, raw, _ in pages:
            data = self._decode(path, raw)
            if not isinstance(data, list):
                raise ShapeError(f"traefik {path}", f"{self.base} answered {sh.kind(data)}, expected a list of "
                                 "objects", "is this URL the Traefik API?")
            items.extend(data)
        return items

    def _decode(self, path: str, raw: bytes) -> Any:
        try:
            data = json.loads(raw)
        except ValueError:  # not JSON, or not UTF-8/16/32 text at all
            raise ConsoleError("traefik", f"{self.base}{path} answered malformed JSON ({len(raw)} bytes)",
                               "is this URL the Traefik API, or a proxy's error page?") from None
        return inert_tree(data)  # the one boundary: Traefik's text is inert from here on

    def _get_raw(self, session: requests.Session, path: str, params: dict | None,
                 optional: bool) -> tuple[bytes, int | None] | None:
        where = f"{self.base}{path}"
        try:
            r = session.get(self.cfg.url.rstrip("/") + path, params=params, timeout=self.cfg.timeout)
        except requests.exceptions.SSLError as exc:
            message, hint = describe_tls_error(exc, self.base, self.cfg.tls)
            raise ConsoleError("traefik", message, hint) from None
        except requests.exceptions.Timeout:
            raise ConsoleError("traefik", f"no answer from {where} within {self.cfg.timeout:g} s",
                               "check that Traefik is up and reachable") from None
        except requests.exceptions.ConnectionError as exc:
            raise ConsoleError("traefik", f"cannot connect to {self.base}: {plain_reason(exc)}",
                               "check the url and that the Traefik API is enabled") from None
        except requests.exceptions.RequestException as exc:
            raise ConsoleError("traefik", f"request to {where} failed: {plain_reason(exc)}") from None
        if r.status_code == 404 and optional:
            return None
        if r.status_code in (401, 403):
            raise ConsoleError("traefik", f"{where} refused the request (HTTP {r.status_code})",
                               "check traefik username and password_file/password_env")
        if r.status_code >= 400:
            raise ConsoleError("traefik", f"{where} answered HTTP {r.status_code} {r.reason or ''}".rstrip()
                               + _body_hint(r), "check Traefik's log" if r.status_code >= 500 else
                               "is this URL the Traefik API (api@internal or --api.insecure)?")
        try:
            next_page = int(r.headers.get("X-Next-Page", ""))
        except ValueError:
            next_page = None
        return r.content, next_page


def _parse_answers(version: Any, got: dict[str, list]) -> TraefikState:
    """Blocking: the layer's state from one poll's answers (already inert)."""
    return TraefikState(
        version=tp.parse_version(version),
        routers=tp.parse_routers(got["http_routers"], "http") + tp.parse_routers(got["tcp_routers"], "tcp")
        + tp.parse_routers(got["udp_routers"], "udp"),
        services=tp.parse_services(got["http_services"], "http") + tp.parse_services(got["tcp_services"], "tcp")
        + tp.parse_services(got["udp_services"], "udp"),
        middlewares=tp.parse_middlewares(got["http_middlewares"], "http")
        + tp.parse_middlewares(got["tcp_middlewares"], "tcp"),
        entrypoints=tp.parse_entrypoints(got["entrypoints"]),
    )


def _body_hint(r: requests.Response) -> str:
    """The gist of an error body: its first line, or an HTML page's title (a reverse proxy's
    error page), never markup."""
    body = (r.text or "").strip()
    if body.startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", body, re.I | re.S)
        text = re.sub(r"\s+", " ", title.group(1)).strip() if title else ""
        return f" (an HTML page: {inert(text)[:120]})" if text else " (an HTML page)"
    lines = body.splitlines()
    return f": {inert(lines[0])[:160]}" if lines else ""
