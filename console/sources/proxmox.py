"""Proxmox VE source: cluster, nodes, guests, HA, tasks; write operations.

proxmoxer (requests) runs in worker threads. Endpoints are tried in order: a
connection failure, a timeout, a TLS failure or HTTP 595 moves on to the next
one, and the one that answered is tried first next time. A 401/403/5xx is the
cluster's answer and is reported, not failed over. The token secret is read
when a connection is built and lives only inside proxmoxer's auth object: it
is never formatted into errors or logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from console.config_model import ProxmoxConfig
from console.errors import ConsoleError, ReadOnlyError, plain_reason
from console.inert import inert, inert_tree
from console.model import HaRule, ProxmoxState
from console.sources import proxmox_parse as pp
from console.sources import shape as sh
from console.sources.ceph_parse import parse_pve_flags
from console.sources.failover import BUDGET_SHARE, MIN_TRY, try_budget
from console.sources.shape import ShapeError
from console.sources.tls import describe_tls_error, mount_tls, verify_setting

log = logging.getLogger(__name__)

SLOW_REFRESH = 60.0  # seconds between reads of per-node versions and pending updates
SLOW_PER_POLL = 4  # nodes refreshed per poll at most (oldest first): big clusters fill in over a few polls
_FAILOVER = 595  # PVE's "no route / node offline" status
_NOT_THERE = (404, 501)  # pveproxy answers a path it does not have with 501 "Method ... not implemented"


_NO_RULES = object()  # /cluster/ha/rules is not there: PVE 8


NO_TASK_LOG = "no content"  # PVE's answer for a task log with nothing past `start`

class _Unreachable(Exception):
    """This endpoint did not answer; try the next one."""

    def __init__(self, error: ConsoleError):
        super().__init__(str(error))
        self.error = error


class ProxmoxSource:
    name = "proxmox"

    def __init__(self, cfg: ProxmoxConfig, read_only: bool = False):
        self.cfg = cfg
        self.read_only = read_only
        self._apis: dict[str, ProxmoxAPI] = {}
        self._generation = 0  # bumped by close(): a call queued before it keeps no connection open after it
        self._current = 0  # index of the endpoint that answered last
        self._slow: dict[str, tuple[float, dict]] = {}  # node -> (fetched at, extra facts)
        self._rules_api: bool | None = None  # /cluster/ha/rules exists (PVE 9); False: read HA groups (PVE 8)
        self._rules_probed = -1e9  # when it was last found missing (re-probed: a cluster gets upgraded)
        self._user, _, self._token_name = cfg.token_id.partition("!")
        # Config problems surface on every call as this source's error (the
        # other sources carry on), not as a crash while wiring the sources.
        self._problem: ConsoleError | None = None
        if not cfg.endpoints:
            self._problem = ConsoleError("proxmox", "no endpoints configured", "set proxmox.endpoints")
        elif not self._token_name:
            self._problem = ConsoleError("proxmox", f"token_id {cfg.token_id!r} is not USER@REALM!TOKENID",
                                         "copy the token id from Datacenter > Permissions > API Tokens")

    # ------------------------------------------------------------ transport

    @property
    def endpoint(self) -> str | None:
        return self.cfg.endpoints[self._current] if self.cfg.endpoints else None

    def _api(self, endpoint: str) -> ProxmoxAPI:
        api = self._apis.get(endpoint)
        if api is None:
            u = urlsplit(endpoint if "//" in endpoint else f"https://{endpoint}")
            host = f"[{u.hostname}]" if u.hostname and ":" in u.hostname else (u.hostname or endpoint)
            api = ProxmoxAPI(host, port=u.port or 8006, user=self._user, token_name=self._token_name,
                             token_value=self.cfg.token_secret.read(), verify_ssl=verify_setting(self.cfg.tls),
                             timeout=self.cfg.timeout)
            mount_tls(api._store["session"], self.cfg.tls)
            self._apis[endpoint] = api
        return api

    def _call_one(self, endpoint: str, method: str, path: str, params: dict,
                  timeout: float | tuple[float, float] | None = None) -> Any:
        where = f"{endpoint.rstrip('/')}/api2/json/{path}"
        try:
            api = self._api(endpoint)
            if timeout is not None:  # proxmoxer reads its timeout from the auth object per request
                api._store["session"].auth.timeout = timeout
            res = api(path)
            data = getattr(res, method)(**params)
        except ResourceException as exc:
            if exc.status_code == _FAILOVER:
                raise _Unreachable(ConsoleError("proxmox", f"{where}: 595 {exc.content}",
                                                "the node behind this endpoint is offline")) from None
            raise _http_error(exc, method, where) from None
        except requests.exceptions.SSLError as exc:
            msg, hint = describe_tls_error(exc, endpoint, self.cfg.tls)
            raise _Unreachable(ConsoleError("proxmox", msg, hint)) from None
        except requests.exceptions.Timeout:
            # with failover each endpoint got a share of the timeout: say which
            waited = f"{self.cfg.timeout:g}" if timeout is None or len(self.cfg.endpoints) == 1 else f"{timeout:.1f}"
            raise _Unreachable(ConsoleError("proxmox", f"no answer from {where} within {waited} s",
                                            "check that the node is up and not overloaded")) from None
        except requests.exceptions.ConnectionError as exc:
            raise _Unreachable(ConsoleError("proxmox", f"cannot connect to {endpoint}: {plain_reason(exc)}",
                                            "check the address and that pveproxy runs")) from None
        except (KeyError, TypeError, AttributeError, ValueError):
            # a JSON answer that is not {"data": ...} (null, a list, no `data`), or not JSON at all
            raise ShapeError(f"proxmox /{path}", f"{endpoint.rstrip('/')} answered without the "
                             "{\"data\": …} envelope", "is this a Proxmox VE API endpoint?") from None
        if isinstance(data, dict) and set(data) == {"errors"} and isinstance(data["errors"], bytes):
            head = inert(data["errors"][:60].decode(errors="replace"))
            raise ShapeError(f"proxmox /{path}", f"{endpoint.rstrip('/')} returned malformed JSON (began {head!r})",
                             "is this a Proxmox VE API endpoint, or a proxy error page?")
        return inert_tree(data)  # the one boundary: cluster text is inert from here on

    def _call(self, method: str, path: str, **params: Any) -> Any:
        """Blocking: try the current endpoint, then the others in order, all within
        one budget (the poll's timeout): a hung endpoint cannot make the failover
        take the timeout once per endpoint."""
        if self._problem is not None:
            raise self._problem
        n = len(self.cfg.endpoints)
        deadline = time.monotonic() + self.cfg.timeout * BUDGET_SHARE
        errors: list[ConsoleError] = []
        # the order is fixed at the start: a concurrent call that fails over meanwhile
        # must not make this one skip an endpoint or try one twice
        start = self._current
        for k in range(n):
            i = (start + k) % n
            left = deadline - time.monotonic()
            if left <= MIN_TRY:
                skipped = ", ".join(self.cfg.endpoints[(start + m) % n] for m in range(k, n))
                errors.append(ConsoleError("proxmox", f"no time left within {self.cfg.timeout:g} s to try {skipped}"))
                break
            timeout = try_budget(left, n - k)
            try:
                data = self._call_one(self.cfg.endpoints[i], method, path, dict(params), timeout)
            except _Unreachable as exc:
                log.info("proxmox endpoint %s failed: %s", self.cfg.endpoints[i], exc.error.message)
                errors.append(exc.error)
                continue
            if i != self._current:
                log.warning("proxmox: failing over to %s", self.cfg.endpoints[i])
                self._current = i
            return data
        if n == 1:
            raise errors[0]
        first = errors[0]
        raise ConsoleError("proxmox", f"none of the {n} endpoints answered; first: {first.message}"
                           + "".join(f"; {e.message}" for e in errors[1:]), first.hint)

    async def _aget(self, path: str, **params: Any) -> Any:
        return await asyncio.to_thread(self._call_since, self._generation, "get", path, params)

    async def _write(self, action: str, method: str, path: str, **params: Any) -> Any:
        if self.read_only:
            raise ReadOnlyError(action, "proxmox")
        return await asyncio.to_thread(self._call_since, self._generation, method, path, params)

    def _call_since(self, generation: int, method: str, path: str, params: dict) -> Any:
        """_call in a worker thread. A call still queued or running when close() ran (its task was
        cancelled, the thread was not) closes what it opened, so nothing stays connected."""
        try:
            return self._call(method, path, **params)
        finally:
            if generation != self._generation:
                self._close_sessions()

    def _close_sessions(self) -> None:
        apis, self._apis = list(self._apis.values()), {}
        for api in apis:
            api._store["session"].close()

    async def close(self) -> None:
        """Close the HTTP connections (keep-alive) of every endpoint."""
        self._generation += 1
        await asyncio.to_thread(self._close_sessions)

    # ------------------------------------------------------------------ read

    async def fetch(self) -> ProxmoxState:
        status, resources, ha_rows, ha_res, rules = await asyncio.gather(
            self._aget("cluster/status"), self._aget("cluster/resources"),
            self._optional("cluster/ha/status/current"), self._optional("cluster/ha/resources"),
            self._rules_rows())
        sh.objects(status, pp.STATUS)  # what this layer needs, checked before anything uses it
        online = [str(r.get("node")) for r in sh.objects(resources, pp.RESOURCES)
                  if r.get("type") == "node" and r.get("status") == "online"]
        await self._refresh_slow(online)
        extra = {n: facts for n, (_, facts) in self._slow.items()}
        groups = await self._optional("cluster/ha/groups") if rules is _NO_RULES else None
        # parsing 2,000 guests takes tens of ms: in a worker thread, never on the event loop
        return await asyncio.to_thread(_parse_state, status, resources, ha_rows, ha_res, rules, groups, extra,
                                       self.endpoint)

    async def _rules_rows(self) -> Any:
        """/cluster/ha/rules rows; None when unreadable; _NO_RULES when this PVE has none (PVE 8)."""
        now = time.monotonic()
        if self._rules_api is False and now - self._rules_probed < SLOW_REFRESH:
            return _NO_RULES
        try:
            rows = await self._aget("cluster/ha/rules")
        except ConsoleError as exc:
            if getattr(exc, "status", None) not in _NOT_THERE:
                return await self._optional_failed("cluster/ha/rules", exc)
            self._rules_api, self._rules_probed = False, now
            return _NO_RULES
        self._rules_api = True
        return rows

    @staticmethod
    async def _optional_failed(path: str, exc: ConsoleError) -> None:
        if getattr(exc, "status", None) in (None, 401, 403):
            raise exc
        log.debug("proxmox: %s unavailable: %s", path, exc)
        return None

    async def _optional(self, path: str) -> Any:
        """HA is optional: a cluster without it answers these with an error or nothing."""
        try:
            return await self._aget(path)
        except ConsoleError as exc:
            return await self._optional_failed(path, exc)

    async def _refresh_slow(self, nodes: list[str]) -> None:
        now = time.monotonic()
        due = sorted((n for n in nodes if now - self._slow.get(n, (-1e9, {}))[0] >= SLOW_REFRESH),
                     key=lambda n: self._slow.get(n, (-1e9, {}))[0])[:SLOW_PER_POLL]
        if due:
            await asyncio.gather(*(self._refresh_node(n, now) for n in due))

    async def _refresh_node(self, node: str, now: float) -> None:
        old = self._slow.get(node, (0.0, {}))[1]
        status, pending = await asyncio.gather(self._aget(f"nodes/{node}/status"),
                                               self._aget(f"nodes/{node}/apt/update"), return_exceptions=True)
        facts = dict(old)
        if not isinstance(status, BaseException):
            try:
                facts["pve_version"], facts["kernel"] = pp.parse_versions(status, node)
            except ShapeError as exc:  # per-node facts are optional: the node keeps its old ones
                log.info("proxmox: %s", exc)
        if isinstance(pending, list):
            facts["pending_updates"] = len(pending)
        for r in (status, pending):
            if isinstance(r, BaseException):
                log.info("proxmox: slow facts for %s: %s", node, r)
                if not isinstance(r, ConsoleError):
                    raise r
        # a node whose version could not be read (e.g. just rebooted) is asked again on the next
        # poll, not in a minute: a plan must not see it as an older node for that long
        read_at = now if facts.get("pve_version") else now - SLOW_REFRESH
        self._slow[node] = (read_at, facts)

    def forget_node_facts(self, node: str | None = None) -> None:
        """Re-read versions/updates on the next poll (after an upgrade or reboot)."""
        if node is None:
            self._slow.clear()
        else:
            self._slow.pop(node, None)

    async def online_nodes(self) -> list[str]:
        rows = await self._aget("nodes")
        return sorted(str(r["node"]) for r in rows or [] if isinstance(r, dict)
                      and r.get("status") == "online" and r.get("node"))

    async def apt_pending(self, node: str) -> list[dict]:
        rows = await self._aget(f"nodes/{node}/apt/update")
        return rows if isinstance(rows, list) else []

    async def apt_versions(self, node: str) -> list[dict]:
        rows = await self._aget(f"nodes/{node}/apt/versions")
        return rows if isinstance(rows, list) else []

    async def node_status(self, node: str) -> dict:
        data = await self._aget(f"nodes/{node}/status")
        return data if isinstance(data, dict) else {}

    async def migrate_preconditions(self, node: str, vmid: int) -> dict:
        data = await self._aget(f"nodes/{node}/qemu/{vmid}/migrate")
        return data if isinstance(data, dict) else {}

    async def task_status(self, node: str, upid: str) -> dict:
        data = await self._aget(f"nodes/{node}/tasks/{upid}/status")
        return data if isinstance(data, dict) else {}

    async def task_log(self, node: str, upid: str, start: int = 0) -> list[str]:
        """The task's log lines past `start`; [] when there are none (PVE then answers with
        one placeholder line "no content", which is not part of the log)."""
        rows = await self._aget(f"nodes/{node}/tasks/{upid}/log", start=start, limit=500)
        lines = [str(r.get("t", "")) for r in rows or [] if isinstance(r, dict)]
        return [] if lines == [NO_TASK_LOG] else lines

    async def wait_task(self, node: str, upid: str, timeout: float,
                        on_line: Callable[[str], None] | None = None, poll: float = 0.5) -> str:
        """Wait until the task stops; return its exitstatus ("OK" on success)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            st = await self.task_status(node, upid)
            if on_line is not None:
                lines = await self.task_log(node, upid, start=seen)
                for line in lines:
                    on_line(line)
                seen += len(lines)
            if st.get("status") == "stopped":
                return str(st.get("exitstatus", "unknown"))
            if time.monotonic() >= deadline:
                raise ConsoleError("proxmox", f"task {upid} on {node} still running after {timeout:g} s",
                                   "it continues on the node; check its log in the task list")
            await asyncio.sleep(poll)

    async def ceph_flags(self) -> set[str]:
        return set(parse_pve_flags(await self._aget("cluster/ceph/flags")))

    async def ceph_status_raw(self) -> dict:
        data = await self._aget("cluster/ceph/status")
        if not isinstance(data, dict):
            raise ConsoleError("proxmox", "cluster/ceph/status returned no status object", "is Ceph installed?")
        return data

    async def ceph_osd_raw(self, node: str) -> Any:
        return await self._aget(f"nodes/{node}/ceph/osd")  # its shape is checked by its parser

    async def ceph_list_raw(self, node: str, what: str) -> list:
        """GET /nodes/{node}/ceph/{pool|mgr|mds|mon}: the lists PVE builds from Ceph's maps."""
        data = await self._aget(f"nodes/{node}/ceph/{what}")
        return data if isinstance(data, list) else []

    # ----------------------------------------------------------------- write

    async def migrate(self, node: str, vmid: int, kind: str, target: str,
                      online: bool = True, restart: bool = False) -> str:
        params: dict[str, Any] = {"target": target}
        if kind == "qemu":
            params["online"] = int(online)
        elif kind == "lxc":
            if restart:
                params["restart"] = 1
        else:
            raise ConsoleError("proxmox", f"unknown guest type {kind!r}", "qemu or lxc")
        return str(await self._write(f"migrate {kind}/{vmid} to {target}", "post",
                                     f"nodes/{node}/{kind}/{vmid}/migrate", **params))

    async def guest_power(self, node: str, vmid: int, kind: str, action: str) -> str:
        if action not in ("start", "stop", "shutdown", "reboot", "suspend", "resume"):
            raise ConsoleError("proxmox", f"unknown power action {action!r}")
        return str(await self._write(f"{action} {kind}/{vmid}", "post", f"nodes/{node}/{kind}/{vmid}/status/{action}"))

    async def reboot(self, node: str) -> str:
        data = await self._write(f"reboot node {node}", "post", f"nodes/{node}/status", command="reboot")
        self.forget_node_facts(node)
        return "" if data is None else str(data)

    async def apt_update(self, node: str) -> str:
        data = await self._write(f"apt update on {node}", "post", f"nodes/{node}/apt/update")
        self.forget_node_facts(node)
        return str(data)

    async def set_ceph_flag(self, flag: str, on: bool) -> None:
        await self._write(f"{'set' if on else 'unset'} ceph flag {flag}", "put",
                          f"cluster/ceph/flags/{flag}", value=int(on))


