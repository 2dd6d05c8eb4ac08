"""Erasing a person from Python: markers in every field are gone from every byte of the store's files, the spend
stays in the reports under the pseudonymous id, a pinned WAL is pending until finish_erasures, bad input writes
nothing."""

import os
import sqlite3

import pytest

import convstore

GONE = "ZQXpygoneQXZ"
KEPT = "ZQXpykeptQXZ"


def _write(store, user, marker):
    store.upsert_user(user, email=f"{marker}-email", name=f"{marker}-name")
    c = store.create_conversation(user, f"{marker}-title", metadata={"topic": f"{marker}-topic"})
    for i in range(3):
        store.add_message(c["id"], "user", f"{marker}-content-{i}", cost_nanousd=100 + i,
                          metadata={"tag": f"{marker}-tag"}, request_id=f"{marker}-req-{i}")
    store.record_api_usage(user, "gpt-4o", cost_nanousd=77, metadata={"k": f"{marker}-usage"})
    return c


def _file_bytes(path):
    data = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                data += f.read()
    return data


def test_erase_leaves_no_byte_and_keeps_the_spend(db_path):
    with convstore.Store(db_path) as s:
        _write(s, f"{GONE}@example.com", GONE)
        _write(s, f"{KEPT}@example.com", KEPT)
        before = s.cost_summary(days=7)["total_cost_nanousd"]
        report = s.erase_user(f"{GONE}@example.com")
        assert report["conversations"] == 1 and report["messages"] == 3 and report["api_usage"] == 1
        assert report["pending"] == [] and report["user_key"] == "erased:" + report["pseudonym"]
        assert s.cost_summary(days=7)["total_cost_nanousd"] == before
        assert s.verify_rollups()["differences"] == 0
        assert s.verify_audit()["ok"]
        users = {g["keys"]["user"] for g in s.group_costs(["user"], days=7)["groups"]}
        assert report["user_key"] in users and f"{GONE}@example.com" not in users
        assert [e["finished_at"] is not None for e in s.erasures()] == [True]
        with pytest.raises(convstore.NotFoundError):
            s.get_user(f"{GONE}@example.com")
    data = _file_bytes(db_path)
    assert GONE.encode() not in data
    assert KEPT.encode() in data


def test_a_pinned_wal_is_pending_until_finished(db_path):
    with convstore.Store(db_path) as s:
        _write(s, f"{GONE}@example.com", GONE)
        reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM messages").fetchone()
        report = s.erase_user(f"{GONE}@example.com")
        assert report["pending"] and "WAL" in report["pending"][0]
        assert s.erasures()[0]["finished_at"] is None
        reader.execute("COMMIT")
        reader.close()
        assert s.finish_erasures() == []
        assert s.erasures()[0]["finished_at"] is not None
    assert GONE.encode() not in _file_bytes(db_path)


def test_bad_input_writes_nothing(db_path):
    with convstore.Store(db_path) as s:
        s.upsert_user("dee@example.com")
        with pytest.raises(convstore.InvalidArgumentError):
            s.erase_user("")
        with pytest.raises(convstore.NotFoundError):
            s.erase_user("nobody@example.com")
        with pytest.raises((convstore.InvalidArgumentError, TypeError)):
            s.erase_user(None)
        assert s.erasures() == []
        report = s.erase_user("dee@example.com")
        with pytest.raises(convstore.InvalidArgumentError):
            s.erase_user(report["user_key"])
        assert len(s.erasures()) == 1


def _data_lines(text):
    """The user's data in an export: every record but the header, the audit entries and the end line."""
    import json
    records = [json.loads(line) for line in text.splitlines()]
    return [r for r in records if r["type"] not in ("header", "audit_entry", "end")]


def test_export_erase_import_export_round_trip(db_path, tmp_path):
    import io
    with convstore.Store(db_path) as s:
        _write(s, "ana@example.com", "ana")
        _write(s, "bo@example.com", "bo")
        total = s.cost_summary(days=7)["total_cost_nanousd"]
        seen = []
        first = io.StringIO()
        report = s.export_user("ana@example.com", first, progress=lambda *a: seen.append(a))
        assert report["counts"]["messages"] == 3 and report["counts"]["api_usage"] == 1
        assert report["cost_nanousd"] == 100 + 101 + 102 + 77 and report["bytes"] == len(first.getvalue().encode())
        assert seen and seen[-1][1] == seen[-1][2]
        assert "bo@example.com" not in first.getvalue()
        s.export_user("ana@example.com", tmp_path / "ana.jsonl")  # a path; never overwritten
        with pytest.raises(convstore.ConflictError):
            s.export_user("ana@example.com", tmp_path / "ana.jsonl")
        assert (os.stat(tmp_path / "ana.jsonl").st_mode & 0o777) == 0o600

        s.erase_user("ana@example.com")
        imported = s.import_user(io.BytesIO(first.getvalue().encode()))
        assert imported["restored_erased_user"] and imported["user_key"] == "ana@example.com"
        assert imported["cost_from_retained_nanousd"] == report["cost_nanousd"]
        assert s.cost_summary(days=7)["total_cost_nanousd"] == total
        assert s.verify_rollups()["differences"] == 0 and s.verify_audit()["ok"]
        second = io.BytesIO()
        s.export_user("ana@example.com", second)
        assert _data_lines(second.getvalue().decode()) == _data_lines(first.getvalue())

    with convstore.Store(str(tmp_path / "other.db")) as other:  # from the file, into another store
        imported = other.import_user(tmp_path / "ana.jsonl")
        assert not imported["restored_erased_user"] and imported["counts"]["messages"] == 3
        assert other.cost_summary(days=7)["total_cost_nanousd"] == report["cost_nanousd"]


def test_export_and_import_bad_input_writes_nothing(db_path, tmp_path):
    import io
    with convstore.Store(db_path) as s:
        _write(s, "ana@example.com", "ana")
        good = io.StringIO()
        s.export_user("ana@example.com", good)
        lines = good.getvalue().splitlines(keepends=True)
        with pytest.raises(convstore.NotFoundError):
            s.export_user("nobody@example.com", io.StringIO())
        with pytest.raises(convstore.InvalidArgumentError):
            s.export_user("ana@example.com", 42)
        with pytest.raises(convstore.InvalidArgumentError):
            s.export_user("", io.StringIO())

        class Broken(io.RawIOBase):
            def write(self, b):
                raise OSError("the disk is full")

        with pytest.raises(OSError, match="the disk is full"):
            s.export_user("ana@example.com", Broken())

    with convstore.Store(str(tmp_path / "target.db")) as t:
        for bad in ["", "not json\n", "".join(lines[:-1]), lines[0].replace("convstore-user-export/1", "other/9")]:
            with pytest.raises(convstore.InvalidArgumentError):
                t.import_user(io.StringIO(bad))
        with pytest.raises(convstore.NotFoundError):
            t.import_user(tmp_path / "missing.jsonl")
        with pytest.raises(convstore.InvalidArgumentError):
            t.import_user(3.5)
        with pytest.raises(convstore.NotFoundError):
            t.get_user("ana@example.com")
        assert t.cost_summary(days=7)["total_cost_nanousd"] == 0
        t.import_user(io.StringIO(good.getvalue()))
        with pytest.raises(convstore.ConflictError):
            t.import_user(io.StringIO(good.getvalue()))
