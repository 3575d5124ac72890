"""The console makes its full garbage collections at quiet moments (console/collector.py): not
while a key was just pressed, not while a worker (a batch, an action waiting for its confirmation,
a maintenance run) runs; meanwhile automatic ones are held too."""

from __future__ import annotations

from console.collector import QUIET_EVERY, QUIET_INPUT
from screens.modals import ConfirmModal

from .helpers import poll


async def test_full_collections_wait_for_a_quiet_moment(make_app, clock):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await poll(app, pilot)
        clock.now += QUIET_EVERY + QUIET_INPUT
        app.tick()
        assert app.collector.collections == 1
        clock.now += QUIET_EVERY
        await pilot.press("2")  # the operator is typing: automatic ones are held from that key on
        assert app.collector.holding
        app.tick()
        assert app.collector.collections == 1
        clock.now += QUIET_INPUT
        app.tick()
        assert app.collector.collections == 2 and not app.collector.holding
        clock.now += QUIET_EVERY
        app.request_action("Start VM 113", "start", "113")  # a worker waits for the confirmation
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.collector.holding  # no automatic full collection either while it runs
        clock.now += QUIET_INPUT
        app.tick()
        assert app.collector.collections == 2
        await pilot.press("escape")
        await pilot.pause()
        clock.now += QUIET_INPUT
        app.tick()
        assert app.collector.collections == 3 and not app.collector.holding
