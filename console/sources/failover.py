"""One time budget for a read and its failover across endpoints/managers.

The poll's timeout is the budget of the whole read: trying three endpoints
must not take three timeouts (the poller would cut it off anyway, after the
first). BUDGET_SHARE leaves the poll a moment, so the source's own error
(which names every endpoint tried) is shown rather than the poll's.
"""

from __future__ import annotations

BUDGET_SHARE = 0.9
MIN_TRY = 0.1  # s: less than this left is not worth another endpoint


def try_budget(left: float, tries_left: int) -> float:
    """Seconds for one try: the last try gets all that is left, an earlier one
    half of it, so a hung first endpoint leaves time for the others."""
    return max(MIN_TRY, left if tries_left <= 1 else left / 2)
