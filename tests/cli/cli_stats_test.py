"""`convstore stats`: the statistics saved by handles that closed, as a table and as JSON, read without adding to
them; --reset zeroes them; a missing store or an unknown flag refused."""
import json
import os
import sqlite3
import tempfile

from cli_support import check, finish, run

import convstore

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        c = s.create_conversation("ana", "t")
        for i in range(7):
            s.add_message(c["id"], "user", f"m{i}")
    r = run("stats", db, "--json")
    stats = json.loads(r.stdout) if r.returncode == 0 else {}
    ops = {o["name"]: o for o in stats.get("operations", [])}
    check(ops.get("add_message", {}).get("calls") == 7 and ops["add_message"]["rows"] == 7,
          f"stats --json: {r.returncode} {r.stdout!r} {r.stderr!r}")
    check("stats" not in ops, "the command's own read-only handle counted into the file")
    r = run("stats", db)
    check(r.returncode == 0 and "add_message" in r.stdout and "page cache:" in r.stdout and "WAL:" in r.stdout,
          f"stats table: {r.stdout!r} {r.stderr!r}")
    r = run("stats", db, "--json")
    check(json.loads(r.stdout)["operations"][0]["calls"] >= 1 if r.returncode == 0 else False, "second look")
    check({o["name"]: o for o in json.loads(r.stdout)["operations"]}.get("stats") is None, "a look adds nothing")

    r = run("stats", db, "--reset")
    check(r.returncode == 0 and "reset" in r.stdout, f"reset: {r.stdout!r} {r.stderr!r}")
    raw = sqlite3.connect(db)
    names = [n for (n,) in raw.execute("SELECT name FROM operation_stats")]
    raw.close()
    check(names == ["reset_stats"], f"after the reset the file holds the reset alone: {names}")

    r = run("stats", os.path.join(d, "missing.db"))
    check(r.returncode == 2 and r.stderr, f"missing store: {r.returncode} {r.stderr!r}")
    r = run("stats", db, "--bogus")
    check(r.returncode == 2 and r.stderr, f"unknown flag: {r.returncode} {r.stderr!r}")

finish("cli stats test")
