"""`convstore retention`: setting the policy kind by kind (days or "forever"), showing it, applying it (stored or for
one run) with a summary and as JSON; bad arguments refused before the store is touched."""
import json
import os
import sqlite3
import tempfile
import time

from cli_support import check, finish, run

import convstore

DAY = 86_400_000_000

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    old = time.time_ns() // 1000 - 200 * DAY
    with convstore.Store(db) as s:
        c = s.create_conversation("ana@example.com", "old", created_at=old)
        for i in range(5):
            s.add_message(c["id"], "user", f"old {i}", cost_nanousd=100, created_at=old + i)
        s.record_metric("latency", "api.ms", 1.0, at=old)
        spent = s.cost_summary(days=365)["total_cost_nanousd"]

    r = run("retention", "set", db, "--conversations-idle-days", "90", "--metrics-days", "30.5")
    check(r.returncode == 0 and "conversations-idle-days" in r.stdout and "90 days" in r.stdout,
          f"set: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("retention", "set", db, "--metrics-days", "forever", "--json")
    policy = json.loads(r.stdout) if r.returncode == 0 else {}
    check(policy.get("conversations_idle_us") == 90 * DAY and policy.get("metrics_us") is None,
          f"set keeps what is not given: {r.stdout!r} {r.stderr!r}")
    r = run("retention", "show", db, "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == policy, f"show: {r.stdout!r}")

    r = run("retention", "apply", db, "--batch-rows", "2")
    check(r.returncode == 0 and "removed 1 conversations (5 messages" in r.stdout and "batches" in r.stdout,
          f"apply: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("retention", "apply", db, "--metrics-days", "30", "--json")
    report = json.loads(r.stdout) if r.returncode == 0 else {}
    check(report.get("metrics") == 1 and report.get("conversations") == 0, f"apply --json: {r.stdout!r} {r.stderr!r}")
    with convstore.Store(db) as s:
        check(s.cost_summary(days=365)["total_cost_nanousd"] == spent, "what was spent is still reported")
        check(s.verify_rollups()["differences"] == 0, "the rollups verify")
        check(s.retention_policy()["metrics_us"] is None, "a one-off policy is not stored")

    raw = sqlite3.connect(db)
    entries = raw.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    raw.close()
    for args, code in ((["set", db], 2), (["set", db, "--metrics-days", "0"], 2),
                       (["set", db, "--metrics-days", "soon"], 2), (["set", db, "--audit-days", "-1"], 2),
                       (["set", db, "--journal-days", "40000"], 2), (["apply", db, "--batch-rows", "0"], 1),
                       (["apply", db, "--api-usage-days", "x"], 2), (["show", os.path.join(d, "missing.db")], 2)):
        r = run("retention", *args)
        check(r.returncode == code and r.stderr, f"{args}: {r.returncode} {r.stderr!r}")
    raw = sqlite3.connect(db)
    check(raw.execute("SELECT count(*) FROM audit_log").fetchone()[0] == entries, "nothing bad was written")
    raw.close()

finish("cli retention test")
