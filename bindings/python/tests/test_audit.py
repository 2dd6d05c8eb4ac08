"""The audit log from Python: entries convstore writes, application entries with a thread's context, reading by
person, verifying, checkpoints saved to a file, and bad input refused with nothing written."""

import json
import sqlite3
import threading

import pytest

import convstore


@pytest.fixture
def ana(store):
    store.upsert_team("netops")
    store.upsert_user("ana@example.com", team="netops")
    return store.create_conversation("ana@example.com", "BGP flaps")


def test_deletes_are_audited_with_a_pseudonymous_subject(store, ana):
    m = store.add_message(ana["id"], "user", "what flaps on edge-2?")
    store.delete_message(m["id"])
    store.delete_conversation(ana["id"])
    entries = list(store.audit_entries())
    assert [e["action"] for e in entries] == ["message.deleted", "conversation.deleted"]
    assert entries[0]["resource_id"] == m["id"] and entries[1]["resource_id"] == ana["id"]
    assert len(entries[0]["subject_user"]) == 32 and entries[0]["subject_user"] == entries[1]["subject_user"]
    assert all("ana@" not in json.dumps(e) for e in entries)
    assert entries[1]["prev_hash"] == entries[0]["hash"]
    assert [e["seq"] for e in store.audit_entries(user_key="ana@example.com")] == [1, 2]
    assert store.verify_audit()["ok"] is True


def test_application_entries_and_the_threads_context(store, ana):
    store.set_audit_context(actor="support-console", ip_address="2001:db8::1", user_agent="console/2")
    e = store.log_event("report.exported", resource_type="report", resource_id="r-1",
                        subject_user_key="ana@example.com", details={"rows": 3},
                        personal={"note": "asked by Ana"})
    assert e["actor"] == "support-console" and e["ip_address"] == "2001:db8::1"
    assert e["details"] == {"rows": 3} and e["personal"] == {"note": "asked by Ana"}
    seen = {}

    def other_thread():
        seen["entry"] = store.log_event("tick")

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert seen["entry"]["actor"] == "application" and seen["entry"]["ip_address"] == ""
    store.set_audit_context()
    assert store.log_event("tock")["actor"] == "application"
    page = store.read_audit(limit=2)
    assert len(page["entries"]) == 2 and page["next_after_seq"] == 2
    assert store.read_audit(action="tock")["entries"][0]["seq"] == 3
    assert store.read_audit(since=e["at"])["entries"][0]["seq"] == 1


def test_checkpoints_saved_to_a_file(store, tmp_path, db_path):
    keys = convstore.audit_keypair()
    for i in range(3):
        store.log_event("step", resource_id=str(i))
    checkpoint = store.audit_checkpoint(keys["private_key"])
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps(checkpoint))
    assert store.verify_audit_checkpoint(path.read_text(), keys["public_key"])["ok"] is True
    other = convstore.audit_keypair()
    assert store.verify_audit_checkpoint(checkpoint, other["public_key"])["ok"] is False
    # Someone cuts off the tail with triggers disabled (sqlite3 cannot; a program that bypasses them could).
    raw = sqlite3.connect(db_path)
    trigger = raw.execute("SELECT sql FROM sqlite_schema WHERE name = 'audit_log_append_only_delete'").fetchone()[0]
    raw.execute("DROP TRIGGER audit_log_append_only_delete")
    raw.execute("DELETE FROM audit_log WHERE seq = 3")
    raw.execute(trigger)
    raw.commit()
    raw.close()
    result = store.verify_audit_checkpoint(checkpoint, keys["public_key"])
    assert result["ok"] is False and "cut off" in result["problem"]


def test_other_programs_cannot_change_entries(store, db_path):
    store.log_event("a")
    raw = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE audit_log SET action = 'b'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM audit_log")
    raw.close()


@pytest.mark.parametrize("kwargs", [
    {"action": ""}, {"action": "has space"}, {"action": 7}, {"action": "a", "details": [1]},
    {"action": "a", "ip_address": "999.0.0.1"}, {"action": "a", "resource_type": "x y"},
    {"action": "a", "user_agent": "\udcff"},
])
def test_bad_events_are_refused_and_write_nothing(store, kwargs):
    with pytest.raises((convstore.InvalidArgumentError, TypeError)):
        store.log_event(**kwargs)
    assert store.verify_audit()["entries_checked"] == 0


def test_unknown_people_and_bad_keys(store):
    with pytest.raises(convstore.NotFoundError):
        store.log_event("a", subject_user_key="nobody")
    with pytest.raises(convstore.NotFoundError):
        store.set_audit_context(actor_user_key="nobody")
    with pytest.raises(convstore.InvalidArgumentError):
        store.audit_checkpoint("00")
    with pytest.raises(convstore.NotFoundError):
        store.audit_checkpoint(convstore.audit_keypair()["private_key"])  # an empty log
    with pytest.raises(convstore.InvalidArgumentError):
        store.verify_audit_checkpoint({"format": "x"}, "00")
    with pytest.raises(convstore.InvalidArgumentError):
        store.read_audit(limit=0)
    assert store.verify_audit()["entries_checked"] == 0
