"""Three stores under a random workload (every write operation: creates, adds, edits, deletes of messages and
conversations, title and metadata updates, archiving, API usage), each synced continuously into one PostgreSQL by
its own background sync. After quiescence:

- every synced table equals the union of the three stores as a fresh load gives them (row by row, EXCEPT ALL both
  ways, exact money);
- the seed chapter's own V2 class (tests/sync/seed_postgres_v2.py, unchanged) run against the synced database
  answers get_conversation, get_user_conversations, search_by_metadata and get_cost_summary as convstore's
  compatibility class answers on the source stores (merged across the stores, which is what one database of many
  hosts means). Where they differ by design — convstore keeps the spend of a deleted message (a tombstone, synced
  to convstore_message_tombstones) while the seed's class sees only live messages — the test checks the
  difference is exactly the tombstones.

Usage: seed_v2_sync_test.py   (CONVSTORE_LIBRARY names the library; CONVSTORE_SYNC_OPS the workload's size,
default 600). Needs PostgreSQL 15 and python3-psycopg2 (scripts/deps.sh); skips (exit 0) without them.
"""

import datetime
import decimal
import json
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, HERE)

import convstore  # noqa: E402
from convstore.compat import AIDatabase  # noqa: E402
from pg_cluster import SYNCED_TABLES, Cluster, skip_unless_available, table_differences  # noqa: E402

DAY_US = 86_400_000_000


def workload(stores, ops, rng, now_us):
    """Random writes across the stores; returns nothing (the stores are the truth)."""
    users = ["ana@example.com", "bob@example.com", "carl@example.com", "dee@example.com"]
    sources = ["cli", "web", "slack"]
    clock = [now_us - 3 * DAY_US]  # strictly increasing times: the seed's ORDER BY created_at has no ties

    def tick():
        clock[0] += rng.randrange(1_000, 60_000_000)
        return min(clock[0], now_us - 1_000_000)

    state = [{"convs": [], "msgs": []} for _ in stores]
    for store in stores:
        store.upsert_team("netops", name="Network ops")
        for u in users:
            store.upsert_user(u, email=u, team="netops")
    for _ in range(ops):
        i = rng.randrange(len(stores))
        s, st = stores[i], state[i]
        op = rng.random()
        if op < 0.12 or not st["convs"]:
            md = {"source": rng.choice(sources), "team": "netops"}
            if rng.random() < 0.3:
                md["priority"] = rng.randrange(3)
            c = s.create_conversation(rng.choice(users), f"topic {rng.randrange(1000)}", metadata=md,
                                      created_at=tick())
            st["convs"].append(c["id"])
        elif op < 0.62:
            conv = rng.choice(st["convs"])
            role = rng.choice(["user", "assistant", "assistant", "tool", "system"])
            kw = {}
            if role == "assistant":
                kw = dict(model="claude-sonnet-4-5", tokens_input=rng.randrange(5000), tokens_output=rng.randrange(2000),
                          cost_nanousd=rng.randrange(50_000_000))
            m = s.add_message(conv, role, f"text {rng.randrange(10**6)}", metadata={"n": rng.randrange(5)},
                              created_at=tick(), **kw)
            st["msgs"].append(m["id"])
        elif op < 0.70 and st["msgs"]:
            s.edit_message(rng.choice(st["msgs"]), content=f"edited {rng.randrange(10**6)}",
                           metadata={"edited": True})
        elif op < 0.78 and st["msgs"]:
            mid = st["msgs"].pop(rng.randrange(len(st["msgs"])))
            s.delete_message(mid)
        elif op < 0.84:
            conv = rng.choice(st["convs"])
            s.update_conversation(conv, title=f"renamed {rng.randrange(1000)}",
                                  metadata={"source": rng.choice(sources), "team": "netops"})
        elif op < 0.88:
            s.archive(rng.choice(st["convs"]))
        elif op < 0.90:
            if rng.random() < 0.5:
                s.log_event("support.viewed", resource_type="conversation", resource_id=rng.choice(st["convs"]),
                            subject_user_key=rng.choice(users), details={"n": rng.randrange(100)},
                            personal={"note": f"note {rng.randrange(1000)}"}, ip_address="192.0.2.7")
            else:
                s.record_metric("latency", "api.ms", rng.randrange(10_000) / 8, unit="ms",
                                labels={"model": "gpt-4o"}, at=tick())
        elif op < 0.92 and len(st["convs"]) > 2:
            conv = st["convs"].pop(rng.randrange(len(st["convs"])))
            gone = {m["id"] for m in s.get_conversation(conv)["messages"]}
            st["msgs"] = [m for m in st["msgs"] if m not in gone]
            s.delete_conversation(conv)
        else:
            s.record_api_usage(rng.choice(users), "gpt-4o", endpoint="/v1/chat", tokens_input=rng.randrange(100),
                               cost_nanousd=rng.randrange(1_000_000), recorded_at=tick())


