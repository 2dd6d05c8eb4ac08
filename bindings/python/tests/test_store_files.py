"""A store file as a whole from Python: inspect_store, check_store, describe_journal, list/prune backups."""

import sqlite3
import time
from pathlib import Path

import pytest

import convstore
from convstore.errors import BusyError, InvalidArgumentError, NotFoundError


def test_inspect_and_check(tmp_path):
    db = tmp_path / "s.db"
    with convstore.Store(db) as s:
        c = s.create_conversation("ana@example.com", "BGP")
        s.add_message(c["id"], "user", "hello", cost_usd="0.002")
        info = convstore.inspect_store(db)
        assert info["schema_version"] == info["library_schema_version"] == 14
        assert info["pending_migrations"] == [] and info["row_counts"]["messages"] == 1
        assert info["cost_nanousd"] == 2_000_000 and info["journal"]["enabled"] is True
        assert convstore.check_store(db) == {"ok": True, "schema_version": 14, "problems": []}
    raw = sqlite3.connect(db)
    raw.executescript("UPDATE cost_fold SET messages_through = messages_through + 1")  # a message never counted
    raw.commit()
    raw.close()
    check = convstore.check_store(db)
    assert not check["ok"] and any("rollups" in p for p in check["problems"])
    with pytest.raises(NotFoundError):
        convstore.inspect_store(tmp_path / "missing.db")
    with pytest.raises(InvalidArgumentError):
        convstore.check_store("")


def test_describe_journal(tmp_path):
    with convstore.Store(tmp_path / "s.db") as s:
        c = s.create_conversation("ana@example.com", "BGP flaps")
        start = s.journal_status()["last_seq"]
        s.add_message(c["id"], "user", "a")
        s.delete_conversation(c["id"])
        words = s.describe_journal(start)
        assert len(words) == 2
        assert words[1]["lines"] == [f'deleted conversation {c["id"]} "BGP flaps" (1 message)']
        with pytest.raises(InvalidArgumentError):
            s.describe_journal(limit=0)


def test_backups_listed_and_pruned(tmp_path):
    with convstore.Store(tmp_path / "s.db") as s:
        (tmp_path / "b").mkdir()
        for name in ("x.db", "y.db"):
            s.backup(tmp_path / "b" / name)
        listed = convstore.list_backups(tmp_path / "b")
        assert [b["path"].rsplit("/", 1)[1] for b in listed] == ["x.db", "y.db"] and all(b["present"] for b in listed)
        assert convstore.prune_backups(tmp_path / "b", keep_s=3600) == 0
        s.archive_now(tmp_path / "a")
        s.start_archiving(tmp_path / "a")
        with pytest.raises(BusyError):
            convstore.prune_archive(tmp_path / "a", keep_s=1)
        s.stop_archiving()
        assert convstore.prune_archive(tmp_path / "a", keep_s=3600) == 0
    time.sleep(1.1)
    assert convstore.prune_backups(tmp_path / "b", keep_s=1) == 1
    assert not (tmp_path / "b" / "x.db").exists() and (tmp_path / "b" / "y.db").exists()
    with pytest.raises(InvalidArgumentError):
        convstore.prune_backups(tmp_path / "b", keep_s=0)


def _downgrade_to_v3(path):
    """Rewrites a current store file as schema version 3 wrote it."""
    sql = (Path(__file__).resolve().parents[3] / "tests" / "data" / "downgrade_to_schema_v3.sql").read_text()
    raw = sqlite3.connect(path)
    raw.executescript(sql)
    raw.close()


def _empty_v3_store(path):
    with convstore.Store(path):
        pass
    _downgrade_to_v3(path)
    return path


def test_opening_an_older_file_backs_it_up_first(tmp_path):
    db = tmp_path / "agents.db"
    with convstore.Store(db) as s:
        c = s.create_conversation("ana@example.com", "BGP")
        s.add_message(c["id"], "user", "hello")
    _downgrade_to_v3(db)
    info = convstore.inspect_store(db)
    assert info["schema_version"] == 3 and info["migration_in_progress"] == ""
    assert [m["rewrites_data"] for m in info["pending_migrations"]] == [True] + [False] * 10
    heard = []
    with convstore.Store(db, on_progress=lambda op, done, total: heard.append(op)) as s:
        assert s.schema_version() == 14
    assert any(op.startswith("before schema migration, backup: copy") for op in heard)
    assert any(op.startswith("schema migration 4") for op in heard)
    backups = [b for b in convstore.list_backups(tmp_path) if ".before-schema-14-" in b["path"]]
    assert len(backups) == 1 and backups[0]["manifest"]["schema_version"] == 3
    assert convstore.verify_backup(backups[0]["path"])["ok"] is True

    elsewhere = tmp_path / "kept"
    elsewhere.mkdir()
    with convstore.Store(_empty_v3_store(tmp_path / "second.db"), migration_backup_directory=elsewhere):
        pass
    assert len(convstore.list_backups(elsewhere)) == 1
    with convstore.Store(_empty_v3_store(tmp_path / "third.db"), backup_before_migration=False):
        pass
    assert len(convstore.list_backups(tmp_path)) == 1


def test_optimize_gives_deleted_pages_back(db_path):
    with convstore.Store(db_path) as s:
        s.set_journal_enabled(False)  # the journal would keep the deleted rows' images
        ids = []
        for c in range(10):
            conv = s.create_conversation("u@example.com", f"c{c}")
            s.add_messages(conv["id"], [{"role": "user", "content": "x" * 4096} for _ in range(20)])
            ids.append(conv["id"])
        for cid in ids[1:]:
            s.delete_conversation(cid)
        heard = []
        report = s.optimize(vacuum=True, progress=lambda phase, done, total: heard.append((phase, done, total)))
        assert report["vacuumed"] is True and report["auto_vacuum"] == "incremental"
        assert report["free_pages_after"] == 0 and report["bytes_after"] < report["bytes_before"]
        assert heard and heard[-1][1] == heard[-1][2] and heard[-1][0] == "optimize: vacuum"
        assert s.optimize()["vacuumed"] is False
        with pytest.raises(convstore.InvalidArgumentError):
            s.optimize(vacuum="yes")
    with convstore.Store(":memory:") as m:
        with pytest.raises(convstore.InvalidArgumentError):
            m.optimize()
