"""What the guests' services answer, served on the sim's control port (loopback):
`GET /guest-http/VMID` is a guest's web front (200 while it runs and its upgrade
did not break it, 503 otherwise) for the console's HTTP probes;
`GET /guests` the package state of every guest, for tests."""

from __future__ import annotations

from aiohttp import web

from console.sim import guest_pkgs as GP


def add_guest_routes(app: web.Application, world) -> None:
    async def http(req: web.Request) -> web.Response:
        try:
            vmid = int(req.match_info["vmid"])
        except ValueError:
            raise web.HTTPNotFound() from None
        world.tick()
        if vmid not in world.guests:
            raise web.HTTPNotFound()
        if GP.service_up(world, vmid):
            return web.Response(text=f"{world.guests[vmid].name}: ok\n")
        return web.Response(status=503, text="503 Service Unavailable\n")

    async def guests(_req: web.Request) -> web.Response:
        world.tick()
        return web.json_response(GP.summary(world))

    app.router.add_get("/guest-http/{vmid}", http)
    app.router.add_get("/guests", guests)