def synced_tables(cur):
    """The tables holding synced rows: all but the sync's bookkeeping and the global budgets' tables."""
    cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "AND c.relname NOT IN ('convstore_schema', 'convstore_stores', 'convstore_dead_letters') "
                "AND c.relname NOT LIKE 'convstore\\_global\\_%'")
    return [r[0] for r in cur.fetchall()]


def utc_seconds(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def dec(x):
    return None if x is None else decimal.Decimal(x).quantize(decimal.Decimal("0.000000001"))


def main():
    import psycopg2
    from psycopg2.extras import RealDictCursor

    from seed_postgres_v2 import PostgreSQLDatabase

    ops = int(os.environ.get("CONVSTORE_SYNC_OPS", "600"))
    rng = random.Random(20261201)
    cluster = Cluster()
    work = tempfile.mkdtemp(prefix="convstore-seedv2-")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    try:
        url = cluster.conninfo()
        paths = [os.path.join(work, f"host{i}.db") for i in range(3)]
        stores = [convstore.Store(p) for p in paths]
        stores[0].sync_to_postgres(url)  # creates the tables
        # The seed's class creates its schema if missing (here: finds ours) and installs its trigger stamping
        # updated_at on every UPDATE of conversations; the sync keeps the source's times regardless.
        seed = PostgreSQLDatabase(host=cluster.dir, port=int(cluster.port), database="postgres", user="postgres",
                                  password="")
        for s in stores:
            s.start_sync(url, interval_ms=50)
        now_us = int(time.time() * 1_000_000)
        workload(stores, ops, rng, now_us)
        totals = [s.stop_sync() for s in stores]
        for t in totals:
            check(t["pending_entries"] == 0 and t["dead_letters"] == 0, f"quiescent, no dead letters: {t}")
        print(f"workload: {ops} operations on 3 stores; synced {sum(t['entries_applied'] for t in totals)} entries")

        # 1. Every table equals the union of fresh loads of the three stores.
        for s in stores:
            r = s.sync_to_postgres(url, schema="fresh")
            check(r["loaded"], "the fresh schema is loaded")
        conn = psycopg2.connect(url)
        cur = conn.cursor()
        check(sorted(synced_tables(cur)) == sorted(SYNCED_TABLES), f"the synced tables: {synced_tables(cur)}")
        for table, n, a, b in table_differences(cur, "public", "fresh"):
            check(False, f"{table}: {n} rows in {a} that {b} lacks")
        cur.execute("SELECT count(*) FROM public.messages")
        print(f"PostgreSQL holds {cur.fetchone()[0]} messages of 3 stores; every table equals a fresh load")

        # 2. The seed's V2 class on the synced database against the compatibility class on the sources.
        for s in stores:
            s.close()
        compat = [AIDatabase(p) for p in paths]
        dict_cur = conn.cursor(cursor_factory=RealDictCursor)

        def tombstone_cost(conversation_id=None, user=None, since=None):
            q = ("SELECT count(*) AS n, sum(t.cost_usd) AS cost FROM convstore_message_tombstones t "
                 "JOIN conversations c ON c.id = t.conversation_id WHERE true")
            p = []
            if conversation_id:
                q += " AND t.conversation_id = %s"
                p.append(conversation_id)
            if user:
                q += " AND c.user_id = %s"
                p.append(user)
            if since:
                q += " AND t.created_at >= %s"
                p.append(since)
            dict_cur.execute(q, p)
            r = dict_cur.fetchone()
            return r["n"], r["cost"] or decimal.Decimal(0)

        # get_conversation: every conversation of every store.
        checked = 0
        dict_cur.execute("SELECT id::text AS id FROM conversations")
        for row in dict_cur.fetchall():
            cid = row["id"]
            got = seed.get_conversation(cid)
            want = next((w for w in (c.get_conversation(cid) for c in compat) if w is not None), None)
            check(got is not None and want is not None, f"conversation {cid} on both sides")
            if got is None or want is None:
                continue
            gc, wc = got["conversation"], want["conversation"]
            check((str(gc["id"]), gc["user_id"], gc["title"], gc["metadata"], gc["is_archived"],
                   utc_seconds(gc["created_at"]), utc_seconds(gc["updated_at"])) ==
                  (wc["id"], wc["user_id"], wc["title"], json.loads(wc["metadata"]),
                   bool(wc["is_archived"]), wc["created_at"], wc["updated_at"]),
                  f"conversation {cid}: {gc} vs {wc}")
            check(got["message_count"] == want["message_count"], f"{cid}: message counts")
            gm = [(str(m["id"]), m["role"], m["content"], m["model"] or None, m["tokens_input"], m["tokens_output"],
                   dec(m["cost_usd"]), utc_seconds(m["created_at"]), m["metadata"]) for m in got["messages"]]
            wm = [(m["id"], m["role"], m["content"], m["model"], m["tokens_input"], m["tokens_output"],
                   dec(m["cost_usd"]), m["created_at"], json.loads(m["metadata"]))
                  for m in want["messages"]]
            check(gm == wm, f"{cid}: messages differ")
            checked += 1
        print(f"get_conversation: {checked} conversations agree")

        # get_user_conversations: the user's conversations of all stores, newest updated first.
        for user in ["ana@example.com", "bob@example.com", "carl@example.com", "dee@example.com", "nobody"]:
            got = seed.get_user_conversations(user, limit=1000)
            want = sorted((r for c in compat for r in c.get_user_conversations(user, limit=1000)),
                          key=lambda r: r["updated_at"], reverse=True)
            check(sorted(str(g["id"]) for g in got) == sorted(w["id"] for w in want), f"{user}: the same conversations")
            by_id = {w["id"]: w for w in want}
            for g in got:
                w = by_id.get(str(g["id"]))
                if w is None:
                    continue
                check(g["message_count"] == w["message_count"], f"{g['id']}: message_count")
                _, lost = tombstone_cost(conversation_id=str(g["id"]))
                seed_cost = dec(g["total_cost"]) if g["total_cost"] is not None else None
                want_cost = dec(w["total_cost"]) if w["total_cost"] is not None else None
                if w["message_count"] == 0:
                    check(seed_cost is None and want_cost is None, f"{g['id']}: no messages, no total")
                else:
                    # convstore's total keeps deleted messages' spend; the seed's SUM sees live messages only.
                    check(dec((seed_cost or 0) + lost) == want_cost, f"{g['id']}: {seed_cost} + {lost} vs {want_cost}")
            check([utc_seconds(g["updated_at"]) for g in got] == [w["updated_at"] for w in want],
                  f"{user}: newest updated first")
        print("get_user_conversations: agree")

        # search_by_metadata: containment across all stores, newest created first.
        for flt in [{"source": "cli"}, {"source": "web", "team": "netops"}, {"priority": 2}, {"team": "sre"}, {}]:
            got = seed.search_by_metadata(flt, limit=50)
            want = sorted((r for c in compat for r in c.search_by_metadata(flt, limit=50)),
                          key=lambda r: r["created_at"], reverse=True)[:50]
            check([(str(g["id"]), g["title"], g["source"]) for g in got] ==
                  [(w["id"], w["title"], w["source"]) for w in want], f"search {flt}")
        print("search_by_metadata: agree")

        # get_cost_summary: message-only sums per UTC day, over all stores.
        for user in [None, "ana@example.com", "bob@example.com"]:
            got = seed.get_cost_summary(user_id=user, days=30)
            wants = [c.get_cost_summary(user_id=user, days=30) for c in compat]
            since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
            lost_n, lost_cost = tombstone_cost(user=user, since=since)
            want_messages = sum(w["total_messages"] for w in wants)
            want_cost = sum(decimal.Decimal(repr(w["total_cost"])) for w in wants)
            check(got["total_messages"] + lost_n == want_messages,
                  f"summary {user}: {got['total_messages']} + {lost_n} deleted vs {want_messages}")
            check(abs(decimal.Decimal(repr(got["total_cost"])) + lost_cost - want_cost) < decimal.Decimal("1e-6"),
                  f"summary {user}: {got['total_cost']} + {lost_cost} vs {want_cost}")
        print("get_cost_summary: agree (deleted messages' spend accounted for)")
        for c in compat:
            c.close()
        conn.close()
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("seed V2 class on the synced database: every answer agrees")
    return 0


if __name__ == "__main__":
    skip_unless_available()
    sys.exit(main())
