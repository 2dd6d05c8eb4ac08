"""`convstore erase` and `convstore erasures`: a user erased from a shell, the summary and JSON, no byte of their
data left in the store's files, the erasures listed (and finished); an unknown user refused with nothing written."""
import json
import os
import sqlite3
import tempfile

from cli_support import check, finish, run

import convstore

GONE = "ZQXcligoneQXZ"

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        c = s.create_conversation(f"{GONE}@example.com", f"{GONE} title")
        s.add_message(c["id"], "user", f"{GONE} content", cost_nanousd=500)
        s.create_conversation("other@example.com", "kept")
    r = run("erase", db, "--user", f"{GONE}@example.com")
    check(r.returncode == 0 and "their spend stays under erased:" in r.stdout and "removed 1 conversations" in r.stdout,
          f"erase: {r.returncode} {r.stdout!r} {r.stderr!r}")
    data = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            with open(db + suffix, "rb") as f:
                data += f.read()
    check(GONE.encode() not in data, "no byte of the erased user is left")
    r = run("erasures", db, "--json")
    listed = json.loads(r.stdout) if r.returncode == 0 else {}
    check(len(listed.get("erasures", [])) == 1 and listed["erasures"][0]["finished_at"] is not None,
          f"erasures: {r.stdout!r} {r.stderr!r}")
    r = run("erasures", db, "--finish")
    check(r.returncode == 0 and "no erasure is pending" in r.stdout, f"erasures --finish: {r.stdout!r} {r.stderr!r}")
    with convstore.Store(db) as s:
        check(s.cost_summary(days=7)["total_cost_nanousd"] == 500, "the spend stays")

    raw = sqlite3.connect(db)
    before = raw.execute("SELECT count(*) FROM erasures").fetchone()[0]
    raw.close()
    for args, code in ((["erase", db, "--user", "nobody@example.com"], 1), (["erase", db], 2),
                       (["erase", os.path.join(d, "missing.db"), "--user", "x"], 2)):
        r = run(*args)
        check(r.returncode == code and r.stderr, f"{args}: {r.returncode} {r.stderr!r}")
    raw = sqlite3.connect(db)
    check(raw.execute("SELECT count(*) FROM erasures").fetchone()[0] == before, "nothing bad was written")
    raw.close()

finish("cli erase test")
