"""The sim's control interface: a loopback HTTP API and the `python -m console.sim fault|clear|state` CLI.

HTTP (JSON):
  GET  /state               World.summary()
  GET  /availability        the availability record
  POST /fault               {"kind", "target"?, "value"?}    -> World.inject
  POST /clear               {"kind"?, "target"?}             -> World.clear
  POST /reset-availability
Errors: {"error": message} with 400/404.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from aiohttp import web

from console.sim.sim_errors import SimError


def make_control_app(world) -> web.Application:
    async def state(_req: web.Request) -> web.Response:
        return web.json_response(world.summary())

    async def availability(_req: web.Request) -> web.Response:
        return web.json_response(world.availability_dict())

    async def _body(req: web.Request) -> dict:
        if not req.can_read_body:
            return {}
        try:
            data = await req.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text=json.dumps({"error": "body is not valid JSON"}),
                                     content_type="application/json") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text=json.dumps({"error": "body must be a JSON object"}),
                                     content_type="application/json")
        return data

    def _target(data: dict):
        t = data.get("target")
        return None if t in (None, "") else str(t)

    async def fault(req: web.Request) -> web.Response:
        data = await _body(req)
        kind = data.get("kind")
        if not isinstance(kind, str):
            return web.json_response({"error": "missing 'kind'"}, status=400)
        value = data.get("value")
        try:
            value = None if value in (None, "") else float(value)
            world.inject(kind, _target(data), value)
        except ValueError:
            return web.json_response({"error": f"value must be a number, got {data.get('value')!r}"}, status=400)
        except SimError as exc:
            return web.json_response({"error": exc.message}, status=exc.status if exc.status in (400, 404) else 400)
        return web.json_response({"ok": True, "faults": world.faults_dict()})

    async def clear(req: web.Request) -> web.Response:
        data = await _body(req)
        try:
            world.clear(data.get("kind") or None, _target(data))
        except SimError as exc:
            return web.json_response({"error": exc.message}, status=exc.status if exc.status in (400, 404) else 400)
        return web.json_response({"ok": True, "faults": world.faults_dict()})

    async def reset(_req: web.Request) -> web.Response:
        world.reset_availability()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/state", state)
    app.router.add_get("/availability", availability)
    app.router.add_post("/fault", fault)
    app.router.add_post("/clear", clear)
    app.router.add_post("/reset-availability", reset)
    from console.sim.guest_probe import add_guest_routes  # h-upgguest: guest packages, service probes

    add_guest_routes(app, world)
    return app


# ------------------------------------------------------------------- client
class ControlError(Exception):
    pass


def control_url(directory: Path) -> str:
    info = Path(directory) / "sim.json"
    try:
        return json.loads(info.read_text())["control_url"]
    except FileNotFoundError:
        raise ControlError(f"no running sim in {directory} ({info.name} is missing)") from None
    except (ValueError, KeyError):
        raise ControlError(f"{info} is not a sim.json written by console.sim") from None


def call(directory: Path, method: str, path: str, body: dict | None = None, timeout: float = 10.0) -> dict:
    url = control_url(directory) + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            msg = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            msg = exc.reason
        raise ControlError(msg) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ControlError(f"cannot reach the sim at {url}: {getattr(exc, 'reason', exc)}") from None


def cli(argv: list[str]) -> int:
    """`fault --dir DIR KIND [TARGET] [VALUE]`, `clear --dir DIR [KIND [TARGET]]`, `state --dir DIR`,
    `availability --dir DIR`, `reset-availability --dir DIR`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m console.sim")
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fault", help="inject a fault")
    f.add_argument("--dir", required=True, type=Path)
    f.add_argument("kind")
    f.add_argument("target", nargs="?")
    f.add_argument("value", nargs="?")
    c = sub.add_parser("clear", help="clear faults")
    c.add_argument("--dir", required=True, type=Path)
    c.add_argument("kind", nargs="?")
    c.add_argument("target", nargs="?")
    for name in ("state", "availability", "reset-availability"):
        sub.add_parser(name).add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "fault":
            value = args.value
            if value is not None:
                try:
                    value = float(value)
                except ValueError:
                    print(f"error: VALUE must be a number, got {value!r}", file=sys.stderr)
                    return 2
            out = call(args.dir, "POST", "/fault", {"kind": args.kind, "target": args.target, "value": value})
        elif args.cmd == "clear":
            out = call(args.dir, "POST", "/clear", {"kind": args.kind, "target": args.target})
        elif args.cmd == "state":
            out = call(args.dir, "GET", "/state")
        elif args.cmd == "availability":
            out = call(args.dir, "GET", "/availability")
        else:
            out = call(args.dir, "POST", "/reset-availability", {})
    except ControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(out, indent=2, sort_keys=True))
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`
        sys.stdout = None
    return 0
