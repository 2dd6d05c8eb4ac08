"""The change journal from Python: entries in order with decoded changes, the stream generator, status, the
switch, retention with consumers, markers for writes by other programs, and bad input refused."""

import sqlite3
from datetime import datetime, timezone

import pytest

import convstore
from convstore.errors import InvalidArgumentError


def test_each_write_is_an_entry_with_its_changes(any_store):
    s = any_store
    start = s.journal_status()["last_seq"]
    c = s.create_conversation("ana@example.com", "BGP flaps")
    m = s.add_message(c["id"], "user", "what flaps?", model="gpt-4o", tokens_input=12)
    entries = s.read_journal(start)
    assert [e["seq"] for e in entries] == [start + 1, start + 2]
    assert all(e["kind"] == "changes" and e["schema_version"] == 14 for e in entries)
    assert entries[0]["committed_at_us"] <= entries[1]["committed_at_us"]
    inserted = [ch for ch in entries[1]["changes"] if ch["table"] == "messages"]
    assert len(inserted) == 1 and inserted[0]["op"] == "insert" and inserted[0]["old"] is None
    assert inserted[0]["new"]["content"] == "what flaps?" and inserted[0]["new"]["uid"] == m["id"]
    # no conversation row: its counters count the newest messages when read
    assert not [ch for ch in entries[1]["changes"] if ch["table"] == "conversations"]
    assert s.get_conversation_info(c["id"])["message_count"] == 1
    # deletes carry the row as it was
    s.delete_conversation(c["id"])
    last = s.read_journal(start + 2)[0]
    deleted = {ch["table"] for ch in last["changes"] if ch["op"] == "delete"}
    assert {"conversations", "messages"} <= deleted


def test_stream_follows_to_the_end_and_filters_by_time(store):
    c = store.create_conversation("u", "t")
    for i in range(25):
        store.add_message(c["id"], "user", f"m{i}")
    seqs = [e["seq"] for e in store.journal_changes(0, batch=7)]
    assert seqs == list(range(1, store.journal_status()["last_seq"] + 1))
    future = datetime(2100, 1, 1, tzinfo=timezone.utc)
    assert store.read_journal(since=future) == []
    assert len(store.read_journal(until=future, limit=3, decode=False)) == 3
    assert store.read_journal(limit=1, decode=False)[0]["changes"] == []


def test_switch_markers_and_foreign_writes(db_path):
    with convstore.Store(db_path) as s:
        c = s.create_conversation("u", "t")
        s.set_journal_enabled(False)
        assert s.journal_status()["enabled"] is False
        s.add_message(c["id"], "user", "not recorded")
        s.set_journal_enabled(True)
        kinds = [e["kind"] for e in s.read_journal(0)]
        assert kinds[-2:] == ["journal_off", "journal_on"]
        with sqlite3.connect(db_path) as raw:  # another program writes the file
            raw.execute("UPDATE users SET name = 'outside' WHERE key = 'u'")
        assert s.read_journal(0, limit=1000)[-1]["kind"] == "foreign_write"
        status = s.journal_status()
        assert status["markers"] == 3 and status["last_marker_seq"] == status["last_seq"]


def test_retention_and_consumers(store):
    c = store.create_conversation("u", "t")
    for i in range(10):
        store.add_message(c["id"], "user", f"m{i}")
    status = store.journal_status()
    store.set_journal_consumer("archive", status["first_seq"] + 3)
    store.set_journal_retention(max_age_us=1)
    report = store.prune_journal()
    assert report["removed"] == 4 and report["first_seq"] == status["first_seq"] + 4
    after = store.journal_status()
    assert after["retention"] == {"max_age_us": 1, "max_bytes": None}
    assert after["consumers"][0]["name"] == "archive"
    store.remove_journal_consumer("archive")
    # The newest entry stays: the first pruning's audit entry (after the retention setting's).
    assert store.prune_journal()["first_seq"] == status["last_seq"] + 2
    store.set_journal_retention()  # no limits
    assert store.journal_status()["retention"] == {"max_age_us": None, "max_bytes": None}


@pytest.mark.parametrize("call", [
    lambda s: s.read_journal(-1),
    lambda s: s.read_journal(limit=0),
    lambda s: s.read_journal(limit=10_001),
    lambda s: s.read_journal(since=1_700_000_000),
    lambda s: s.read_journal(since="2026-01-01 00:00:00"),
    lambda s: s.read_journal("1"),
    lambda s: s.set_journal_enabled(1),
    lambda s: s.set_journal_retention(max_age_us=0),
    lambda s: s.set_journal_retention(max_bytes=-1),
    lambda s: s.set_journal_retention(max_bytes=1.5),
    lambda s: s.set_journal_consumer("", 0),
    lambda s: s.set_journal_consumer("a", -1),
    lambda s: s.set_journal_consumer("a", 10**9),
    lambda s: s.set_journal_consumer("a", True),
    lambda s: s.remove_journal_consumer(""),
])
def test_bad_input_is_refused_and_writes_nothing(store, call):
    store.create_conversation("u", "t")
    before = store.journal_status()
    with pytest.raises(InvalidArgumentError):
        call(store)
    assert store.journal_status() == before
