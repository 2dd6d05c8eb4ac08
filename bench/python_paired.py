#!/usr/bin/env python3
"""Store.add_message with an agent's metadata document, one durable call per message, for one or more builds of
convstore side by side with a hand-rolled Python sqlite3 baseline, in interleaved rounds (medians reported).

    /usr/bin/python3 bench/python_paired.py --impl now=bindings/python:build/libconvstore.so \\
        --impl before=/tmp/before/bindings/python:/tmp/before/build/libconvstore.so [--rounds 5] [--n 5000]

Each measurement runs in its own Python process (two builds' packages cannot share one), on a fresh file in
$TMPDIR; rounds interleave the builds and the baseline so a noisy machine affects them alike.

The baseline is what an agent developer writes by hand on Python's sqlite3: WAL, synchronous=NORMAL, one
transaction per message that inserts the row (json.dumps of the metadata) and updates the conversation's counters.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

METADATA = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "source": "cli", "tool": "bgp_diff",
            "tags": ["bgp", "prod"], "attempt": 1, "run": {"agent": "netops-triage", "step": 7}}
CONTENT = ("I found 3 issues: 1) Missing route-map on neighbor 10.0.0.2, 2) no max-prefix limit, 3) MD5 auth off."
           " Ticket NET-4101. Please keep the answer short and actionable for the on-call.")


def child_convstore(pkg, lib, path, n):
    os.environ["CONVSTORE_LIBRARY"] = lib
    sys.path.insert(0, pkg)
    import convstore
    with convstore.Store(path) as s:
        cid = s.create_conversation("engineer@company.com", "BGP Route Analysis", metadata={"source": "cli"})["id"]
        for i in range(200):  # warm up
            s.add_message(cid, "assistant", CONTENT, model="claude-sonnet-4-5", tokens_input=1250,
                          tokens_output=890, cost_usd="0.015", metadata=METADATA)
        lat = []
        for i in range(n):
            t0 = time.perf_counter()
            s.add_message(cid, "assistant", CONTENT, model="claude-sonnet-4-5", tokens_input=1250,
                          tokens_output=890, cost_usd="0.015", metadata=METADATA)
            lat.append(time.perf_counter() - t0)
    return lat


def child_sqlite3(path, n):
    import sqlite3
    import uuid
    con = sqlite3.connect(path, isolation_level=None)
    if path != ":memory:":
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript("""
        CREATE TABLE conversations (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, metadata TEXT,
            message_count INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0,
            cost_nanousd INTEGER NOT NULL DEFAULT 0, updated_at INTEGER);
        CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
            position INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, model TEXT, tokens_input INTEGER,
            tokens_output INTEGER, cost_nanousd INTEGER, metadata TEXT, created_at INTEGER NOT NULL,
            UNIQUE (conversation_id, position));""")
    cid = str(uuid.uuid4())
    con.execute("INSERT INTO conversations(id, user_id, title, metadata) VALUES (?, ?, ?, ?)",
                (cid, "engineer@company.com", "BGP Route Analysis", json.dumps({"source": "cli"})))

    def add(pos):
        now = int(time.time() * 1e6)
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), cid, pos, "assistant", CONTENT, "claude-sonnet-4-5", 1250, 890, 15000000,
                     json.dumps(METADATA), now))
        con.execute("UPDATE conversations SET message_count = message_count + 1, tokens = tokens + 2140, "
                    "cost_nanousd = cost_nanousd + 15000000, updated_at = ? WHERE id = ?", (now, cid))
        con.execute("COMMIT")

    for i in range(200):
        add(i)
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        add(200 + i)
        lat.append(time.perf_counter() - t0)
    con.close()
    return lat


def summary(lat):
    s = sorted(lat)
    return {"mean_us": sum(s) / len(s) * 1e6, "p50_us": s[len(s) // 2] * 1e6,
            "p99_us": s[min(len(s) - 1, int(len(s) * 0.99))] * 1e6}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, n, path = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        lat = child_sqlite3(path, n) if kind == "sqlite3" else child_convstore(*kind.split("|"), path, n)
        print(json.dumps(summary(lat)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", action="append", required=True, metavar="NAME=PKGROOT:LIB")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--memory", action="store_true", help="in-memory stores: the CPU work alone, no I/O")
    args = ap.parse_args()
    impls = [("sqlite3 by hand", "sqlite3")]
    for spec in args.impl:
        name, rest = spec.split("=", 1)
        pkg, lib = rest.split(":", 1)
        impls.append((name, f"{os.path.abspath(pkg)}|{os.path.abspath(lib)}"))
    results = {name: [] for name, _ in impls}
    for r in range(args.rounds):
        for name, kind in (impls if r % 2 == 0 else impls[::-1]):
            with tempfile.TemporaryDirectory(prefix="convstore-paired-") as tmp:
                path = ":memory:" if args.memory else os.path.join(tmp, "bench.db")
                out = subprocess.run([sys.executable, __file__, "--child", kind, str(args.n), path], check=True,
                                     capture_output=True, text=True)
                results[name].append(json.loads(out.stdout))
    print(f"{args.rounds} interleaved rounds of {args.n} add_message calls with a metadata document"
          f"{' (in-memory)' if args.memory else ''}; medians")
    print(f"{'':24} {'mean us':>9} {'p50 us':>9} {'p99 us':>9} {'msg/s':>9} {'vs sqlite3':>11}")
    base = statistics.median(x["mean_us"] for x in results["sqlite3 by hand"])
    for name, rs in results.items():
        mean = statistics.median(x["mean_us"] for x in rs)
        p50 = statistics.median(x["p50_us"] for x in rs)
        p99 = statistics.median(x["p99_us"] for x in rs)
        print(f"{name:24} {mean:9.1f} {p50:9.1f} {p99:9.1f} {1e6 / mean:9.0f} {base / mean:10.2f}x")


if __name__ == "__main__":
    main()
