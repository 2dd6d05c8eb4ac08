"""Global budgets from Python against a throw-away PostgreSQL: three processes, each with its own store, race
reservations against one hard team budget (admitted in all: exactly the budget, never more); settle and release
reach the ledger; list shows the fleet's spend; delete; and a budget change by one store applies to the others at
once. Skips (exit 0) without PostgreSQL 15 or python3-psycopg2. CONVSTORE_GLOBAL_RESERVATIONS sizes the race."""
import multiprocessing
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))
import convstore  # noqa: E402
from pg_cluster import Cluster, skip_unless_available  # noqa: E402

PER_PROCESS = int(os.environ.get("CONVSTORE_GLOBAL_RESERVATIONS", "40"))
PRICE = 10_000_000  # $0.01 per reservation
LIMIT = 50 * PRICE  # fewer than the racers ask for in all

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def racer(path, url, start, results):
    with convstore.Store(path) as s:
        s.upsert_team("netops")
        s.upsert_user("ops@example.com", team="netops")
        s.use_global_budgets(url)
        start.wait()
        admitted = refused = 0
        for i in range(PER_PROCESS):
            try:
                s.reserve(f"{os.getpid()}-{i}", "ops@example.com", estimated_cost_nanousd=PRICE)
                admitted += 1
            except convstore.BudgetExceededError as e:
                refused += 1
                if "netops-hard" not in str(e):
                    results.put(("error", f"refusal does not name the budget: {e}"))
        results.put(("counts", admitted, refused))


def main():
    skip_unless_available()
    cluster = Cluster(salt=23)
    try:
        url = cluster.conninfo()
        with tempfile.TemporaryDirectory() as tmp:
            paths = [os.path.join(tmp, f"host{i}.db") for i in range(3)]
            with convstore.Store(paths[0]) as s:
                s.use_global_budgets(url)
                s.set_global_budget("netops-hard", "team", "month", scope_key="netops", hard_limit_nanousd=LIMIT)
            ctx = multiprocessing.get_context("spawn")
            start = ctx.Event()
            results = ctx.Queue()
            procs = [ctx.Process(target=racer, args=(p, url, start, results)) for p in paths]
            for p in procs:
                p.start()
            start.set()
            admitted = refused = 0
            for _ in procs:
                r = results.get(timeout=300)
                while r[0] == "error":
                    failures.append(r[1])
                    r = results.get(timeout=300)
                admitted += r[1]
                refused += r[2]
            for p in procs:
                p.join(timeout=60)
                check(p.exitcode == 0, f"a racer exited with {p.exitcode}")
            check(admitted == min(LIMIT // PRICE, 3 * PER_PROCESS),
                  f"admitted {admitted} reservations of $0.01 against a ${LIMIT / 1e9} budget")
            check(admitted + refused == 3 * PER_PROCESS, "every reservation was answered")

            with convstore.Store(paths[1]) as s:
                s.use_global_budgets(url)
                [b] = s.global_budgets()
                check(b["reserved_nanousd"] == admitted * PRICE and b["settled_nanousd"] == 0, f"list: {b}")
                check(s.get_budgets() == [], "a global budget is not one of the store's own")
            # Settle and release through a fresh reservation on the first host, once headroom exists.
            with convstore.Store(paths[0]) as s:
                s.use_global_budgets(url)
                s.set_global_budget("netops-hard", "team", "month", scope_key="netops",
                                    hard_limit_nanousd=LIMIT + 3 * PRICE)
                s.reserve("settle-me", "ops@example.com", estimated_cost_nanousd=PRICE)
                s.reserve("release-me", "ops@example.com", estimated_cost_nanousd=PRICE)
                s.settle("settle-me", "gpt-4o", tokens_input=10, tokens_output=5, cost_nanousd=PRICE // 2)
                s.release("release-me")
                [b] = s.global_budgets()
                check(b["settled_nanousd"] == PRICE // 2, f"settled: {b}")
                check(b["reserved_nanousd"] == admitted * PRICE, f"reserved after settle and release: {b}")
            with convstore.Store(paths[2]) as s:  # another host sees the new limit at once
                s.use_global_budgets(url)
                s.reserve("third-host", "ops@example.com", estimated_cost_nanousd=2 * PRICE)
                try:
                    s.reserve("over", "ops@example.com", estimated_cost_nanousd=PRICE)
                    check(False, "a reservation past the raised limit was admitted")
                except convstore.BudgetExceededError:
                    pass
                s.delete_global_budget("netops-hard")
                check(s.global_budgets() == [], "deleted")
                s.reserve("unlimited", "ops@example.com", estimated_cost_nanousd=100 * PRICE)
                try:
                    s.delete_global_budget("netops-hard")
                    check(False, "deleting twice succeeded")
                except convstore.NotFoundError:
                    pass
    finally:
        cluster.close()
    for f in failures:
        print("FAILED:", f)
    print("ok: global budgets from Python" if not failures else "failed: global budgets from Python")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
