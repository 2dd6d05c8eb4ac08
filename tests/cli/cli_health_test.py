"""`convstore health`: the checks as lines and as JSON, Nagios exit codes (0 ok, 1 warn, 2 fail, 3 unknown),
thresholds from --threshold NAME=NUMBER, the store left as it was; a missing store, a bad threshold and a bad
command line are unknown (3)."""
import hashlib
import json
import os
import tempfile

from cli_support import check, finish, run

import convstore


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        c = s.create_conversation("ana", "t")
        for i in range(5):
            s.add_message(c["id"], "user", f"m{i}")
        s.set_budget("ana-day", "user", "day", scope_key="ana", hard_limit_usd=10)
        s.record_api_usage("ana", "m", cost_usd="9")
        s.optimize()
    before = digest(db)

    r = run("health", db, "--threshold", "budget_warn_fraction=0.95")
    check(r.returncode == 0 and r.stdout.startswith("health: OK") and "budgets" in r.stdout
          and "disk_free" in r.stdout, f"ok: {r.returncode} {r.stdout!r} {r.stderr!r}")

    r = run("health", db)
    check(r.returncode == 1 and "health: WARN" in r.stdout and "'ana-day' 90%" in r.stdout,
          f"warn: {r.returncode} {r.stdout!r} {r.stderr!r}")

    r = run("health", db, "--json", "--no-quick-check", "--threshold", "disk_free_warn_bytes=1e18",
            "--threshold", "disk_free_fail_bytes=1e18")
    report = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    checks = {c["name"]: c for c in report.get("checks", [])}
    check(r.returncode == 2 and report.get("level") == "fail" and checks["disk_free"]["level"] == "fail"
          and checks["quick_check"]["message"] == "skipped", f"fail: {r.returncode} {r.stdout!r} {r.stderr!r}")
    check([c["name"] for c in report["checks"]] == ["quick_check", "wal_size", "free_pages", "journal_lag",
                                                   "archive_lag", "sync_lag", "disk_free", "budgets", "erasures"],
          "check order")
    check(digest(db) == before, "health wrote to the store")

    for args, what in [((os.path.join(d, "missing.db"),), "missing store"),
                       ((db, "--threshold", "wal_warn_bytes=lots"), "threshold not a number"),
                       ((db, "--threshold", "no_such=1"), "unknown threshold"),
                       ((db, "--threshold", "wal_warn_bytes=-5"), "negative threshold"),
                       ((db, "--bogus"), "unknown flag"),
                       ((), "no store")]:
        r = run("health", *args)
        check(r.returncode == 3 and r.stderr, f"{what}: {r.returncode} {r.stdout!r} {r.stderr!r}")

finish("cli health test")
