"""`convstore import` from a shell: an Agents SDK SQLiteSession file and a V1 AIDatabase file into a store, the
sources untouched, a second run skipping what is there, and clear errors (exit 1 or 2) for what cannot be done.
Usage: cli_import_test.py CONVSTORE_BINARY (the Python package is found through CONVSTORE_LIBRARY and PYTHONPATH)."""
import hashlib
import json
import os
import sqlite3
import tempfile

from cli_support import check, finish, run  # noqa: E402
import convstore  # noqa: E402
from convstore.sessions import AgentSession  # noqa: E402


with tempfile.TemporaryDirectory() as tmp:
    sdk = os.path.join(tmp, "sdk.db")
    con = sqlite3.connect(sdk)
    con.execute("CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY, created_at TIMESTAMP DEFAULT"
                " CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
    con.execute("CREATE TABLE agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,"
                " message_data TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
    items = [{"role": "user", "content": "hi"}, {"type": "message", "role": "assistant",
                                                  "content": [{"type": "output_text", "text": "hello"}]}]
    con.execute("INSERT INTO agent_sessions (session_id) VALUES ('s1')")
    con.executemany("INSERT INTO agent_messages (session_id, message_data) VALUES ('s1', ?)",
                    [(json.dumps(i),) for i in items])
    con.commit()
    con.close()
    before = hashlib.sha256(open(sdk, "rb").read()).hexdigest()
    store = os.path.join(tmp, "store.db")

    r = run("import", store, "--from", sdk, "--format", "agents-sdk")
    check(r.returncode == 0, f"import failed: {r.stderr}")
    check("imported 1 conversations (2 messages)" in r.stdout, f"summary: {r.stdout!r}")
    r = run("import", store, "--from", sdk, "--format", "agents-sdk", "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == {"conversations": 0, "messages": 0,
                                                         "skipped_conversations": 1, "skipped_rows": 0},
          f"second run: {r.stdout!r} {r.stderr!r}")
    check(hashlib.sha256(open(sdk, "rb").read()).hexdigest() == before, "the source file changed")
    with convstore.Store(store) as s:
        check(AgentSession(s, "s1").get_items_sync() == items, "imported items differ")

    r = run("import", store, "--from", sdk, "--format", "aidatabase-v1")
    check(r.returncode == 1 and "not a V1 AIDatabase file" in r.stderr, f"wrong format: {r.returncode} {r.stderr!r}")
    r = run("import", store, "--from", os.path.join(tmp, "missing.db"), "--format", "agents-sdk")
    check(r.returncode != 0 and r.stderr, f"missing source: {r.returncode} {r.stderr!r}")
    r = run("import", store, "--from", sdk, "--format", "csv")
    check(r.returncode != 0 and "csv" in r.stderr, f"bad format: {r.returncode} {r.stderr!r}")
    r = run("import", store)
    check(r.returncode != 0 and "--from" in r.stderr, f"no source: {r.returncode} {r.stderr!r}")
    r = run("--version")
    check(r.returncode == 0 and convstore.version() in r.stdout, f"version: {r.stdout!r}")

finish("cli import test")
