"""The backup health rules and exit codes on hand-made reports (pure)."""

from __future__ import annotations

from console.health import RULES
from console.health_backups import backup_rules
from console.ops.backups import DAY, BackupCopy, BackupReport, GuestBackup, JobRun, _run_matches, job_from


def _report(states, failed=False) -> BackupReport:
    job = job_from({"id": "nightly", "storage": "pbs", "vmid": "101,102", "schedule": "21:00"})
    job.last_run = JobRun(0, not failed, "job errors" if failed else "OK")
    guests = []
    for vmid, state in states.items():
        last = None if state == "never" else BackupCopy(vmid, "pbs", "pbs", f"pbs:backup/vm/{vmid}/x", 0, 1)
        age = {"fresh": 1 * DAY, "stale": 9 * DAY, "never": None}[state]
        guests.append(GuestBackup(vmid, f"g{vmid}", "qemu", "pve1", ["nightly"], last, age, state))
    return BackupReport(0.0, 7 * DAY, [job], guests, [], {"pbs": "pbs"})


def test_exit_codes_follow_check():
    assert _report({101: "fresh", 102: "fresh"}).exit_code() == 0
    assert _report({101: "fresh", 102: "stale"}).exit_code() == 1
    assert _report({101: "fresh", 102: "never"}).exit_code() == 2
    assert _report({101: "fresh"}, failed=True).exit_code() == 2


def test_findings():
    f = list(backup_rules(_report({101: "stale", 102: "never"}, failed=True)))
    assert [(x.severity, x.subject) for x in f] == [("critical", "job nightly"), ("warning", "g101 (101)"),
                                                    ("critical", "g102 (102)")]
    assert "9.0 days ago (limit 7 days)" in f[1].text
    assert RULES["backups"] is backup_rules


def test_which_vzdump_task_belongs_to_which_job():
    j = job_from({"id": "a", "storage": "pbs", "vmid": "101,102,110"})
    assert _run_matches(j, "INFO: starting new backup job: vzdump 101 102 --mode snapshot --storage pbs")
    assert not _run_matches(j, "INFO: starting new backup job: vzdump 101 --storage local")
    assert not _run_matches(j, "INFO: starting new backup job: vzdump 999 --storage pbs")
    allj = job_from({"id": "b", "storage": "pbs", "all": 1, "exclude": "101"})
    assert allj.selects(5) and not allj.selects(101) and allj.selection == "all except 101"
    assert _run_matches(allj, "INFO: starting new backup job: vzdump --all 1 --storage pbs --mode snapshot")
