"""kill -9 of `convstore sync` at random moments while a writer keeps writing, and a PostgreSQL restart in the
middle: nothing is lost, nothing is applied twice, and the store's position in PostgreSQL never moves back.

The store starts with a few thousand messages, so the first kills land in the initial load (one PostgreSQL
transaction: a killed load leaves nothing, and the next sync loads again). A writer thread in this process adds,
edits and deletes messages, creates and deletes conversations and records API usage the whole time. Each round
starts `convstore sync STORE --postgres URL --interval-ms 5`, waits a random 20–400 ms and kills it with SIGKILL;
after each kill the position in convstore_stores must not be smaller than the last one seen. Halfway, PostgreSQL is
stopped and started again under a running sync. At the end one more round (`--once`) catches up, and every synced
table must equal a fresh load of the store (EXCEPT ALL both ways), with no dead letter (a change applied twice
would break a unique key and land there).

Usage: sync_kill_test.py CONVSTORE_CLI   (CONVSTORE_LIBRARY names the library; CONVSTORE_SYNC_KILLS the number of
kills, default 60). Needs PostgreSQL 15 and python3-psycopg2 (scripts/deps.sh); skips (exit 0) without them.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, HERE)

import convstore  # noqa: E402
from pg_cluster import Cluster, skip_unless_available, table_differences  # noqa: E402


def writer(store, stop, rng, counts):
    convs = [store.create_conversation(f"user{i}", f"c{i}")["id"] for i in range(5)]
    msgs = []
    while not stop.is_set():
        op = rng.random()
        try:
            if op < 0.6:
                m = store.add_message(rng.choice(convs), "assistant", f"reply {rng.randrange(10**9)}", model="m",
                                      tokens_input=rng.randrange(100), cost_nanousd=rng.randrange(10**6))
                msgs.append(m["id"])
            elif op < 0.7 and msgs:
                store.edit_message(rng.choice(msgs), content=f"edit {rng.randrange(10**9)}")
            elif op < 0.8 and msgs:
                store.delete_message(msgs.pop(rng.randrange(len(msgs))))
            elif op < 0.85:
                convs.append(store.create_conversation(f"user{rng.randrange(9)}", "new")["id"])
            elif op < 0.9 and len(convs) > 3:
                c = convs.pop(rng.randrange(len(convs)))
                gone = {m["id"] for m in store.get_conversation(c)["messages"]}
                msgs[:] = [m for m in msgs if m not in gone]
                store.delete_conversation(c)
            else:
                store.record_api_usage(f"user{rng.randrange(9)}", "m", cost_nanousd=rng.randrange(1000))
            counts[0] += 1
        except convstore.ConvstoreError as e:  # pragma: no cover - reported, fails the test
            counts[1].append(repr(e))
        time.sleep(0.002)


def main(cli):
    import psycopg2

    kills = int(os.environ.get("CONVSTORE_SYNC_KILLS", "60"))
    rng = random.Random(1201)
    cluster = Cluster(salt=17)
    work = tempfile.mkdtemp(prefix="convstore-synckill-")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    try:
        url = cluster.conninfo()
        path = os.path.join(work, "store.db")
        store = convstore.Store(path)
        seed = store.create_conversation("bulk", "bulk")["id"]
        for _ in range(20):
            store.add_messages(seed, [{"role": "user", "content": "x" * 200} for _ in range(250)])
        stop = threading.Event()
        counts = [0, []]
        t = threading.Thread(target=writer, args=(store, stop, random.Random(7), counts))
        t.start()
        last = -1
        loads_seen = 0
        for k in range(kills):
            p = subprocess.Popen([cli, "sync", path, "--postgres", url, "--interval-ms", "5", "--report-every",
                                  "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.02, 0.4))
            if k == kills // 2:
                cluster.stop("immediate")  # under a running sync
                time.sleep(0.2)
                cluster.start()
                time.sleep(rng.uniform(0.05, 0.3))
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            try:
                conn = psycopg2.connect(url)
                cur = conn.cursor()
                cur.execute("SELECT position, loads FROM convstore_stores")
                row = cur.fetchone()
                conn.close()
            except psycopg2.Error:
                row = None  # before the first round made the tables
            if row:
                check(row[0] >= last, f"kill {k}: position moved back from {last} to {row[0]}")
                last = row[0]
                loads_seen = row[1]
        stop.set()
        t.join()
        check(not counts[1], f"writer errors: {counts[1][:3]}")
        done = subprocess.run([cli, "sync", path, "--postgres", url, "--once", "--json"], capture_output=True,
                              text=True)
        check(done.returncode == 0, f"final round: {done.stderr}")
        print(f"{kills} kills of convstore sync (PostgreSQL restarted once), {counts[0]} writes; position {last}, "
              f"{loads_seen} load(s) committed before the last kill")

        r = store.sync_to_postgres(url, schema="fresh")
        check(r["loaded"], "fresh load")
        conn = psycopg2.connect(url)
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM convstore_dead_letters")
        check(cur.fetchone()[0] == 0, "no dead letters (nothing applied twice)")
        cur.execute("SELECT position FROM public.convstore_stores")
        pos = cur.fetchone()[0]
        check(pos == store.journal_status()["last_seq"], f"caught up: position {pos}")
        for table, n, a, b in table_differences(cur, "public", "fresh"):
            check(False, f"{table}: {n} rows in {a} that {b} lacks")
        cur.execute("SELECT count(*) FROM public.messages")
        print(f"PostgreSQL equals a fresh load: {cur.fetchone()[0]} messages, no loss, no duplicate")
        conn.close()
        store.close()
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    skip_unless_available()
    sys.exit(main(sys.argv[1]))
