#!/usr/bin/env python3
"""Benchmark: add_message through the convstore Python binding vs the book chapter's V1 sqlite3 class.

Run with Debian's Python (no third-party packages needed):

    /usr/bin/python3 bench/python_add_message.py [--n 20000] [--cpp-bench build/bench/convstore_bench]

The in-tree package is used; the library is CONVSTORE_LIBRARY, else the in-tree build's build/libconvstore.so.

Measured, each on a fresh file in a temp directory (--dir to choose the disk):
  (a) convstore Store.add_message, durability "normal" (WAL, synchronous=NORMAL), one call per message;
      also the bare C ABI call through ctypes with pre-encoded JSON (the floor under the Python wrapper) and
      Store.add_message on ":memory:" (no I/O: the pure per-call cost);
  (b) V1: the chapter's AIDatabase.add_message re-implemented verbatim on sqlite3 with default settings
      (rollback journal, synchronous=FULL): INSERT + UPDATE conversations + conn.commit() per message;
  (a') the same from 8 threads on one Store (one conversation each): concurrent writes are group-committed;
  (c) with --cpp-bench PATH: the Google Benchmark BM_AddMessage (real_time) and the Python/C++ ratio.
Targets: convstore >= 100x the V1 throughput; Python <= 3x the C++ call.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from ctypes import byref, c_void_p

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
os.environ.setdefault("CONVSTORE_LIBRARY", os.path.join(HERE, "..", "build", "libconvstore.so"))

import convstore  # noqa: E402
from convstore import _ffi  # noqa: E402

CONTENT = ("I found 3 issues: 1) Missing route-map on neighbor 10.0.0.1, 2) no maximum-prefix limit, "
           "3) the BGP timers differ from the peer's. Here is a corrected configuration: ...")


from peers.seed_v1 import V1Database  # noqa: E402


def timed(n, budget_s, op):
    """Runs op(i) up to n times or until budget_s passes; returns per-call seconds."""
    lat = []
    deadline = time.perf_counter() + budget_s
    for i in range(n):
        t0 = time.perf_counter()
        op(i)
        t1 = time.perf_counter()
        lat.append(t1 - t0)
        if t1 > deadline:
            break
    return lat


def stats(lat):
    s = sorted(lat)
    total = sum(s)
    return {"n": len(s), "mean_us": total / len(s) * 1e6, "p50_us": s[len(s) // 2] * 1e6,
            "p99_us": s[min(len(s) - 1, int(len(s) * 0.99))] * 1e6, "ops_s": len(s) / total}


def kwargs_for(i):
    if i % 2 == 0:
        return dict(role="user", content="Analyze this BGP config and identify potential issues")
    return dict(role="assistant", content=CONTENT, model="claude-sonnet-4-5", tokens_input=1250,
                tokens_output=890, cost_usd=0.015)


def bench_store(path, n, budget):
    with convstore.Store(path, durability="normal") as s:
        cid = s.create_conversation("engineer@company.com", "BGP Route Analysis")["id"]
        for i in range(50):
            s.add_message(cid, **kwargs_for(i))
        lat = timed(n, budget, lambda i: s.add_message(cid, **kwargs_for(i)))
        assert s.get_conversation_info(cid)["message_count"] == 50 + len(lat)
    return stats(lat)


def bench_threads(path, n, budget, threads=8):
    """Store.add_message from `threads` threads on one Store, one conversation per thread (many agents, one
    process): ctypes releases the GIL during the call and the library group-commits concurrent writes.
    Returns whole-run throughput (ops/s) and per-call latency figures."""
    import threading
    with convstore.Store(path, durability="normal") as s:
        cids = [s.create_conversation(f"agent{t}@company.com", "BGP Route Analysis")["id"] for t in range(threads)]
        per_thread = max(1, n // threads)
        lats = [[] for _ in range(threads)]
        start = threading.Barrier(threads + 1)

        def worker(t):
            start.wait()
            lats[t] = timed(per_thread, budget, lambda i: s.add_message(cids[t], **kwargs_for(i)))

        ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for th in ts:
            th.start()
        start.wait()
        t0 = time.perf_counter()
        for th in ts:
            th.join()
        wall = time.perf_counter() - t0
        total = sum(len(x) for x in lats)
        assert sum(s.get_conversation_info(c)["message_count"] for c in cids) == total
    r = stats([x for lat in lats for x in lat])
    r["ops_s"] = total / wall
    return r


def bench_batches(path, n, budget, size=100):
    """Store.add_messages in batches of `size`; returns per-message figures."""
    batch = [kwargs_for(i) for i in range(size)]
    with convstore.Store(path, durability="normal") as s:
        cid = s.create_conversation("engineer@company.com", "BGP Route Analysis")["id"]
        lat = timed(max(1, n // size), budget, lambda i: s.add_messages(cid, batch))
    return stats([t / size for t in lat for _ in range(size)])


def bench_raw_ffi(path, n, budget):
    bodies = []
    for i in range(2):
        k = kwargs_for(i)
        if "cost_usd" in k:
            k["cost_usd"] = repr(k["cost_usd"])
        bodies.append(json.dumps(k).encode())
    with convstore.Store(path, durability="normal") as s:
        cid = s.create_conversation("engineer@company.com", "BGP Route Analysis")["id"].encode()
        h, fn, free = s._h, _ffi.convstore_add_message, _ffi.convstore_free

        def op(i):
            out = c_void_p()
            if fn(h, cid, bodies[i & 1], byref(out), None):
                raise RuntimeError("add_message failed")
            free(out.value)

        for i in range(50):
            op(i)
        return stats(timed(n, budget, op))


def bench_v1(path, n, budget):
    db = V1Database(path)
    pragmas = (db.conn.execute("PRAGMA journal_mode").fetchone()[0], db.conn.execute("PRAGMA synchronous").fetchone()[0])
    cid = db.create_conversation("engineer@company.com", "BGP Route Analysis", {"source": "cli"})
    for i in range(5):
        db.add_message(cid, **kwargs_for(i))
    lat = timed(n, budget, lambda i: db.add_message(cid, **kwargs_for(i)))
    db.conn.close()
    return stats(lat), pragmas


def bench_cpp(binary):
    """Real time per call in ns of BM_AddMessage and of its raw-SQLite baseline BM_RawInsertAutocommit, read from
    the JSON the benchmark writes to --benchmark_out.

    The filter matches the suffixed run names ("BM_AddMessage/min_time:2.000/real_time"): Google Benchmark
    matches against the full name. The JSON goes to a file because a custom display reporter ignores
    --benchmark_format.
    """
    names = ("BM_AddMessage", "BM_RawInsertAutocommit")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "bm.json")
        r = subprocess.run([binary, f"--benchmark_filter=^({'|'.join(names)})(/.*)?$",
                            f"--benchmark_out={out}", "--benchmark_out_format=json"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"exit {r.returncode}: {(r.stderr or r.stdout).strip()[:500]}")
        with open(out) as f:
            report = json.load(f)
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    result = {}
    for name in names:
        runs = [b for b in report["benchmarks"]
                if b["name"].split("/")[0] == name and b.get("run_type", "iteration") == "iteration"
                and not b.get("error_occurred")]
        if not runs:
            raise RuntimeError(f"no successful {name} run in the report")
        result[name] = sum(b["real_time"] * scale[b.get("time_unit", "ns")] for b in runs) / len(runs)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="convstore calls per measurement (default 20000)")
    ap.add_argument("--n-v1", type=int, default=None, help="V1 calls (default: min(n, 2000))")
    ap.add_argument("--budget", type=float, default=12.0, help="max seconds per measurement (default 12)")
    ap.add_argument("--dir", default=None, help="directory for the temp databases (default: $TMPDIR)")
    ap.add_argument("--cpp-bench", metavar="PATH", help="Google Benchmark binary with BM_AddMessage")
    args = ap.parse_args()
    n_v1 = args.n_v1 if args.n_v1 is not None else min(args.n, 2000)

    tmp = tempfile.mkdtemp(prefix="convstore-bench-", dir=args.dir)
    try:
        store = bench_store(os.path.join(tmp, "convstore.db"), args.n, args.budget)
        raw = bench_raw_ffi(os.path.join(tmp, "convstore-raw.db"), args.n, args.budget)
        mem = bench_store(":memory:", args.n, args.budget)
        threaded = bench_threads(os.path.join(tmp, "convstore-threads.db"), args.n, args.budget)
        batched = bench_batches(os.path.join(tmp, "convstore-batch.db"), args.n, args.budget)
        v1, (journal, sync) = bench_v1(os.path.join(tmp, "v1.db"), n_v1, args.budget)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"convstore {convstore.version()} ({_ffi.library_path()}), Python {sys.version.split()[0]}, "
          f"databases in {os.path.dirname(tmp)}")
    print(f"V1 sqlite3 settings: journal_mode={journal}, synchronous={sync} (2 = FULL)\n")
    rows = [("convstore Store.add_message, file, normal", store),
            ("convstore C ABI via ctypes, pre-encoded, file", raw),
            ("convstore Store.add_message, :memory:", mem),
            ("convstore Store.add_message, 8 threads, file", threaded),
            ("convstore Store.add_messages x100, file (per msg)", batched),
            ("V1 sqlite3 AIDatabase.add_message (chapter)", v1)]
    print(f"{'measurement':50} {'calls':>7} {'mean us':>9} {'p50 us':>9} {'p99 us':>9} {'ops/s':>10}")
    for name, r in rows:
        print(f"{name:50} {r['n']:7d} {r['mean_us']:9.1f} {r['p50_us']:9.1f} {r['p99_us']:9.1f} {r['ops_s']:10.0f}")
    ratio = store["ops_s"] / v1["ops_s"]
    print(f"\nconvstore / V1 throughput: {ratio:.1f}x (target >= 100x) {'OK' if ratio >= 100 else 'BELOW TARGET'}")
    ratio_t = threaded["ops_s"] / v1["ops_s"]
    print(f"convstore (8 threads, one Store) / V1 throughput: {ratio_t:.1f}x "
          f"{'OK' if ratio_t >= 100 else 'BELOW TARGET'}")
    print(f"convstore add_messages x100 / V1 throughput: {batched['ops_s'] / v1['ops_s']:.1f}x")
    print(f"Python wrapper overhead over the bare C ABI call (file): {store['mean_us'] - raw['mean_us']:.1f} us")
    if args.cpp_bench:
        try:
            cpp = bench_cpp(args.cpp_bench)
            cpp_us = cpp["BM_AddMessage"] / 1e3
            raw_us = cpp["BM_RawInsertAutocommit"] / 1e3
        except (OSError, RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            sys.exit(f"C++ benchmark {args.cpp_bench} could not be run: {e}")
        print(f"C++ BM_AddMessage real_time: {cpp_us:.1f} us/call; raw SQLite single-row autocommit insert "
              f"(BM_RawInsertAutocommit): {raw_us:.1f} us/call")
        print(f"The floor of any commit-per-call design on this machine, raw C SQLite autocommit, is "
              f"{1e6 / raw_us / v1['ops_s']:.1f}x V1's throughput")
        for label, r in (("file", store), (":memory:", mem)):
            q = r["mean_us"] / cpp_us
            print(f"Python ({label}) / C++: {q:.2f}x (target <= 3x) {'OK' if q <= 3 else 'ABOVE TARGET'}")
        print("(compare the row whose storage matches what BM_AddMessage uses)")


if __name__ == "__main__":
    main()
