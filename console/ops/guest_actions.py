"""The guest operations of issue 11 items 1, 2 and 9 as Actions methods (what
the TUI calls): lifecycle, migrate with its options, evacuate, batches,
snapshots and the detail pane's reads. Each is the console.ops function on
the Actions' sources: guarded (read-only refusal) and recorded in the command
log there, not here."""

from __future__ import annotations

from typing import Any

from console.ops.common import Progress


class GuestActions:
    sources: Any

    async def guest_find(self, vmid: int):
        from console.ops import guests

        return await guests.find_guest(self.sources, vmid)

    async def guest_lifecycle(self, vmid: int, action: str, timeout: int | None = None,
                              progress: Progress | None = None):
        from console.ops import guests

        return await guests.power(self.sources, vmid, action, timeout, progress)

    async def guest_migrate_options(self, vmid: int):
        from console.ops import guests

        return await guests.migrate_options(self.sources, vmid)

    async def guest_evacuate_plan(self, node: str):
        from console.ops import guest_batch

        return await guest_batch.evacuate_plan(self.sources, node)

    async def guest_batch(self, items: list, on_change: Any = None, on_note: Any = None, gate: Any = None):
        """Power actions and migrations (console.ops.guest_batch.BatchItem); `gate` (a Semaphore) limits how many
        run at once across batches."""
        from console.ops import guest_batch

        return await guest_batch.run_batch(self.sources, items, on_change=on_change, on_note=on_note, gate=gate)

    async def guest_snapshots(self, vmid: int):
        from console.ops import snapshots

        return await snapshots.list_snapshots(self.sources, vmid)

    async def guest_snapshot_create(self, vmid: int, name: str, description: str, vmstate: bool,
                                    progress: Progress | None = None):
        from console.ops import snapshots

        return await snapshots.create(self.sources, vmid, name, description, vmstate, progress)

    async def guest_snapshot_rollback(self, vmid: int, name: str, start: bool, progress: Progress | None = None):
        from console.ops import snapshots

        return await snapshots.rollback(self.sources, vmid, name, start, progress)

    async def guest_snapshot_delete(self, vmid: int, name: str, progress: Progress | None = None):
        from console.ops import snapshots

        return await snapshots.delete(self.sources, vmid, name, progress)

    async def guest_detail(self, vmid: int, node: str, kind: str):
        from console.ops import guest_detail

        return await guest_detail.guest_detail(self.sources, vmid, node, kind)
