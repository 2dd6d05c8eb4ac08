"""`convstore export-user` and `convstore import-user`: a user exported to a file and to standard output, erased,
imported back from the file and from standard input (spend counted once), the summaries and JSON; an existing
file, an unknown user and a truncated export refused with nothing written."""
import json
import os
import sqlite3
import subprocess
import tempfile

from cli_support import CLI, check, finish, run

import convstore

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        c = s.create_conversation("ana@example.com", "routing question")
        s.add_message(c["id"], "user", "why is BGP flapping?", cost_nanousd=500)
        s.add_message(c["id"], "assistant", "check the hold timer", cost_nanousd=700)
        s.create_conversation("bo@example.com", "kept")
        total = s.cost_summary(days=7)["total_cost_nanousd"]

    out = os.path.join(d, "ana.jsonl")
    r = run("export-user", db, "--user", "ana@example.com", "--out", out)
    check(r.returncode == 0 and "exported 1 conversations (2 messages" in r.stdout and os.path.exists(out),
          f"export-user to a file: {r.returncode} {r.stdout!r} {r.stderr!r}")
    check((os.stat(out).st_mode & 0o777) == 0o600, "the export file is 0600")
    r = run("export-user", db, "--user", "ana@example.com")
    lines = [json.loads(line) for line in r.stdout.splitlines()] if r.returncode == 0 else []
    check(len(lines) >= 4 and lines[0]["type"] == "header" and lines[-1]["type"] == "end" and "exported" in r.stderr,
          f"export-user to standard output: {r.returncode} {r.stdout[:200]!r} {r.stderr!r}")
    stdout_export = r.stdout

    r = run("export-user", db, "--user", "ana@example.com", "--out", out)
    check(r.returncode == 1 and "exists" in r.stderr, f"an existing file: {r.returncode} {r.stderr!r}")
    r = run("export-user", db, "--user", "nobody@example.com")
    check(r.returncode == 1 and "not_found" in r.stderr and r.stdout == "", f"an unknown user: {r.stderr!r}")

    r = run("erase", db, "--user", "ana@example.com")
    check(r.returncode == 0, f"erase: {r.stderr!r}")
    r = run("import-user", db, out)
    check(r.returncode == 0 and "imported user ana@example.com" in r.stdout and "counted once" in r.stdout,
          f"import-user from the file: {r.returncode} {r.stdout!r} {r.stderr!r}")
    with convstore.Store(db) as s:
        check(s.cost_summary(days=7)["total_cost_nanousd"] == total, "the spend is counted once")
        check(s.verify_rollups()["differences"] == 0, "rollups verify")

    other = os.path.join(d, "other.db")
    run("init", other)
    r = subprocess.run([CLI, "import-user", other, "-", "--json"], input=stdout_export, capture_output=True,
                       text=True, timeout=120)
    report = json.loads(r.stdout) if r.returncode == 0 else {}
    check(report.get("counts", {}).get("messages") == 2 and report.get("restored_erased_user") is False,
          f"import-user from standard input: {r.returncode} {r.stdout!r} {r.stderr!r}")

    raw = sqlite3.connect(other)
    before = raw.execute("SELECT count(*) FROM messages").fetchone()[0]
    raw.close()
    third = os.path.join(d, "third.db")
    run("init", third)
    truncated = "".join(stdout_export.splitlines(keepends=True)[:-1])
    r = subprocess.run([CLI, "import-user", third, "-"], input=truncated, capture_output=True, text=True, timeout=120)
    check(r.returncode == 1 and "truncated" in r.stderr, f"a truncated export: {r.returncode} {r.stderr!r}")
    with convstore.Store(third) as s:
        check(s.cost_summary(days=7)["total_cost_nanousd"] == 0, "a truncated export writes nothing")
    r = run("import-user", other, out)
    check(r.returncode == 1 and "conflict" in r.stderr, f"the same user again: {r.returncode} {r.stderr!r}")
    r = run("import-user", other)
    check(r.returncode == 2, f"no file given: {r.returncode}")
    raw = sqlite3.connect(other)
    check(raw.execute("SELECT count(*) FROM messages").fetchone()[0] == before, "nothing bad was written")
    raw.close()

finish("cli user export test")
