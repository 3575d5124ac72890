"""`labconsole upgrade status|retry|abort` (console/cli_upgrade.py hands them over here;
the journal reading is console/upgrade/run_control.py).

Exit codes as every upgrade command: status 0 when the latest run is done (or there is
none), 1 when it stopped safe (rolled back, interrupted), 2 when it needs attention
(a rollback failed); retry as `upgrade run --all`; abort 0 when the run was asked to stop.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from console.errors import ConsoleError
from console.inert import inert_block
from console.upgrade import run_control

EXIT_OK = 0


def status(cluster: Any, args: Any, out: TextIO) -> int:
    from console.cli_upgrade import _exit_for

    st = run_control.latest_status(cluster.name)
    if st is None:
        print(json.dumps({"run": None}) if args.json else f"no upgrade run of {cluster.name} yet", file=out)
        return EXIT_OK
    print(json.dumps(st.to_dict(), indent=2) if args.json else inert_block(st.text()), file=out)
    return _exit_for(st.state)


async def retry(svc: Any, args: Any, out: TextIO) -> int:
    from console.upgrade.everything_cli import run_all

    name = svc.cluster.name
    pending = run_control.unfinished(name)
    if pending is not None:
        raise ConsoleError("upgrade retry", f"run {pending.run_id} is unfinished",
                           "`labconsole upgrade resume` continues it, `upgrade rollback` rolls its item back")
    st = run_control.latest_status(name)
    if st is None or not st.retry_labels:
        why = "no upgrade run yet" if st is None else f"the last run ({st.run_id}) ended {st.state.replace('_', ' ')}"
        print(f"nothing to retry: {why}", file=out)
        return EXIT_OK
    return await run_all(svc, args, out, only=st.retry_labels)


def abort(cluster: Any, out: TextIO) -> int:
    print(run_control.abort_holder(cluster.name), file=out)
    return EXIT_OK
