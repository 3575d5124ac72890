"""The two exceptions of the sim's World API (re-exported by console.sim.world)."""

from __future__ import annotations


class SimError(Exception):
    """An error a front turns into the protocol's error shape."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


class SimCommandFailed(Exception):
    def __init__(self, exit_status: int, message: str):
        super().__init__(message)
        self.exit_status = exit_status
        self.message = message
