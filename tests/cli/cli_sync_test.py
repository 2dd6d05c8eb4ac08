"""`convstore sync` from a shell, against a throw-away PostgreSQL: one round with --once (human and JSON reports), a
continuous sync that applies within its interval, prints its lag lines and stops on SIGTERM after a last round,
`convstore global-budget set|list|delete`, and clear errors (exit 1, a message on stderr, nothing written) for a server that is not there, a connection string
libpq cannot parse, a missing --postgres and a store that does not exist. Usage: cli_sync_test.py CONVSTORE_BINARY.
Skips (exit 0) without PostgreSQL 15 or python3-psycopg2."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from cli_support import CLI, check, finish, run  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sync"))
import convstore  # noqa: E402
from pg_cluster import Cluster, skip_unless_available  # noqa: E402

skip_unless_available()
import psycopg2  # noqa: E402

cluster = Cluster(salt=19)
try:
    url = cluster.conninfo()
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store.db")
        with convstore.Store(store) as s:
            c = s.create_conversation("ana@example.com", "BGP", metadata={"source": "cli"})
            s.add_message(c["id"], "user", "why do sessions flap?")

        r = run("sync", store, "--postgres", url, "--once")
        check(r.returncode == 0, f"--once: {r.returncode} {r.stderr!r}")
        check("loaded" in r.stdout and "first sync" in r.stdout and "0 pending" in r.stdout, f"report: {r.stdout!r}")
        r = run("sync", store, "--postgres", url, "--once", "--json")
        report = json.loads(r.stdout) if r.returncode == 0 else {}
        check(report.get("loaded") is False and report.get("pending_entries") == 0, f"second round: {r.stdout!r}")

        # Continuous: a write reaches PostgreSQL within the interval; SIGTERM runs a last round.
        p = subprocess.Popen([CLI, "sync", store, "--postgres", url, "--interval-ms", "20", "--report-every", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with convstore.Store(store) as s:
            s.add_message(c["id"], "assistant", "hold timers")
        conn = psycopg2.connect(url)
        conn.autocommit = True
        cur = conn.cursor()
        deadline = time.monotonic() + 30
        n = 0
        while time.monotonic() < deadline and n != 2:
            time.sleep(0.05)
            cur.execute("SELECT count(*) FROM messages")
            n = cur.fetchone()[0]
        check(n == 2, f"the sync did not apply within 30 s ({n} messages)")
        time.sleep(1.5)  # a status line
        with convstore.Store(store) as s:
            s.add_message(c["id"], "user", "the last one")
            last = s.journal_status()["last_seq"]
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, f"sync exit: {p.returncode} {err!r}")
        check("stopped syncing" in out and "0 pending" in out, f"last report: {out!r}")
        check("sync: journal entry" in err and "lag" in err, f"status lines: {err!r}")
        cur.execute("SELECT position FROM convstore_stores")
        check(cur.fetchone()[0] == last, "the last round synced everything")
        conn.close()

        # Global budgets: set, list (human and JSON), delete; the fleet's spend shows in the list.
        r = run("global-budget", "set", store, "--postgres", url, "--name", "netops-monthly", "--scope", "team",
                "--key", "netops", "--period", "month", "--hard-usd", "250", "--soft-usd", "200")
        check(r.returncode == 0 and "set" in r.stdout, f"global-budget set: {r.returncode} {r.stderr!r}")
        with convstore.Store(store) as s:
            s.upsert_team("netops")
            s.upsert_user("ops@example.com", team="netops")
            s.use_global_budgets(url)
            s.reserve("cli-r1", "ops@example.com", estimated_cost_usd="1.25")
        r = run("global-budget", "list", store, "--postgres", url)
        check(r.returncode == 0 and "netops-monthly" in r.stdout and "reserved $1.25" in r.stdout
              and "hard $250" in r.stdout, f"global-budget list: {r.returncode} {r.stdout!r} {r.stderr!r}")
        r = run("global-budget", "list", store, "--postgres", url, "--json")
        listed = json.loads(r.stdout) if r.returncode == 0 else []
        check(len(listed) == 1 and listed[0]["reserved_nanousd"] == 1_250_000_000 and listed[0]["scope_key"] == "netops",
              f"global-budget list --json: {r.stdout!r}")
        r = run("global-budget", "set", store, "--postgres", url, "--name", "x", "--scope", "team", "--period", "day")
        check(r.returncode == 1 and "scope_key" in r.stderr, f"team budget without --key: {r.returncode} {r.stderr!r}")
        r = run("global-budget", "set", store, "--postgres", url, "--name", "x", "--scope", "galaxy", "--period", "day")
        check(r.returncode == 2, f"bad --scope: {r.returncode} {r.stderr!r}")
        r = run("global-budget", "delete", store, "--postgres", url, "--name", "netops-monthly")
        check(r.returncode == 0 and "deleted" in r.stdout, f"global-budget delete: {r.returncode} {r.stderr!r}")
        r = run("global-budget", "delete", store, "--postgres", url, "--name", "netops-monthly")
        check(r.returncode == 1 and "not_found" in r.stderr, f"deleting twice: {r.returncode} {r.stderr!r}")
        r = run("global-budget", "list", store, "--postgres", url)
        check(r.returncode == 0 and "no global budgets" in r.stdout, f"empty list: {r.stdout!r}")
        r = run("global-budget", "list", store, "--postgres", "host=/nonexistent-convstore-dir port=1 connect_timeout=1")
        check(r.returncode == 1 and "unavailable" in r.stderr, f"global-budget to nowhere: {r.stderr!r}")
        r = run("global-budget", store)
        check(r.returncode == 2, f"global-budget without set/list/delete: {r.returncode}")

        # Errors: exit 1 with a message, the store untouched.
        with convstore.Store(store) as s:
            before = s.journal_status()["last_seq"]
        for args, words in [
            (["--postgres", "host=/nonexistent-convstore-dir port=1 connect_timeout=1"], "unavailable"),
            (["--postgres", "postgresql://%zz@/x"], "connection string"),
            (["--postgres", url + " user=nobody"], "refused the login"),
        ]:
            r = run("sync", store, *args, "--once")
            check(r.returncode == 1 and words in r.stderr, f"{args}: {r.returncode} {r.stderr!r}")
        with convstore.Store(store) as s:
            check(s.journal_status()["last_seq"] == before, "a failed sync wrote to the store")
        r = run("sync", store, "--once")
        check(r.returncode == 2 and "--postgres" in r.stderr, f"missing --postgres: {r.returncode} {r.stderr!r}")
        r = run("sync", os.path.join(tmp, "missing.db"), "--postgres", url, "--once")
        check(r.returncode == 2, f"missing store: {r.returncode} {r.stderr!r}")
finally:
    cluster.close()
finish("convstore sync")
