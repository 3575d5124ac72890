"""Small helpers for pilot tests."""

from __future__ import annotations


async def poll(app, pilot) -> None:
    """One round of every fake poller, then let the App render."""
    await app.hub.poll_all_once()
    await pilot.pause()


def screen_text(app) -> str:
    return "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())


def notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]
