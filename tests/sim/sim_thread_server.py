"""Test helper: serve an aiohttp app on a unix socket or loopback port from a thread.

Blocking clients (the docker SDK, requests, the docker CLI) then talk to the
sim over a real socket. World calls from the test go through call(), which
runs them on the server's loop so state is never touched from two threads.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from aiohttp import web


class ThreadedServer:
    def __init__(self, make_app, unix_path: str | None = None):
        self._make_app = make_app
        self.unix_path = unix_path
        self.port: int | None = None
        self._loop = asyncio.new_event_loop()
        self._ready: Future = Future()
        self._thread = threading.Thread(target=self._run, name="sim-test-server", daemon=True)
        self._stop: asyncio.Event | None = None

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        self._ready.result(timeout=30)
        return self

    def __exit__(self, *exc) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def call(self, fn, *args):
        """Run fn(*args) on the server's loop and return its result."""
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surface start-up failures to __enter__
            if not self._ready.done():
                self._ready.set_exception(exc)
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self._make_app(), handle_signals=False)
        await runner.setup()
        if self.unix_path:
            site = web.UnixSite(runner, self.unix_path)
        else:
            site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        if not self.unix_path:
            self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set_result(True)
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()
