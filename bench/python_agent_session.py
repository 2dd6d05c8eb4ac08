#!/usr/bin/env python3
"""convstore.sessions.AgentSession against the OpenAI Agents SDK's SQLiteSession logic on Python's sqlite3 (its
schema and statements, re-implemented here so that the SDK need not be installed), side by side.

    CONVSTORE_LIBRARY=build/libconvstore.so /usr/bin/python3 bench/python_agent_session.py [--rounds 5] [--n 2000]

Work measured, each on a session that already holds 1,000 items (realistic Responses API items, ~400 bytes):
  add_items([one item])   one durable call per item (the SDK's pattern: one transaction per add_items)
  get_items(limit=20)     the newest 20 items, decoded to dicts

Both are measured through their blocking cores (what runs in the worker thread), and through the async methods
(asyncio.to_thread, as the SDK does), in two durability pairings: convstore durability="normal" with the baseline
at synchronous=NORMAL, and durability="full" with the baseline at SQLite's default synchronous=FULL (what
SQLiteSession runs with). Rounds interleave the implementations on fresh files; medians of the rounds' medians.
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))

import convstore  # noqa: E402
from convstore.sessions import AgentSession  # noqa: E402


def item(n: int) -> dict:
    if n % 4 == 0:
        return {"role": "user", "content": f"question {n}: which BGP neighbors on r{n % 7} flapped in the last hour?"}
    if n % 4 == 1:
        return {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": "show_bgp",
                "arguments": json.dumps({"device": f"r{n % 7}", "since": "1h", "detail": True}),
                "status": "completed"}
    if n % 4 == 2:
        return {"type": "function_call_output", "call_id": f"call_{n - 1}",
                "output": json.dumps({"neighbors": [{"ip": f"10.0.{n % 250}.{k}", "state": "up"} for k in range(4)]})}
    return {"type": "message", "id": f"msg_{n}", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "annotations": [],
                         "text": "Two neighbors flapped: 10.0.0.2 (3 times) and 10.0.0.3 (once). Both are up now."}]}


from peers.agents_sdk_session import SdkSQLiteSession  # noqa: E402


def measure(kind: str, durability: str, n: int, tmp: str) -> dict:
    path = os.path.join(tmp, f"{kind}-{durability}-{time.monotonic_ns()}.db")
    if kind == "convstore":
        store = convstore.Store(path, durability=durability)
        s = AgentSession(store, "bench")
    else:
        store = None
        s = SdkSQLiteSession("bench", path, "FULL" if durability == "full" else "NORMAL")
    s.add_items_sync([item(k) for k in range(1000)])  # history already there
    out = {}
    lat = []
    for k in range(n):
        it = [item(1000 + k)]
        t0 = time.perf_counter()
        s.add_items_sync(it)
        lat.append(time.perf_counter() - t0)
    out["add_items(1)"] = statistics.median(lat)
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        got = s.get_items_sync(20)
        lat.append(time.perf_counter() - t0)
    assert len(got) == 20
    out["get_items(20)"] = statistics.median(lat)

    async def via_async():
        a, g = [], []
        for k in range(n // 4):
            t0 = time.perf_counter()
            await s.add_items([item(5000 + k)])
            a.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await s.get_items(20)
            g.append(time.perf_counter() - t0)
        return statistics.median(a), statistics.median(g)

    out["async add_items(1)"], out["async get_items(20)"] = asyncio.run(via_async())
    s.close()
    if store is not None:
        store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    results = {}  # (durability, kind) -> metric -> [round medians]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for durability in ("normal", "full"):
                order = ("convstore", "sdk") if r % 2 == 0 else ("sdk", "convstore")
                for kind in order:
                    for metric, v in measure(kind, durability, args.n, tmp).items():
                        results.setdefault((durability, kind), {}).setdefault(metric, []).append(v)
    print(f"convstore {convstore.version()}, {args.rounds} rounds, n={args.n}; medians of round medians (µs)")
    print(f"{'durability':<10} {'work':<22} {'AgentSession':>13} {'SQLiteSession':>14} {'ratio':>7}")
    for durability in ("normal", "full"):
        for metric in results[(durability, "convstore")]:
            c = statistics.median(results[(durability, "convstore")][metric]) * 1e6
            b = statistics.median(results[(durability, "sdk")][metric]) * 1e6
            print(f"{durability:<10} {metric:<22} {c:>13.1f} {b:>14.1f} {c / b:>7.2f}")


if __name__ == "__main__":
    main()
