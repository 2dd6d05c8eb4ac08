"""`convstore init`, `info`, `check`, `changes`, `backups` and `optimize` from a shell, with their exit codes (0 ok, 1 refused,
2 usage, 3 problems found). Usage: cli_store_test.py CONVSTORE_BINARY."""
import json
import os
import sqlite3
import stat
import tempfile

from cli_support import check, finish, run  # noqa: E402
import convstore  # noqa: E402


with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "store.db")
    r = run("init", store, "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == {"path": store, "created": True, "schema_version": 14,
                                                         "migrated_from": None, "backup": None},
          f"init: {r.returncode} {r.stdout!r} {r.stderr!r}")
    check(stat.S_IMODE(os.stat(store).st_mode) == 0o600, "init: the store is not 0600")
    r = run("init", store)
    check(r.returncode == 0 and "existing" in r.stdout, f"init again: {r.stdout!r}")

    # An older file: info says what opening it will do; init migrates it after a verified backup.
    old = os.path.join(tmp, "old.db")
    with convstore.Store(old) as s:
        s.add_message(s.create_conversation("ana@example.com")["id"], "user", "hello")
    raw = sqlite3.connect(old)
    raw.executescript(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                                        "downgrade_to_schema_v3.sql")).read())
    raw.close()
    r = run("info", old)
    check(r.returncode == 0 and "needs migrating" in r.stdout and "a verified backup is taken first" in r.stdout,
          f"info old: {r.stdout!r}")
    kept = os.path.join(tmp, "kept")
    os.mkdir(kept)
    r = run("init", old, "--backup-dir", kept, "--json")
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    check(out.get("migrated_from") == 3 and out.get("schema_version") == 14 and
          ".before-schema-14-" in (out.get("backup") or ""), f"init old: {r.returncode} {r.stdout!r} {r.stderr!r}")
    check(out.get("backup") and os.path.dirname(out["backup"]) == kept, f"init old: backup not in --backup-dir")
    r = run("verify", out.get("backup") or "missing", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["ok"] is True, f"verify the migration's backup: {r.stdout!r}")
    r = run("init", os.path.join(tmp, "x.db"), "--backup-dir", os.path.join(tmp, "missing"))
    check(r.returncode == 1 and "migration_backup_directory" in r.stderr and not os.path.exists(os.path.join(tmp, "x.db")),
          f"init bad --backup-dir: {r.returncode} {r.stderr!r}")

    with convstore.Store(store) as s:
        c = s.create_conversation("ana@example.com", "BGP flaps")
        s.add_message(c["id"], "user", "edge-2", cost_usd="0.5")
        since = s.read_journal(s.journal_status()["last_seq"] - 1, limit=1, decode=False)[0]["committed_at"]
        s.delete_conversation(c["id"])

    r = run("info", store, "--json")
    info = json.loads(r.stdout) if r.returncode == 0 else {}
    check(info.get("schema_version") == 14 and info.get("journal", {}).get("enabled") is True,
          f"info --json: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("info", store)
    check(r.returncode == 0 and "up to date" in r.stdout and "journal    on" in r.stdout, f"info: {r.stdout!r}")

    r = run("check", store)
    check(r.returncode == 0 and ": ok" in r.stdout, f"check: {r.returncode} {r.stdout!r} {r.stderr!r}")
    with convstore.Store(store) as s:
        c2 = s.create_conversation("bo@example.com")
        s.add_message(c2["id"], "user", "costly", cost_usd="0.25")
    raw = sqlite3.connect(store)
    raw.execute("UPDATE cost_fold SET messages_through = messages_through + 1")  # a message never counted
    raw.commit()
    raw.close()
    r = run("check", store, "--json")
    check(r.returncode == 3 and json.loads(r.stdout)["ok"] is False, f"check damaged: {r.returncode} {r.stdout!r}")

    r = run("changes", store, "--since", since)
    check(r.returncode == 0 and f'deleted conversation {c["id"]} "BGP flaps" (1 message)' in r.stdout,
          f"changes: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("changes", store, "--since", since, "--json")
    check(r.returncode == 0 and json.loads(r.stdout)[0]["kind"] == "changes", f"changes --json: {r.stdout!r}")
    r = run("changes", store, "--since", "not a time")
    check(r.returncode == 1 and "invalid_argument" in r.stderr, f"changes bad time: {r.returncode} {r.stderr!r}")

    backups = os.path.join(tmp, "backups")
    os.mkdir(backups)
    for name in ("a.db", "b.db"):
        r = run("backup", store, os.path.join(backups, name))
        check(r.returncode == 0, f"backup {name}: {r.stderr!r}")
    r = run("backups", backups, "--json")
    check(r.returncode == 0 and len(json.loads(r.stdout)) == 2, f"backups: {r.stdout!r}")
    r = run("backups", backups)
    check(r.returncode == 0 and "a.db" in r.stdout and "b.db" in r.stdout, f"backups table: {r.stdout!r}")
    r = run("backups", backups, "--keep-days", "1", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["removed"] == 0, f"backups --keep-days: {r.stdout!r}")
    archive = os.path.join(tmp, "archive")
    r = run("archive", store, archive, "--once")
    check(r.returncode == 0, f"archive: {r.stderr!r}")
    r = run("backups", archive)
    check(r.returncode == 0 and "generation" in r.stdout and "base" in r.stdout, f"backups of an archive: {r.stdout!r}")

    r = run("info", os.path.join(tmp, "missing.db"))
    check(r.returncode == 2, f"info of a missing file: {r.returncode} {r.stderr!r}")
    r = run("check")
    check(r.returncode == 2 and r.stderr, f"check without a store: {r.returncode}")
    r = run("frobnicate")
    check(r.returncode == 2, f"unknown command: {r.returncode}")
    r = run("--version")
    check(r.returncode == 0 and r.stdout.strip(), f"--version: {r.returncode} {r.stdout!r}")

    # optimize: the pages of deleted conversations go back to the file system; --vacuum rewrites the file.
    big = os.path.join(tmp, "big.db")
    with convstore.Store(big) as s:
        s.set_journal_enabled(False)  # the journal would keep the deleted rows' images
        ids = [s.create_conversation("u", f"c{i}")["id"] for i in range(8)]
        for cid in ids:
            s.add_messages(cid, [{"role": "user", "content": "y" * 4096} for _ in range(20)])
        for cid in ids[1:]:
            s.delete_conversation(cid)
    before = os.path.getsize(big) + (os.path.getsize(big + "-wal") if os.path.exists(big + "-wal") else 0)
    r = run("optimize", big, "--json")
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    check(out.get("pages_released", 0) > 0 and out.get("free_pages_after") == 0 and os.path.getsize(big) < before,
          f"optimize: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("optimize", big, "--vacuum")
    check(r.returncode == 0 and "VACUUM" in r.stdout and "auto-vacuum incremental" in r.stdout,
          f"optimize --vacuum: {r.returncode} {r.stdout!r} {r.stderr!r}")
    check(run("optimize", os.path.join(tmp, "missing.db")).returncode == 2, "optimize of a missing file")

finish("cli store test")
