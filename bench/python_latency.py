#!/usr/bin/env python3
"""Insert latency as users measure it from Python: one durable add-message per call, each call timed, convstore
beside what they would otherwise write (bench/peers/), interleaved in blocks in one process so that a noisy machine
affects them alike, with reader processes reading the same files throughout.

    CONVSTORE_LIBRARY=build/libconvstore.so /usr/bin/python3 bench/python_latency.py \\
        [--n 20000] [--block 500] [--rounds 3] [--readers 1] [--dir DIR] \\
        [--variant NAME:option=value,...] [--no-peers] [--plain] [--json]

Implementations, each on a fresh file of its own in DIR (default: $TMPDIR) per round:
  sqlite3 by hand     peers/handrolled_sqlite3.py: INSERT + counter UPDATE, WAL, synchronous=NORMAL
  convstore           Store.add_message (default options; durability "normal": WAL, synchronous=NORMAL)
  <variant>           Store.add_message with other Store options, e.g. --variant inline:background_checkpoints=false
  Agents SDK session  peers/agents_sdk_session.py: add_items([one item]), WAL, synchronous=NORMAL
  seed V1             peers/seed_v1.py: the chapter's class, default sqlite3 settings (rollback journal, FULL);
                      n / 10 calls (each pays an fsync)
Every message is a 400-byte assistant reply with an agent's metadata document, tokens and a cost (--plain: tokens and
an integer cost, no metadata: the common message that crosses convstore's C ABI without JSON). The readers
(--readers processes) each loop over the files reading a conversation's newest 20 messages, pausing 1 ms between
reads — all but an exclusive store's (--variant NAME:exclusive=true), which no other process may open. Reported per implementation: medians over rounds of p50/p90/p99/p99.9/max/mean (microseconds), messages per
second (1 / mean), throughput relative to the hand-rolled baseline, and p99.9 / p50; for convstore also the pages
its store wrote per call (SQLite's cache writes: WAL frames).
"""
import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
sys.path.insert(0, HERE)
os.environ.setdefault("CONVSTORE_LIBRARY", os.path.join(HERE, "..", "build", "libconvstore.so"))

import convstore  # noqa: E402
from peers.agents_sdk_session import SdkSQLiteSession  # noqa: E402
from peers.handrolled_sqlite3 import HandRolledStore  # noqa: E402
from peers.seed_v1 import V1Database  # noqa: E402

CONTENT = ("I found 3 issues: 1) Missing route-map on neighbor 10.0.0.2, so every prefix it sends is accepted; "
           "2) no maximum-prefix limit, so a leak from the peer would fill the table; 3) MD5 authentication is off "
           "on the session. Ticket NET-4101 holds the corrected configuration. Apply it in the maintenance window "
           "and watch the session flap counters for an hour afterwards; tell the on-call if they move again.")
assert len(CONTENT) >= 400
CONTENT = CONTENT[:400]
METADATA = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "source": "cli", "tool": "bgp_diff",
            "tags": ["bgp", "prod"], "attempt": 1, "run": {"agent": "netops-triage", "step": 7}}
USER, TITLE = "engineer@company.com", "BGP Route Analysis"
USAGE = {"model": "claude-sonnet-4-5", "tokens_input": 1250, "tokens_output": 890, "metadata": METADATA}
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999))


class Impl:
    """One implementation under test: its file, how a reader reads it (kind), one timed call (add(i)), its share
    of the calls, and for convstore its Store (for the pages it wrote)."""

    def __init__(self, kind, path, add, close, share=1.0, store=None):
        self.kind, self.path, self.add, self.close, self.share, self.store = kind, path, add, close, share, store


def usage(plain):
    """The message's model and tokens, with its metadata document unless plain."""
    return {k: v for k, v in USAGE.items() if not (plain and k == "metadata")}


def open_convstore(path, options, plain=False):
    s = convstore.Store(path, **options)
    cid = s.create_conversation(USER, TITLE, metadata={"source": "cli"})["id"]
    cost = {"cost_nanousd": 15_000_000} if plain else {"cost_usd": "0.015"}
    u = usage(plain)
    kind = "convstore-exclusive" if options.get("exclusive") else "convstore"  # no other process may read it
    return Impl(kind, path, lambda i: s.add_message(cid, "assistant", CONTENT, **cost, **u), s.close, store=s)


def open_handrolled(path, plain=False):
    db = HandRolledStore(path)
    cid = db.create_conversation(USER, TITLE, {"source": "cli"})
    u = usage(plain)
    return Impl("sqlite3", path, lambda i: db.add_message(cid, "assistant", CONTENT, cost_nanousd=15_000_000, **u),
                db.close)


def open_sdk(path):
    session = SdkSQLiteSession("bench", path, "NORMAL")
    return Impl("sdk", path, lambda i: session.add_items_sync([{
        "type": "message", "id": f"msg_{i}", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "annotations": [], "text": CONTENT}]}]), session.close)


def open_v1(path, plain=False):
    db = V1Database(path)
    cid = db.create_conversation(USER, TITLE, {"source": "cli"})
    u = usage(plain)
    return Impl("sqlite3", path, lambda i: db.add_message(cid, "assistant", CONTENT, cost_usd=0.015, **u),
                db.close, share=0.1)


def pages_per_call(store, calls):
    """Pages the store wrote per timed call, the full-text index's included (indexed behind the calls)."""
    store.catch_up_search_index()
    return store.stats(saved=False)["cache_writes"] / calls


