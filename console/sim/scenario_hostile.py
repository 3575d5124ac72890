"""The `hostile` scenario: the seed lab, plus everything an attacker can name carrying
console.hostile_corpus (markup, OSC title/clipboard, clear-screen, NUL, CR, BEL, RTL
override, zero-width joiners, a 10,000-character string, emoji).

Carried by: guest names and tags, Swarm service names and labels, service log
lines (with honest SGR colours among them), Traefik router names and rules, a
Ceph health check's summary and detail, the keepalived VRRP instance name, and
apt-get dist-upgrade output (package names and maintainer-script lines).

The protocols stay valid: JSON answers escape the control characters
(json.dumps), text answers (logs, apt, ceph text) carry the raw bytes, as a
real cluster would. The seed lab's own objects keep their names, so the lab
still works (maintenance, VRRP, Swarm placement).
"""

from __future__ import annotations

from console.hostile_corpus import CORPUS, OSC_CLIPBOARD, OSC_TITLE, hostile

# Corpus entries that can stand in a single token (a package name, an instance
# name): no whitespace, no line breaks, nothing dpkg-query's tab format would split on.
TOKENS = tuple(s for s in CORPUS if not any(c in s for c in " \t\n\r\x00") and len(s) < 100)

SGR_LINES = (
    "\x1b[32mINFO\x1b[0m request served in \x1b[1m12ms\x1b[0m",
    "\x1b[31;1mERROR\x1b[0m upstream timed out",
    "\x1b[38;5;208mWARN\x1b[0m slow query \x1b[4munderlined\x1b[24m",
)

FIRST_HOSTILE_VMID = 300


def build_hostile(world, build_seed, guest, service, router_cls) -> None:
    """The seed lab, then the corpus wherever the cluster lets someone write text.
    `build_seed`, `guest`, `service` and `router_cls` come from console.sim.scenarios."""
    build_seed(world)
    n = len(CORPUS)
    nodes = list(world.nodes)
    for i in range(n):  # one small guest per corpus entry, its tags hostile too
        vmid = FIRST_HOSTILE_VMID + i
        guest(world, vmid, hostile(i, f"g{vmid}-"), "lxc" if i % 2 else "qemu", nodes[i % len(nodes)], 0.25, 1,
              tags=["evil", hostile(i + 3)], running=i % 3 != 0)
    svcs = []
    for i in range(0, n, 3):  # a handful of services: name, labels
        svc = service(world, hostile(i, "svc-"), "nginx:1.27", "replicated", 1, None)
        svc.spec["Labels"].update({"hostile": hostile(i + 1), hostile(i + 2, "label-"): "x"})
        svcs.append(svc)
    # every service logs the corpus (every other line), and a few coloured lines
    world.log_noise = (*CORPUS, *SGR_LINES)
    for i in range(n):  # Traefik routers: names and rules
        world.routers.append(router_cls(name=hostile(i, "r-") + "@docker", protocol="http",
                                        rule=f"Host(`{hostile(i + 5)}`)", entrypoints=["websecure"],
                                        service="whoami", tls=True))
    world.extra_health_checks = [{
        "code": "HOSTILE_CHECK", "severity": "HEALTH_WARN",
        "summary": hostile(0, "osd.0 says ") + OSC_CLIPBOARD + " [bold red]x[/]",
        "detail": list(CORPUS),
    }]
    for fw in world.firewalls.values():  # both keep the same instance: one VRRP instance, a hostile name
        fw.iname = f"VI_1{OSC_TITLE}[/]"
    world.apt_noise = (*CORPUS, "Progress: [ 40%]\rProgress: [ 80%]\r", "\x1b[1mbold\x1b[0m done")
    for node in world.nodes.values():  # a package with a hostile name, and an update for it
        for k, tok in enumerate(TOKENS):
            name = f"evil{k}{tok}"
            node.packages[name] = "1.0-1"
            node.repo[name] = "1.0-2"
            world._known_versions.setdefault(name, set()).update({"1.0-1", "1.0-2"})
