"""`convstore archive` and `convstore restore --to / --to-seq` from a shell: one round with --once, a continuous
archiver stopped by SIGTERM after a last round, restores to a time (ISO-8601 and µs) and to a sequence number, and
clear errors for what cannot be done. Usage: cli_archive_test.py CONVSTORE_BINARY."""
import json
import os
import signal
import subprocess
import tempfile
import time

from cli_support import CLI, check, finish, run  # noqa: E402
import convstore  # noqa: E402


with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "store.db")
    archive = os.path.join(tmp, "archive")
    with convstore.Store(store) as s:
        c = s.create_conversation("ana@example.com", "BGP")
    r = run("archive", store, archive, "--once", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["new_generation"] is True, f"first round: {r.returncode} {r.stderr!r}")
    points = []
    with convstore.Store(store) as s:
        for i in range(5):
            s.add_message(c["id"], "user", f"m{i}")
            e = s.read_journal(s.journal_status()["last_seq"] - 1, limit=1, decode=False)[0]
            points.append((e["seq"], e["committed_at"], e["committed_at_us"]))

    # A continuous archiver ships within its interval and stops cleanly on SIGTERM.
    p = subprocess.Popen([CLI, "archive", store, archive, "--interval-ms", "20", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    shipped = False
    while time.monotonic() < deadline and not shipped:
        time.sleep(0.05)
        listing = convstore.list_archive(archive)
        shipped = listing["generations"][-1]["last_seq"] >= points[-1][0]
    check(shipped, "the archiver did not ship within 30 s")
    with convstore.Store(store) as s:
        s.add_message(c["id"], "user", "the last one")
        last = s.journal_status()["last_seq"]
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    check(p.returncode == 0, f"archiver exit: {p.returncode} {err!r}")
    check(json.loads(out)["archived_seq"] == last, f"the last round did not ship everything: {out!r}")

    target = os.path.join(tmp, "restored.db")
    seq, at_iso, at_us = points[2]
    r = run("restore", archive, target, "--to", at_iso, "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["seq"] == seq, f"--to ISO: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("restore", archive, target, "--to", str(at_us))
    check(r.returncode == 0 and f"journal entry {seq}" in r.stdout, f"--to µs: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("restore", archive, target, "--to-seq", str(points[0][0]), "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["seq"] == points[0][0], f"--to-seq: {r.stdout!r} {r.stderr!r}")
    with convstore.Store(target, read_only=True) as s:
        check(s.get_conversation_info(c["id"])["message_count"] == 1, "the restore is not as of entry --to-seq")

    r = run("restore", archive, target, "--to", "1", "--to-seq", "1")
    check(r.returncode == 2, f"both targets: {r.returncode} {r.stderr!r}")
    r = run("restore", archive, target, "--to", "yesterday")
    check(r.returncode == 1 and "invalid" in r.stderr, f"bad time: {r.returncode} {r.stderr!r}")
    r = run("restore", archive, target, "--to-seq", str(last + 100))
    check(r.returncode == 1 and "not_found" in r.stderr, f"beyond the archive: {r.returncode} {r.stderr!r}")
    r = run("restore", os.path.join(tmp, "nothing"), target, "--to-seq", "1")
    check(r.returncode == 1 and "not a convstore archive" in r.stderr, f"not an archive: {r.returncode} {r.stderr!r}")
    r = run("archive", store, archive, "--once", "--interval-ms", "0")
    check(r.returncode != 0, f"bad interval: {r.returncode} {r.stderr!r}")
    r = run("archive", os.path.join(tmp, "missing.db"), archive, "--once")
    check(r.returncode != 0 and r.stderr, f"missing store: {r.returncode} {r.stderr!r}")

finish("cli archive test")