def reader(files, stop, reads):
    """Reads each file's newest 20 messages in turn until stop is set (a separate process)."""
    import sqlite3
    handles = []
    for kind, path in files:
        if kind == "convstore":
            s = convstore.Store(path, read_only=True)
            cid = s.list_conversations(USER, limit=1)["items"][0]["id"]
            handles.append(lambda s=s, cid=cid: s.get_last_messages(cid, 20))
        else:
            con = sqlite3.connect(path, timeout=30)
            table, key = ("agent_messages", "session_id") if kind == "sdk" else ("messages", "conversation_id")
            handles.append(lambda con=con, table=table, key=key: con.execute(
                f"SELECT * FROM {table} WHERE {key} = (SELECT {key} FROM {table} LIMIT 1) "
                "ORDER BY rowid DESC LIMIT 20").fetchall())
    n = 0
    while not stop.is_set():
        for h in handles:
            h()
            n += 1
            time.sleep(0.001)
    with reads.get_lock():
        reads.value += n


def summarize(lat):
    s = sorted(lat)
    out = {name: s[min(len(s) - 1, int(len(s) * q))] * 1e6 for name, q in PERCENTILES}
    out["max"] = s[-1] * 1e6
    out["mean"] = sum(s) / len(s) * 1e6
    out["n"] = len(s)
    return out


def one_round(args, variants, tmp):
    impls = {"sqlite3 by hand": open_handrolled(os.path.join(tmp, "handrolled.db"), args.plain)}
    for name, options in variants:
        impls[name] = open_convstore(os.path.join(tmp, f"convstore-{name}.db"), options, args.plain)
    if not args.no_peers:
        impls["Agents SDK session"] = open_sdk(os.path.join(tmp, "sdk.db"))
        impls["seed V1"] = open_v1(os.path.join(tmp, "v1.db"), args.plain)
    for impl in impls.values():  # warm up; gives every file its first rows before the readers start
        for i in range(100):
            impl.add(i)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    reads = ctx.Value("q", 0)
    files = [(impl.kind, impl.path) for impl in impls.values() if impl.kind != "convstore-exclusive"]
    procs = [ctx.Process(target=reader, args=(files, stop, reads)) for _ in range(args.readers)]
    for p in procs:
        p.start()
    time.sleep(1.0 if procs else 0)  # the readers open their files
    for impl in impls.values():  # the calls before timing start are not counted in pages per call
        if impl.store is not None:
            impl.store.reset_stats()
    lat = {name: [] for name in impls}
    order = list(impls)
    blocks = max(1, args.n // args.block)
    clock = time.perf_counter
    for b in range(blocks):
        for name in order[b % len(order):] + order[:b % len(order)]:
            add, out = impls[name].add, lat[name]
            for i in range(max(1, int(args.block * impls[name].share))):
                t0 = clock()
                add(i)
                out.append(clock() - t0)
    stop.set()
    for p in procs:
        p.join()
    result = {}
    for name, impl in impls.items():
        result[name] = summarize(lat[name])
        if impl.store is not None:
            result[name]["pages_per_call"] = pages_per_call(impl.store, len(lat[name]))
        impl.close()
    result["_reads"] = reads.value
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="timed calls per implementation and round")
    ap.add_argument("--block", type=int, default=500, help="calls per block of the interleaving")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--readers", type=int, default=1, help="reader processes reading the files throughout")
    ap.add_argument("--dir", default=None, help="directory for the files (the disk measured)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:option=value,...",
                    help="another convstore, opened with these Store options (true/false/integers/strings)")
    ap.add_argument("--no-peers", action="store_true", help="leave out the Agents SDK session and seed V1")
    ap.add_argument("--plain", action="store_true",
                    help="messages without a metadata document, with an integer cost (convstore's scalar path)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    variants = [("convstore", {})]
    for spec in args.variant:
        name, _, opts = spec.partition(":")
        options = {}
        for kv in filter(None, opts.split(",")):
            k, v = kv.split("=", 1)
            options[k] = {"true": True, "false": False}.get(v, int(v) if v.lstrip("-").isdigit() else v)
        variants.append((name, options))
    rounds = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="convstore-latency-", dir=args.dir) as tmp:
            rounds.append(one_round(args, variants, tmp))
    names = [n for n in rounds[0] if not n.startswith("_")]
    med = {n: {k: statistics.median(r[n][k] for r in rounds) for k in rounds[0][n]} for n in names}
    if args.json:
        print(json.dumps({"n": args.n, "rounds": args.rounds, "readers": args.readers, "median": med,
                          "rounds_detail": rounds}, indent=1))
        return
    base = med["sqlite3 by hand"]["mean"]
    print(f"{args.rounds} rounds of {args.n} timed add-message calls per implementation (seed V1: a tenth), "
          f"interleaved in blocks of {args.block}, {args.readers} reader process(es); medians over rounds, us")
    print(f"{'':22} {'p50':>7} {'p90':>7} {'p99':>8} {'p99.9':>8} {'max':>8} {'mean':>7} {'msg/s':>7} "
          f"{'vs hand':>7} {'p99.9/p50':>9} {'pages':>6}")
    for n in names:
        m = med[n]
        pages = f"{m['pages_per_call']:6.1f}" if "pages_per_call" in m else f"{'':6}"
        print(f"{n:22} {m['p50']:7.1f} {m['p90']:7.1f} {m['p99']:8.1f} {m['p99.9']:8.1f} {m['max']:8.0f} "
              f"{m['mean']:7.1f} {1e6 / m['mean']:7.0f} {base / m['mean']:6.2f}x {m['p99.9'] / m['p50']:9.1f} "
              f"{pages}")


if __name__ == "__main__":
    main()
