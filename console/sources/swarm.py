"""Docker Swarm through the Engine API of a manager (docker SDK, in threads).

Managers are tried in the configured order; the one that answered last is
tried first next time. Endpoints:
- unix:///path/docker.sock   a local socket;
- ssh://ALIAS                the manager's `remote_socket`, forwarded to a local
                             unix socket by the shared asyncssh pool;
- tcp://host:port            TCP, with TLS when tls_ca / tls_cert / tls_key are set.

Reads fail over on any failure, including 503 ("no leader"). Writes
(console/sources/swarm_writes.py) fail over only when a manager cannot be
reached, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from console.config_model import SwarmConfig
from console.errors import ConsoleError
from console.inert import inert_sgr, inert_tree
from console.model import SwarmState, SwarmTask
from console.sources import shape as sh
from console.sources.failover import BUDGET_SHARE, MIN_TRY, try_budget
from console.sources.swarm_errors import api_error, docker_reason, failure_hint, not_sent, retryable
from console.sources.swarm_parse import parse_node, parse_state, parse_task
from console.sources.swarm_writes import SwarmWrites

log = logging.getLogger(__name__)
T = TypeVar("T")
LISTS = ("/nodes", "/services", "/tasks")  # what a poll reads, in the order parse_state takes them


class _Unreachable(Exception):
    """A manager could not be reached at all (safe to try the next one)."""


class SwarmSource(SwarmWrites):
    name = "swarm"

    def __init__(self, cfg: SwarmConfig, ssh=None, read_only: bool = False, cluster_name: str | None = None):
        if not cfg.managers:
            raise ConsoleError("swarm", "no managers configured", "set swarm.managers")
        self.cfg = cfg
        self.ssh = ssh
        self.read_only = read_only
        self.cluster_name = cluster_name or "swarm"
        self._clients: dict[str, Any] = {}  # endpoint -> docker.DockerClient
        self._preferred: str | None = None
        self._lock = asyncio.Lock()
        self._last_read: tuple[bytes, SwarmState] | None = None  # digests of the last parsed answers, and its state

    # ------------------------------------------------------------- connecting

    async def _base_url(self, endpoint: str) -> str:
        if endpoint.startswith("ssh://"):
            if self.ssh is None:
                raise ConsoleError("swarm", f"{endpoint}: no SSH pool to reach it")
            alias = endpoint[len("ssh://"):].strip("/")
            local = await self.ssh.forward_unix(alias, self.cfg.remote_socket)
            return f"unix://{local}"
        if endpoint.startswith(("unix://", "tcp://", "http://", "https://")):
            return endpoint
        raise ConsoleError("swarm", f"manager {endpoint!r}: unknown scheme",
                           "use unix:///path, ssh://alias or tcp://host:port")

    def _tls(self):
        if not (self.cfg.tls_ca or self.cfg.tls_cert):
            return False
        from docker.tls import TLSConfig

        class ConfiguredTrustOnly(TLSConfig):
            """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`:
            the configured swarm.tls_ca must win, as it does for Proxmox and Traefik (tls.py)."""

            def configure_client(self, client) -> None:
                super().configure_client(client)
                client.trust_env = False  # runs before the SDK's first request (its /version probe)

        cert = (str(self.cfg.tls_cert), str(self.cfg.tls_key)) if self.cfg.tls_cert and self.cfg.tls_key else None
        return ConfiguredTrustOnly(client_cert=cert, ca_cert=str(self.cfg.tls_ca) if self.cfg.tls_ca else None,
                                   verify=bool(self.cfg.tls_ca))

    def _connect(self, endpoint: str, base_url: str):
        import docker

        tls = self._tls() if base_url.startswith("tcp://") else False
        try:
            # version="auto" asks the engine for its API version: also a reachability probe
            return docker.DockerClient(base_url=base_url, version="auto", timeout=self.cfg.timeout, tls=tls)
        except docker.errors.DockerException as exc:
            # the SDK wraps the real failure of its /version probe: report that one
            raise _Unreachable(docker_reason(exc.__cause__ or exc)) from None

    async def _client(self, endpoint: str):
        async with self._lock:  # a poll and an action must not both open a client
            client = self._clients.get(endpoint)
            if client is None:
                base_url = await self._base_url(endpoint)
                client = await asyncio.to_thread(self._connect, endpoint, base_url)
                self._clients[endpoint] = client
            return client

    def _forget(self, endpoint: str) -> None:
        client = self._clients.pop(endpoint, None)
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken client is best effort
                pass

    def _order(self) -> list[str]:
        managers = list(self.cfg.managers)
        if self._preferred in managers:
            managers.remove(self._preferred)
            managers.insert(0, self._preferred)
        return managers

    async def _run(self, op: Callable[[Any], T], write: bool = False) -> tuple[T, str]:
        """Run `op(api_client)` in a thread on the first manager that works. Reads try
        the managers within one budget (the poll's timeout), not one timeout each."""
        import docker

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.timeout * BUDGET_SHARE
        failures: list[str] = []
        kinds: set[str] = set()
        order = self._order()
        for k, endpoint in enumerate(order):
            left = deadline - loop.time()
            if not write and left <= MIN_TRY:
                failures.append(f"{endpoint}: not tried, no time left within {self.cfg.timeout:g} s")
                continue
            budget = None if write else try_budget(left, len(order) - k)
            # asyncio.timeout, not wait_for: wait_for runs the call in a task of its own, and when the poll's
            # own timeout cancels it just as that task fails, its exception is never retrieved (asyncio logs
            # "Task exception was never retrieved"); here the failure or the cancellation reaches this frame
            try:
                async with asyncio.timeout(budget):
                    client = await self._client(endpoint)
            except (_Unreachable, ConsoleError) as exc:
                failures.append(f"{endpoint}: {exc.message if isinstance(exc, ConsoleError) else exc}")
                kinds.add(str(exc))
                self._forget(endpoint)
                continue
            except TimeoutError:
                failures.append(f"{endpoint}: timed out (no answer within {budget:.1f} s)")
                self._forget(endpoint)
                continue
            client.api.timeout = self.cfg.timeout if budget is None else budget  # the SDK's per-request timeout
            try:
                async with asyncio.timeout(budget):
                    result = await op(client.api)
            except TimeoutError:
                failures.append(f"{endpoint}: timed out (no answer within {budget:.1f} s)")
                self._forget(endpoint)
                continue
            except docker.errors.APIError as exc:
                if write or not retryable(exc):
                    raise api_error(endpoint, exc) from None
                failures.append(f"{endpoint}: {docker_reason(exc)}")
                kinds.add(f"HTTP {getattr(exc, 'status_code', '')}")
                self._forget(endpoint)
                continue
            except (docker.errors.DockerException, OSError, _requests_errors()) as exc:
                failures.append(f"{endpoint}: {docker_reason(exc)}")
                kinds.add(docker_reason(exc))
                self._forget(endpoint)
                if write and not not_sent(exc):
                    raise ConsoleError("swarm", f"{endpoint}: {docker_reason(exc)}",
                                       "the change may or may not have been applied; check before retrying") from None
                continue
            if self._preferred != endpoint:
                if self._preferred is not None:
                    log.info("swarm: now using manager %s", endpoint)
                self._preferred = endpoint
            return result, endpoint
        raise ConsoleError("swarm", "no manager answered: " + "; ".join(failures), failure_hint(kinds))

    # ------------------------------------------------------------------ reads

    async def fetch(self) -> SwarmState:
        """The layer's state. The three lists (megabytes of JSON on a large swarm: every task with its
        full spec) are read as bytes; when they are the bytes of the last poll, which is nearly every
        poll, the last state is the answer, without decoding, making inert or parsing them again."""
        async def op(api):
            answers = await asyncio.gather(*(asyncio.to_thread(_read_raw, api, path) for path in LISTS))
            digest = b"".join(d for _, d in answers)
            if self._last_read is not None and self._last_read[0] == digest:
                return digest, None
            # decoded here, inside the failover: a manager answering malformed JSON is skipped
            return digest, await asyncio.to_thread(_decode_all, [raw for raw, _ in answers])

        (digest, decoded), endpoint = await self._run(op)
        if decoded is None and self._last_read is not None:
            state = self._last_read[1]
            return state if state.manager == endpoint else dataclasses.replace(state, manager=endpoint)
        # making 300 services' and 1,000 tasks' text inert and parsing them takes hundreds of ms
        # on a loaded machine: in a worker thread, never on the event loop
        state = await asyncio.to_thread(_parse_answers, *decoded, endpoint)
        self._last_read = (digest, state)  # frozen all the way down: safe to hand out again
        return state

    async def tasks_on_node(self, node: str) -> list[SwarmTask]:
        async def op(api):
            raw = inert_tree(await asyncio.to_thread(api.inspect_node, node))
            parsed = parse_node(raw, where=f"swarm /nodes/{node}")
            tasks = inert_tree(await asyncio.to_thread(api.tasks, filters={"node": parsed.id}))
            return [parse_task(t, {parsed.id: parsed.hostname}, where="swarm /tasks")
                    for t in sh.objects(tasks, "swarm /tasks", "the answer")]

        return (await self._run(op))[0]

    async def service_logs(self, service: str, tail: int = 200, timestamps: bool = True) -> list[str]:
        def read(api) -> list[str]:
            chunks = api.service_logs(service, stdout=True, stderr=True, follow=False,
                                      tail=tail, timestamps=timestamps)
            data = b"".join(c if isinstance(c, bytes) else str(c).encode() for c in chunks)
            # colours may stay, every other escape goes (the task@node prefix is plain text and stays)
            return [inert_sgr(line) for line in data.decode(errors="replace").splitlines()]

        async def op(api):
            return await asyncio.to_thread(read, api)

        return (await self._run(op))[0]

    async def service_inspect(self, service: str) -> dict:
        """One service as the engine has it (Spec, PreviousSpec, Version, UpdateStatus), text inert."""
        async def op(api):
            return inert_tree(await asyncio.to_thread(api.inspect_service, service))

        return (await self._run(op))[0]

    async def service_tasks(self, service_id: str) -> list[dict]:
        """The tasks of one service as the engine has them (with Spec.ContainerSpec.Image), text inert."""
        async def op(api):
            return inert_tree(await asyncio.to_thread(api.tasks, filters={"service": service_id}))

        return (await self._run(op))[0]

    async def image_digest(self, image: str) -> str:
        """The digest `image`'s tag points at, as the manager resolves it (GET /distribution/{name}/json:
        the engine asks the registry with its own credentials, as `docker service update` does)."""
        async def op(api):
            return inert_tree(await asyncio.to_thread(api.inspect_distribution, image))

        raw = (await self._run(op))[0]
        digest = ((raw or {}).get("Descriptor") or {}).get("digest", "")
        if not str(digest).startswith("sha256:"):
            raise ConsoleError("swarm", f"the manager resolved {image} without a digest")
        return str(digest)

    async def task_inspect(self, task: str) -> dict:
        """One task as the engine has it (its container id is in Status.ContainerStatus), text inert."""
        async def op(api):
            return inert_tree(await asyncio.to_thread(api.inspect_task, task))

        return (await self._run(op))[0]

    async def follow_service_logs(self, service: str, on_line: Callable[[str], None], stop: asyncio.Event,
                                  tail: int = 200, timestamps: bool = True, follow: bool = True) -> None:
        """Stream a service's logs (the Engine's follow=1 stream, not a re-fetch) until `stop` is set
        or the stream ends; each line (inert but for colours, with the task's details so the caller
        can print `task@node`) goes to `on_line` on the event loop."""
        loop = asyncio.get_running_loop()

        held: list = []

        def pump(api) -> None:
            raw = api.inspect_service(service)
            tty = bool(((raw.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec", {}).get("TTY"))
            params = {"follow": int(follow), "stdout": 1, "stderr": 1, "tail": tail, "timestamps": int(timestamps),
                      "details": 1}
            res = api._get(api._url("/services/{0}/logs", raw["ID"]), params=params, stream=True)
            api._raise_for_status(res)
            held.append(res)
            chunks = api._stream_raw_result(res) if tty else api._multiplexed_response_stream_helper(res)
            rest = b""
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    rest += chunk if isinstance(chunk, bytes) else str(chunk).encode()
                    *lines, rest = rest.split(b"\n")
                    for line in lines:
                        loop.call_soon_threadsafe(on_line, inert_sgr(line.decode(errors="replace")))
                if rest:
                    loop.call_soon_threadsafe(on_line, inert_sgr(rest.decode(errors="replace")))
            except Exception:  # noqa: BLE001 - on stop the socket is shut under the reader: the end, not an error
                if not stop.is_set():
                    raise
            finally:
                res.close()

        async def op(api):
            api.timeout = None  # a follow stream is quiet for as long as the service is
            worker = asyncio.ensure_future(asyncio.to_thread(pump, api))
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the caller went away: end the thread's read too
                stop.set()
                for res in held:
                    _shutdown(res)
                raise
            finally:
                stopper.cancel()
            if not worker.done():  # stopped: closing the response ends the thread's blocking read
                for res in held:
                    _shutdown(res)
                await asyncio.wait({worker}, timeout=2.0)
            if worker.done() and not worker.cancelled() and worker.exception() is not None:
                exc = worker.exception()
                raise ConsoleError("swarm", f"log stream of {service} ended: {docker_reason(exc)}",
                                   "press l again to reopen it") from None

        await self._run(op, write=True)  # write=True: no read budget on a stream that lasts

    async def close(self) -> None:
        for endpoint in list(self._clients):
            self._forget(endpoint)


# --------------------------------------------------------------------- helpers


def _shutdown(res) -> None:
    """Unblock a thread reading a streamed response: shut the socket down, then close it."""
    import socket

    try:
        sock = res.raw._fp.fp.raw._sock
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass
    try:
        res.close()
    except Exception:  # noqa: BLE001 - best effort on a stream being torn down
        pass


def _requests_errors():
    import requests

    return requests.exceptions.RequestException


def _read_raw(api, path: str) -> tuple[bytes, bytes]:
    """Blocking: one list's answer as bytes (what api.nodes() etc. would decode) and its digest."""
    res = api._get(api._url(path))
    api._raise_for_status(res)
    raw = res.content
    return raw, hashlib.blake2b(raw, digest_size=16).digest()


def _decode_all(raws: list[bytes]) -> list[Any]:
    """Blocking: JSON-decode each answer; malformed JSON fails as the SDK's own decoding would."""
    import requests

    out = []
    for raw in raws:
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise requests.exceptions.JSONDecodeError(exc.msg, exc.doc, exc.pos) from None
        except ValueError as exc:  # not UTF-8/16/32 at all
            raise requests.exceptions.JSONDecodeError(str(exc), "", 0) from None
    return out


def _parse_answers(nodes: Any, services: Any, tasks: Any, endpoint: str) -> SwarmState:
    """Blocking: the layer's state from one poll's answers. The one boundary: the engine's text
    is inert from here on."""
    return parse_state(inert_tree(nodes), inert_tree(services), inert_tree(tasks), endpoint)


