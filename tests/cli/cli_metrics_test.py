"""`convstore metrics`: recording points and querying hourly statistics as a table and as JSON; bad values and
labels refused before the store is touched."""
import json
import os
import sqlite3
import tempfile

from cli_support import check, finish, run

import convstore

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    convstore.Store(db).close()
    for at, value in (("2026-12-01T10:05:00Z", "10"), ("2026-12-01T10:35:00Z", "30"), ("2026-12-01T11:00:00Z", "5.5")):
        r = run("metrics", "record", db, "--type", "latency", "--name", "api.ms", "--value", value, "--unit", "ms",
                "--labels", '{"model":"m1"}', "--at", at)
        check(r.returncode == 0 and "recorded api.ms" in r.stdout, f"record: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("metrics", "query", db, "--name", "api.ms", "--from", "2026-12-01T00:00:00Z", "--to",
            "2026-12-02T00:00:00Z", "--bucket", "hour", "--labels", '{"model":"m1"}', "--json")
    series = json.loads(r.stdout) if r.returncode == 0 else {}
    buckets = series.get("buckets", [])
    check(series.get("points") == 3 and [b["count"] for b in buckets] == [2, 1] and buckets[0]["p50"] == 20,
          f"query --json: {r.stdout!r} {r.stderr!r}")
    r = run("metrics", "query", db, "--name", "api.ms", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z")
    check(r.returncode == 0 and "3 points (ms)" in r.stdout, f"query: {r.stdout!r} {r.stderr!r}")

    for args, code in ((["--value", "fast"], 2), (["--value", "nan"], 2), (["--value", "1", "--labels", "{"], 2),
                       (["--value", "1", "--labels", '{"a":[1]}'], 1), (["--value", "1", "--at", "5"], 1)):
        r = run("metrics", "record", db, "--type", "t", "--name", "n", *args)
        check(r.returncode == code and r.stderr, f"record {args}: {r.returncode} {r.stderr!r}")
    r = run("metrics", "query", db, "--name", "n", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z")
    check(r.returncode == 1 and "from must be before to" in r.stderr, f"empty range: {r.stderr!r}")
    raw = sqlite3.connect(db)
    check(raw.execute("SELECT count(*) FROM metrics WHERE name = 'n'").fetchone()[0] == 0, "nothing bad was written")
    raw.close()

finish("cli metrics test")
