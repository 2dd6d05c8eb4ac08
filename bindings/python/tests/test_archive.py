"""The archive and point-in-time restore from Python: rounds, in-process archiving, listings, restores by sequence
number and by time, keys, bad input."""

import os
import sqlite3
import stat
import time

import pytest

import convstore
from convstore.errors import BusyError, ConflictError, InvalidArgumentError, NotFoundError

KEY = "00" * 31 + "01"


def _rows(path):
    """The messages as stored (a plain sqlite3 connection, read-only)."""
    db = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)
    try:
        return db.execute("SELECT content, cost_nanousd FROM messages ORDER BY rowid").fetchall()
    finally:
        db.close()


def test_archive_and_restore_to_every_point(tmp_path):
    db = str(tmp_path / "live.db")
    archive = tmp_path / "archive"
    s = convstore.Store(db)
    c = s.create_conversation("ana@example.com", "BGP")
    first = s.archive_now(archive)
    assert first["new_generation"] and first["base_backup_taken"]
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o700
    points = []
    for i in range(6):
        m = s.add_message(c["id"], "user", f"m{i}", cost_usd="0.001")
        if i == 3:
            s.delete_message(m["id"])
        last = s.journal_status()["last_seq"]
        entry = s.read_journal(last - 1, limit=1, decode=False)[0]
        points.append((entry["seq"], entry["committed_at_us"], _rows(db)))
        if i % 2:
            s.archive_now(archive)
    report = s.archive_now(archive)
    assert report["archived_seq"] == points[-1][0]
    listing = convstore.list_archive(archive)
    assert not listing["encrypted"] and len(listing["generations"]) == 1
    assert listing["generations"][0]["last_seq"] == points[-1][0]
    target = tmp_path / "restored.db"
    for seq, at, rows in points:
        r = convstore.restore_to_point(archive, target, to_seq=seq)
        assert r["seq"] == seq and r["committed_at_us"] == at
        assert _rows(target) == rows
        r = convstore.restore_to_point(archive, target, to_time=at)
        assert r["seq"] == seq and _rows(target) == rows
    phases = []
    convstore.restore_to_point(archive, target, to_seq=points[0][0],
                               progress=lambda phase, done, total: phases.append(phase))
    assert "restore: replay" in phases or "restore: copy" in phases
    with pytest.raises(BusyError):
        convstore.restore_to_point(archive, db, to_seq=points[0][0])
    s.close()


def test_in_process_archiving(tmp_path):
    with convstore.Store(tmp_path / "live.db") as s:
        c = s.create_conversation("ana@example.com")
        s.start_archiving(tmp_path / "a", interval_ms=5)
        with pytest.raises(ConflictError):
            s.start_archiving(tmp_path / "a")
        with pytest.raises(BusyError):
            s.archive_now(tmp_path / "a")
        for i in range(20):
            s.add_message(c["id"], "user", f"m{i}")
        last = s.journal_status()["last_seq"]
        deadline = time.monotonic() + 20
        while s.archiving_status()["totals"]["archived_seq"] < last and time.monotonic() < deadline:
            time.sleep(0.005)
        status = s.archiving_status()
        assert status["running"] and status["totals"]["archived_seq"] == last and status["failed_rounds"] == 0
        totals = s.stop_archiving()
        assert totals["archived_seq"] == s.journal_status()["last_seq"]
        with pytest.raises(NotFoundError):
            s.stop_archiving()
        s.start_archiving(tmp_path / "a")  # close stops it


def test_encrypted_archive(tmp_path):
    with convstore.Store(tmp_path / "live.db") as s:
        c = s.create_conversation("ana@example.com")
        s.archive_now(tmp_path / "a", encryption_key=KEY)
        s.add_message(c["id"], "user", "secret")
        s.archive_now(tmp_path / "a", encryption_key=KEY)
        with pytest.raises(InvalidArgumentError):
            s.archive_now(tmp_path / "a")
        last = s.journal_status()["last_seq"]
    assert convstore.list_archive(tmp_path / "a")["encrypted"]
    with pytest.raises(InvalidArgumentError):
        convstore.restore_to_point(tmp_path / "a", tmp_path / "t.db", to_seq=last)
    convstore.restore_to_point(tmp_path / "a", tmp_path / "t.db", to_seq=last, encryption_key=KEY)
    assert [r[0] for r in _rows(tmp_path / "t.db")] == ["secret"]


def test_bad_input_writes_nothing(tmp_path):
    with convstore.Store(tmp_path / "live.db") as s:
        for kwargs in ({"keep_s": 0}, {"keep_s": "1"}, {"base_backup_interval_s": 0}, {"encryption_key": "12"},
                       {"encryption_key": 5}):
            with pytest.raises(InvalidArgumentError):
                s.archive_now(tmp_path / "a", **kwargs)
        with pytest.raises(InvalidArgumentError):
            s.start_archiving(tmp_path / "a", interval_ms=0)
        with pytest.raises(InvalidArgumentError):
            s.archive_now("")
    assert not (tmp_path / "a").exists()
    with pytest.raises(NotFoundError):
        convstore.list_archive(tmp_path / "a")
    with pytest.raises(InvalidArgumentError):
        convstore.restore_to_point(tmp_path / "a", tmp_path / "t.db")
    with pytest.raises(InvalidArgumentError):
        convstore.restore_to_point(tmp_path / "a", tmp_path / "t.db", to_seq=1, to_time=1)
    with pytest.raises(InvalidArgumentError):
        convstore.restore_to_point(tmp_path / "a", tmp_path / "t.db", to_seq=True)
    with pytest.raises(NotFoundError):
        convstore.restore_to_point(tmp_path / "a", tmp_path / "t.db", to_seq=1)
    assert not (tmp_path / "t.db").exists()
