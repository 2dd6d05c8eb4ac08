"""kill -9 of processes admitting calls against a global budget, at random moments: the fleet never passes the hard
limit, and once a handle reconnects, PostgreSQL's ledger agrees with the store on every reservation it holds.

Each round starts a worker process (this script with "worker") that opens the store with global budgets and loops:
reserve a random amount against the team's hard budget, then settle it for at most that amount or release it; the
round kills it with SIGKILL after a random 100–500 ms (its start included). After every kill, the ledger's settled spend plus its open,
unexpired reservations must be within the limit. Halfway, PostgreSQL is stopped and started under a running worker.
At the end a handle with global budgets reconnects (recording the settlements and releases the ledger missed), and:
every ledger row is a reservation of the store; a reservation the store settled is settled in the ledger at the
same cost, one it released is released (or absent: refused globally), one still open is open (or absent: killed
before PostgreSQL admitted it); and the ledger's settled total equals the store's.

Usage: global_budget_kill_test.py   (CONVSTORE_LIBRARY names the library; CONVSTORE_GLOBAL_KILLS the number of kills,
default 40). Needs PostgreSQL 15 and python3-psycopg2 (scripts/deps.sh); skips (exit 0) without them.
"""

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, HERE)

import convstore  # noqa: E402
from pg_cluster import Cluster, skip_unless_available  # noqa: E402

LIMIT = 20_000_000  # nano-USD: reservations of up to 100,000 fill it in the second half of the rounds
STATES = {0: "open", 1: "settled", 2: "released"}


def worker(path, url, seed):
    rng = random.Random(seed)
    with convstore.Store(path) as s:
        s.use_global_budgets(url)
        n = 0
        while True:
            n += 1
            rid = f"{os.getpid()}-{n}"
            amount = rng.randrange(1, 100_000)
            try:
                s.reserve(rid, "ops", estimated_cost_nanousd=amount)
            except (convstore.BudgetExceededError, convstore.UnavailableError):
                time.sleep(0.005)
                continue
            if rng.random() < 0.7:
                try:
                    s.settle(rid, "m", cost_nanousd=rng.randrange(0, amount + 1))
                except convstore.UnavailableError:
                    pass
            else:
                s.release(rid)


def main():
    skip_unless_available()
    import psycopg2

    kills = int(os.environ.get("CONVSTORE_GLOBAL_KILLS", "40"))
    rng = random.Random(int(os.environ.get("CONVSTORE_TEST_SEED", "20261201")))
    failures = []
    cluster = Cluster(salt=29)
    try:
        url = cluster.conninfo()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "host.db")
            with convstore.Store(path) as s:
                s.upsert_team("netops")
                s.upsert_user("ops", team="netops")
                s.use_global_budgets(url)
                # A rolling day: the settled spend of every round counts, so the limit fills and refusals happen.
                s.set_global_budget("cap", "team", "rolling", scope_key="netops", window_hours=24,
                                    hard_limit_nanousd=LIMIT)
            conn = psycopg2.connect(url)
            conn.autocommit = True
            cur = conn.cursor()
            restarted = False
            for k in range(kills):
                p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "worker", path, url,
                                      str(rng.randrange(10**9))])
                time.sleep(rng.uniform(0.1, 0.5))
                if not restarted and k >= kills // 2:
                    cur.close()
                    conn.close()
                    cluster.stop()
                    time.sleep(0.1)
                    cluster.start()
                    restarted = True
                    conn = psycopg2.connect(url)
                    conn.autocommit = True
                    cur = conn.cursor()
                    time.sleep(0.2)
                p.kill()
                p.wait()
                now_us = int(time.time() * 1e6)
                cur.execute("SELECT coalesce(sum(amount_nanousd) FILTER (WHERE state = 'settled'), 0) + "
                            "coalesce(sum(amount_nanousd) FILTER (WHERE state = 'open' AND expires_at_us > %s), 0) "
                            "FROM convstore_global_ledger WHERE budget = 'cap'", (now_us,))
                used = int(cur.fetchone()[0])
                if used > LIMIT:
                    failures.append(f"after kill {k + 1}: the ledger holds {used} nano-USD against a limit of {LIMIT}")

            with convstore.Store(path) as s:  # reconnects: records what the ledger missed
                s.use_global_budgets(url)
                [budget] = s.global_budgets()
            db = sqlite3.connect(path)
            local = {rid: (STATES[state], amount, cost) for rid, state, amount, cost in db.execute(
                "SELECT r.request_id, r.state, r.amount_nanousd, u.cost_nanousd FROM budget_reservations r "
                "LEFT JOIN api_usage u ON u.id = r.usage_id")}
            db.close()
            cur.execute("SELECT request_id, state, amount_nanousd FROM convstore_global_ledger WHERE budget = 'cap'")
            ledger = {rid: (state, amount) for rid, state, amount in cur.fetchall()}
            for rid, (state, amount) in ledger.items():
                if rid not in local:
                    failures.append(f"ledger row {rid} is no reservation of the store")
                    continue
                lstate, lamount, lcost = local[rid]
                want = (lstate, lcost if lstate == "settled" else lamount)
                if (state, amount) != want:
                    failures.append(f"{rid}: ledger {state} {amount}, store {lstate} {want[1]}")
            for rid, (lstate, _, _) in local.items():
                if rid not in ledger and lstate == "settled":
                    failures.append(f"{rid}: settled in the store, missing from the ledger")
            settled_local = sum(c for st, _, c in local.values() if st == "settled" and c is not None)
            settled_ledger = sum(a for st, a in ledger.values() if st == "settled")
            if settled_local != settled_ledger or budget["settled_nanousd"] != settled_ledger:
                failures.append(f"settled: store {settled_local}, ledger {settled_ledger}, "
                                f"listed {budget['settled_nanousd']}")
            print(f"{kills} kills; {len(local)} reservations in the store, {len(ledger)} in the ledger; "
                  f"settled {settled_ledger} nano-USD of a {LIMIT} limit")
            cur.close()
            conn.close()
    finally:
        cluster.close()
    for f in failures[:20]:
        print("FAILED:", f)
    print("ok: global budgets under kill -9" if not failures else f"failed: {len(failures)} check(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
