"""A throw-away PostgreSQL 15 cluster for the Python sync tests: initdb in a temp directory, a Unix socket there,
UTC, no fsync; stopped immediately and removed by close(). As root, PostgreSQL's tools run as `postgres`."""

import os
import shutil
import subprocess
import sys
import tempfile

PG_BIN = "/usr/lib/postgresql/15/bin"


def installed():
    return os.path.exists(f"{PG_BIN}/initdb")


def skip_unless_available():
    """Exits 0 (the test skipped) without PostgreSQL 15's server or python3-psycopg2 (scripts/deps.sh installs both)."""
    if not installed():
        print("PostgreSQL 15 is not installed (scripts/deps.sh): skipped")
        sys.exit(0)
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        print("python3-psycopg2 is not installed (scripts/deps.sh): skipped")
        sys.exit(0)


def _as_postgres(args):
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + args


def _server_env():
    """The environment for PostgreSQL's tools: without the sanitizer runtime the ASan stage preloads into Python."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


class Cluster:
    def __init__(self, salt=13):
        self.dir = tempfile.mkdtemp(prefix="convstore-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.port = str(20000 + (os.getpid() * salt) % 20000)
        subprocess.run(_as_postgres([f"{PG_BIN}/initdb", "-D", f"{self.dir}/data", "-E", "UTF8", "--locale=C.UTF-8",
                                     "-A", "trust", "-U", "postgres"]), check=True, capture_output=True, env=_server_env())
        with open(f"{self.dir}/data/postgresql.conf", "a") as f:
            f.write("\nfsync = off\nsynchronous_commit = off\ntimezone = 'UTC'\n")
        self.start()

    def start(self):
        subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-w", "-l", f"{self.dir}/log",
                                     "-o", f"-c listen_addresses='' -k {self.dir} -p {self.port}", "start"]),
                       check=True, capture_output=True, env=_server_env())

    def stop(self, mode="fast"):
        subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-w", "-m", mode, "stop"]),
                       check=True, capture_output=True, env=_server_env())

    def conninfo(self, db="postgres"):
        return f"host={self.dir} port={self.port} user=postgres dbname={db}"

    def close(self):
        subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "stop"]),
                       capture_output=True, env=_server_env())
        shutil.rmtree(self.dir, ignore_errors=True)


SYNCED_TABLES = ["teams", "users", "convstore_prices", "conversations", "messages", "tool_calls",
                 "convstore_message_tombstones", "api_usage", "convstore_budgets", "convstore_budget_reservations",
                 "audit_log", "metrics"]

# The compared columns of tables whose seed-shaped "id" is a serial PostgreSQL assigns (differs between loads).
COMPARED_COLUMNS = {
    "audit_log": "user_id, action, resource_type, resource_id, changes, ip_address, user_agent, created_at, store_id, "
                 "src_id, actor, actor_user, subject_user, personal, convstore_nul",
    "metrics": "metric_type, metric_name, value, unit, labels, recorded_at, store_id, src_id, convstore_nul",
}


def table_differences(cur, a, b):
    """[(table, n, x, y)] for each synced table where schema x holds n rows that schema y lacks (both ways)."""
    out = []
    for table in SYNCED_TABLES:
        for x, y in ((a, b), (b, a)):
            cols = COMPARED_COLUMNS.get(table, "*")
            cur.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{table} EXCEPT ALL SELECT {cols} FROM {y}.{table}) d")
            n = cur.fetchone()[0]
            if n:
                out.append((table, n, x, y))
    return out
