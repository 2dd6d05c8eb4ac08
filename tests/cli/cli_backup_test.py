"""`convstore backup`, `verify` and `restore` from a shell: a backup with its manifest, verified (exit 0) or found
damaged (exit 3), restored over the store, encrypted with a key file, and clear errors (exit 1, or CLI11's usage
codes) for what cannot be done. Usage: cli_backup_test.py CONVSTORE_BINARY."""
import json
import os
import tempfile

from cli_support import check, finish, run  # noqa: E402
import convstore  # noqa: E402


with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "store.db")
    with convstore.Store(store) as s:
        c = s.create_conversation("ana@example.com", "BGP")
        for i in range(10):
            s.add_message(c["id"], "user", f"m{i}")
    backup = os.path.join(tmp, "b.db")
    r = run("backup", store, backup)
    check(r.returncode == 0 and "backed up" in r.stdout, f"backup: {r.returncode} {r.stderr!r}")
    check(os.path.exists(backup + ".manifest.json"), "no manifest")
    r = run("backup", store, backup)
    check(r.returncode == 1 and "conflict" in r.stderr, f"second backup to the same path: {r.returncode} {r.stderr!r}")
    r = run("verify", backup, "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["ok"] is True, f"verify: {r.returncode} {r.stdout!r}")
    check(json.loads(r.stdout)["manifest"]["row_counts"]["messages"] == 10, f"manifest: {r.stdout!r}")

    with convstore.Store(store) as s:
        s.add_message(c["id"], "user", "after")
    r = run("restore", backup, store, "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["path"] == store, f"restore: {r.returncode} {r.stderr!r}")
    with convstore.Store(store) as s:
        check(s.get_conversation_info(c["id"])["message_count"] == 10, "restore did not take the store back")

    key = os.path.join(tmp, "key")
    with open(key, "w") as f:
        f.write("ab" * 32 + "\n")
    sealed = os.path.join(tmp, "sealed.db")
    r = run("backup", store, sealed, "--key-file", key, "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["manifest"]["encrypted"] is True, f"sealed: {r.stderr!r}")
    r = run("verify", sealed)
    check(r.returncode == 1 and "encryption key" in r.stderr, f"verify without key: {r.returncode} {r.stderr!r}")
    r = run("verify", sealed, "--key-file", key)
    check(r.returncode == 0 and "ok" in r.stdout, f"verify with key: {r.returncode} {r.stdout!r} {r.stderr!r}")

    damaged = bytearray(open(backup, "rb").read())
    damaged[len(damaged) // 2] ^= 1
    open(backup, "wb").write(bytes(damaged))
    r = run("verify", backup)
    check(r.returncode == 3 and "DAMAGED" in r.stdout, f"damaged: {r.returncode} {r.stdout!r}")
    r = run("restore", backup, os.path.join(tmp, "new.db"))
    check(r.returncode == 1 and "corruption" in r.stderr, f"restore of a damaged backup: {r.returncode} {r.stderr!r}")
    check(not os.path.exists(os.path.join(tmp, "new.db")), "a damaged backup was restored")
    r = run("backup", os.path.join(tmp, "missing.db"), os.path.join(tmp, "x.db"))
    check(r.returncode != 0 and r.stderr, f"missing store: {r.returncode} {r.stderr!r}")
    r = run("restore", backup)
    check(r.returncode != 0 and "target" in r.stderr, f"no target: {r.returncode} {r.stderr!r}")

finish("cli backup test")
