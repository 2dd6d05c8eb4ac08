"""Retention from Python: idle conversations, old API usage and metrics removed in batches with progress; every cost
report unchanged and verify_rollups clean; the policy stored (ages as microseconds or timedelta); the schedule runs
and stops; bad input refused with nothing written."""

import datetime
import time

import pytest

import convstore

DAY = 86_400_000_000


def _now_us():
    return time.time_ns() // 1000


def test_idle_conversations_go_and_what_they_spent_stays(store):
    # 200 days ago at 12:00 UTC: retained spend counts at the start of its UTC hour, so a summary at a :30 offset
    # (+5:30 below) is unchanged only for rows whose hour does not hold that offset's midnight (docs/operations.md,
    # Retention) — from the clock's time of day, the test failed whenever it ran between 18:30 and 19:00 UTC.
    old = (_now_us() // DAY - 200) * DAY + 12 * 3_600_000_000
    c = store.create_conversation("ana@example.com", "old", created_at=old, metadata={"topic": "bgp"})
    for i in range(30):
        store.add_message(c["id"], "user" if i % 2 == 0 else "assistant", f"old text {i}", model="gpt-4o",
                          tokens_input=10, tokens_output=3, cost_nanousd=1000 + i, latency_us=500,
                          created_at=old + i)
    store.record_api_usage("ana@example.com", "gpt-4o", cost_nanousd=777, recorded_at=old, conversation_id=c["id"])
    store.record_metric("latency", "api.ms", 5.0, at=old)
    live = store.create_conversation("ana@example.com", "live")
    store.add_message(live["id"], "user", "still here", cost_nanousd=5)
    window = {"from_": old - DAY, "to": _now_us() + DAY}
    before = [store.cost_summary(**window), store.cost_summary(user="ana@example.com", **window),
              store.group_costs(["model", "day"], **window),
              store.cost_summary(utc_offset_minutes=330, **window)]

    seen = []
    report = store.apply_retention(batch_rows=10, policy={"conversations_idle_us": datetime.timedelta(days=90),
                                                          "api_usage_us": 90 * DAY, "metrics_us": 90 * DAY},
                                   progress=lambda kind, done, total: seen.append((kind, done, total)))
    assert report["conversations"] == 1 and report["messages"] == 30 and report["api_usage"] == 1
    assert report["metrics"] == 1 and report["batches"] >= 4 and report["longest_batch_us"] > 0
    assert seen and seen[-1][1] == 1 + 30 + 1 + 1 and all(t == -1 for _, _, t in seen)
    with pytest.raises(convstore.NotFoundError):
        store.get_conversation(c["id"])
    assert store.get_conversation(live["id"])["message_count"] == 1

    after = [store.cost_summary(**window), store.cost_summary(user="ana@example.com", **window),
             store.group_costs(["model", "day"], **window),
             store.cost_summary(utc_offset_minutes=330, **window)]
    assert after == before
    assert store.verify_rollups()["differences"] == 0
    assert store.verify_audit()["ok"]
    assert any(e["action"] == "retention.applied" for e in store.read_audit(limit=1000)["entries"])


def test_policy_is_stored_and_bad_input_writes_nothing(store):
    assert store.retention_policy() == {"conversations_idle_us": None, "api_usage_us": None, "metrics_us": None,
                                        "audit_us": None, "journal_us": None}
    for bad in ({"metrics_us": 0}, {"metrics_us": -5}, {"audit_us": True}, {"journal_us": "7d"},
                {"api_usage_us": 1.5}, {"journal_us": 2**70}):
        with pytest.raises(convstore.InvalidArgumentError):
            store.set_retention_policy(**bad)
        with pytest.raises(convstore.InvalidArgumentError):
            store.apply_retention(policy=bad)
    for bad in ({"batch_rows": 0}, {"batch_rows": 100_001}, {"batch_rows": "10"}, {"policy": {"days": 3}},
                {"policy": [1]}):
        with pytest.raises(convstore.InvalidArgumentError):
            store.apply_retention(**bad)
    with pytest.raises(convstore.InvalidArgumentError):
        store.start_retention(10)
    with pytest.raises(convstore.NotFoundError):
        store.stop_retention()
    assert store.retention_policy()["metrics_us"] is None
    assert store.read_audit(action="retention.policy_set")["entries"] == []

    store.set_retention_policy(conversations_idle_us=datetime.timedelta(days=90), journal_us=7 * DAY)
    assert store.retention_policy() == {"conversations_idle_us": 90 * DAY, "api_usage_us": None, "metrics_us": None,
                                        "audit_us": None, "journal_us": 7 * DAY}
    assert store.journal_status()["retention"]["max_age_us"] == 7 * DAY


def test_schedule_runs_until_stopped(store):
    store.record_metric("t", "n", 1.0, at=_now_us() - 10 * DAY)
    store.set_retention_policy(metrics_us=DAY)
    store.start_retention(datetime.timedelta(seconds=1))
    with pytest.raises(convstore.ConflictError):
        store.start_retention(1_000_000)
    deadline = time.monotonic() + 10
    while store.retention_status()["runs"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    status = store.stop_retention()
    assert status["running"] is False and status["runs"] >= 1 and status["failed_runs"] == 0
    assert status["last"]["metrics"] == 1
