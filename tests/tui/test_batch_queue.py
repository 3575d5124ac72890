"""The queue panel: hidden while empty, one line per item with its state and message, counts in its
title, and text from the cluster shown as written (never read as markup)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.batch_queue import BatchQueue, QueueRow

from .helpers import screen_text


class QueueApp(App):
    def compose(self) -> ComposeResult:
        yield BatchQueue()


async def test_queue_lines_counts_and_literal_text():
    app = QueueApp()
    async with app.run_test(size=(100, 12)) as pilot:
        queue = app.query_one(BatchQueue)
        assert not queue.display or not queue.has_class("-shown")
        queue.show([QueueRow("done", "reboot VM 121 (swarm1)", "done"),
                    QueueRow("running", "migrate VM 112 ([bold]x[/bold]) -> pve3", "starting migration of VM 112"),
                    QueueRow("failed", "start CT 200 (mail)", "refused: start CT 200 (mail) (read-only mode)"),
                    QueueRow("queued", "stop VM 123 (swarm3)", "")])
        await pilot.pause()
        text = screen_text(app)
        assert "queue  1 waiting  1 running  1 done  1 failed" in text
        assert "✔ done     reboot VM 121 (swarm1)" in text
        assert "▶ running  migrate VM 112 ([bold]x[/bold]) -> pve3  starting migration" in text
        assert "✖ failed   start CT 200 (mail)  refused:" in text and "· waiting  stop VM 123" in text
        assert queue.counts == {"queued": 1, "running": 1, "done": 1, "failed": 1}
        queue.show([])
        await pilot.pause()
        assert not queue.has_class("-shown") and "queue" not in screen_text(app)
