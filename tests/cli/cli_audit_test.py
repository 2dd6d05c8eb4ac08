"""`convstore audit`: logging an operator's entry, listing (by person too), verifying (exit code 3 when the chain
is broken), key generation and checkpoints written 0600, a checkpoint check against a cut-off tail, bad input."""
import json
import os
import sqlite3
import stat
import tempfile

from cli_support import check, finish, run

import convstore


def bypassing_the_triggers(db, sql):
    """Runs `sql` as a program that drops the append-only triggers first and puts them back after (a file without
    them is refused at open by the schema check)."""
    raw = sqlite3.connect(db)
    triggers = raw.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND "
                           "name LIKE 'audit_log_append_only_%'").fetchall()
    for name, _ in triggers:
        raw.execute(f"DROP TRIGGER {name}")
    raw.execute(sql)
    for _, text in triggers:
        raw.execute(text)
    raw.commit()
    raw.close()


with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        s.upsert_user("ana@example.com")
        c = s.create_conversation("ana@example.com", "BGP")
        s.delete_conversation(c["id"])

    r = run("audit", "log", db, "--action", "maintenance.window", "--subject", "ana@example.com",
            "--details", '{"minutes": 5}', "--json")
    entry = json.loads(r.stdout) if r.returncode == 0 else {}
    check(entry.get("seq") == 2 and entry.get("actor") == "convstore-cli" and entry.get("details") == {"minutes": 5},
          f"log: {r.returncode} {r.stdout!r} {r.stderr!r}")

    r = run("audit", "list", db, "--user", "ana@example.com", "--json")
    page = json.loads(r.stdout) if r.returncode == 0 else {}
    check([e["action"] for e in page.get("entries", [])] == ["conversation.deleted", "maintenance.window"],
          f"list --user: {r.stdout!r} {r.stderr!r}")
    r = run("audit", "list", db)
    check(r.returncode == 0 and "conversation.deleted" in r.stdout and "ana@" not in r.stdout,
          f"list: {r.stdout!r}")

    r = run("audit", "verify", db)
    check(r.returncode == 0 and "verifies: 2 entries" in r.stdout, f"verify: {r.returncode} {r.stdout!r}")

    key = os.path.join(d, "audit.key")
    r = run("audit", "keygen", key, "--json")
    public = json.loads(r.stdout).get("public_key", "") if r.returncode == 0 else ""
    check(len(public) == 64 and stat.S_IMODE(os.stat(key).st_mode) == 0o600, f"keygen: {r.stdout!r} {r.stderr!r}")
    check(run("audit", "keygen", key).returncode == 1, "keygen refuses to overwrite a key")

    cp = os.path.join(d, "checkpoint.json")
    r = run("audit", "checkpoint", db, "--key-file", key, "--out", cp)
    check(r.returncode == 0 and stat.S_IMODE(os.stat(cp).st_mode) == 0o600, f"checkpoint: {r.stdout!r} {r.stderr!r}")
    check(json.load(open(cp)).get("seq") == 2, "the checkpoint names the head")
    r = run("audit", "verify", db, "--checkpoint", cp, "--public-key", public)
    check(r.returncode == 0 and "the checkpoint matches" in r.stdout, f"verify checkpoint: {r.stdout!r} {r.stderr!r}")
    check(run("audit", "verify", db, "--checkpoint", cp).returncode == 2, "a checkpoint needs the public key")

    # The tail cut off by a program that bypasses the append-only triggers: the chain alone still verifies, the
    # checkpoint does not.
    bypassing_the_triggers(db, "DELETE FROM audit_log WHERE seq = 2")
    check(run("audit", "verify", db).returncode == 0, "the shortened chain verifies alone")
    r = run("audit", "verify", db, "--checkpoint", cp, "--public-key", public, "--json")
    check(r.returncode == 3 and "cut off" in r.stdout, f"verify a cut tail: {r.returncode} {r.stdout!r}")
    bypassing_the_triggers(db, "UPDATE audit_log SET action = 'nothing.happened' WHERE seq = 1")
    r = run("audit", "verify", db)
    check(r.returncode == 3 and "entry 1" in r.stdout, f"verify an edited entry: {r.returncode} {r.stdout!r}")

    for args in (["audit", "log", db, "--action", "has space"], ["audit", "log", db, "--action", "a", "--details", "[1]"],
                 ["audit", "log", db, "--action", "a", "--subject", "nobody"],
                 ["audit", "list", db, "--limit", "0"], ["audit", "checkpoint", db, "--key-file", db + ".missing"]):
        r = run(*args)
        check(r.returncode == 1 and r.stderr.startswith("convstore audit"), f"{args[1:3]}: {r.returncode} {r.stderr!r}")
    check(run("audit", "list", os.path.join(d, "missing.db")).returncode == 2, "a missing store does not parse")

finish("cli audit test")
