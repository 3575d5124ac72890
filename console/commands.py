"""The `:` command grammar: text -> Command, and the completion candidates. Pure, no I/O.

    :q!                     quit at once (even during a maintenance run)
    :q | :quit              quit (asks first during a maintenance run)
    :ctx | :context | :cluster [NAME]
                            without NAME: every cluster at a glance, pick one; with it: switch cluster
    :VIEW or an alias       show a view (health, guests, ceph, swarm, traefik, vrrp, maintenance, events,
                            and the views of console/layers.py COMMAND_VIEWS)

The App (console/app.py) dispatches on Command.kind and does the side effects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.layers import COMMAND_VIEWS, LAYER_VIEWS, VIEWS

EMPTY, QUIT_NOW, QUIT, CTX, VIEW, UNKNOWN = "empty", "quit-now", "quit", "ctx", "view", "unknown"

QUIT_WORDS = ("q", "quit")
CTX_WORDS = ("ctx", "context", "cluster")
# word -> view; every view's own name is a word too (added below)
ALIASES: dict[str, str] = {
    "h": "health", "home": "health",
    "guest": "guests", "vm": "guests", "vms": "guests", "ct": "guests",
    "osd": "ceph", "docker": "swarm", "svc": "swarm",
    "routers": "traefik", "vip": "vrrp", "keepalived": "vrrp",
    "maint": "maintenance",
    "ev": "events", "timeline": "events",
}
ALIASES.update({view: view for view in VIEWS})
ALIASES.update({word: v.name for v in COMMAND_VIEWS for word in (v.name, *v.aliases)})
# what completion offers first, before the clusters
CANDIDATES = ("health", *LAYER_VIEWS, "maint", "events", *(v.name for v in COMMAND_VIEWS), "q")


@dataclass(frozen=True, slots=True)
class Command:
    kind: str  # empty | quit-now | quit | ctx | view | unknown
    args: tuple[str, ...] = ()  # ctx: () or (cluster,); view: (view,); unknown: (word,)


def parse(text: str) -> Command:
    """One line typed after `:` (the colon itself may be included)."""
    words = text.strip().lstrip(":").split()
    if not words:
        return Command(EMPTY)
    head, rest = words[0].lower(), words[1:]
    if head == "q!":
        return Command(QUIT_NOW)
    if head in QUIT_WORDS:
        return Command(QUIT)
    if head in CTX_WORDS:
        return Command(CTX, tuple(rest[:1]))
    if head in ALIASES:
        return Command(VIEW, (ALIASES[head],))
    return Command(UNKNOWN, (head,))


def candidates(clusters: Iterable[str]) -> list[str]:
    """What the prompt completes: the views, quit, then `ctx NAME` for each cluster."""
    return [*CANDIDATES, *(f"ctx {name}" for name in clusters)]