def _parse_state(status: Any, resources: Any, ha_rows: Any, ha_res: Any, rules: Any, groups: Any,
                 extra: dict[str, dict], endpoint: str | None) -> ProxmoxState:
    """Blocking (run in a worker thread): the layer's state from the answers of one poll."""
    return pp.build_state(status, resources, ha_rows, ha_res, extra, endpoint, _ha_rules(rules, groups, ha_res))


def _ha_rules(rules: Any, groups: Any, ha_res: Any) -> tuple[HaRule, ...] | None:
    if rules is _NO_RULES:  # PVE 8: HA groups are the placement rules
        return None if groups is None else pp.parse_ha_groups(groups, ha_res)
    return None if rules is None else pp.parse_ha_rules(rules)


def _http_error(exc: ResourceException, method: str, where: str) -> ConsoleError:
    err = _http_error_text(exc, method, where)
    err.status = exc.status_code  # lets callers tell "refused" from "not there"
    return err


def _http_error_text(exc: ResourceException, method: str, where: str) -> ConsoleError:
    code = exc.status_code
    detail = ""
    if isinstance(exc.errors, dict) and exc.errors and not isinstance(exc.errors.get("errors"), bytes):
        detail = "; ".join(f"{k}: {str(v).strip()}" for k, v in exc.errors.items())
    reason = str(exc.content or exc.status_message or "").strip()
    text = f"{method.upper()} {where}: {code} {reason}" + (f" ({detail})" if detail else "")
    if code == 401:
        return ConsoleError("proxmox", f"{where}: the API token was refused (401 {reason})",
                            "check token_id and the token secret; the token may be deleted or expired")
    if code == 403:
        return ConsoleError("proxmox", f"{where}: permission denied (403 {reason})",
                            "give the token's user the needed privileges (e.g. Sys.Audit, VM.Migrate) "
                            "or create it without privilege separation")
    if code >= 500:
        return ConsoleError("proxmox", text, "the API server failed; check pveproxy/pvedaemon logs on that node")
    return ConsoleError("proxmox", text, "check the request parameters" if code == 400 else None)
