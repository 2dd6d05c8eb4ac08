"""Health from Python: the nine checks in order, thresholds as keyword arguments, a budget near its limit warning,
a pinned WAL under an erasure warning, bad thresholds refused."""

import sqlite3

import pytest

import convstore

NAMES = ["quick_check", "wal_size", "free_pages", "journal_lag", "archive_lag", "sync_lag", "disk_free", "budgets",
         "erasures"]


def check(report, name):
    return next(c for c in report["checks"] if c["name"] == name)


def test_a_fresh_store_is_ok(store):
    r = store.check_health()
    assert r["level"] == "ok"
    assert [c["name"] for c in r["checks"]] == NAMES
    assert all(c["level"] == "ok" and c["message"] for c in r["checks"])
    assert check(r, "disk_free")["value"] > 0 and check(r, "disk_free")["unit"] == "bytes"
    assert check(r, "wal_size")["warn_at"] == 64 * 2**20 and check(r, "free_pages")["fail_at"] is None
    assert check(store.check_health(quick_check=False), "quick_check")["message"] == "skipped"


def test_thresholds_are_keyword_arguments(store):
    c = store.create_conversation("ana", "t")
    store.add_message(c["id"], "user", "hello")
    wal = check(store.check_health(), "wal_size")["value"]
    assert wal > 0
    r = store.check_health(wal_warn_bytes=1)
    assert r["level"] == "warn" and check(r, "wal_size")["level"] == "warn"
    r = store.check_health(wal_warn_bytes=1, wal_fail_bytes=1)
    assert r["level"] == "fail"
    r = store.check_health(disk_free_warn_bytes=2**62)
    assert check(r, "disk_free")["level"] == "warn"


def test_a_budget_near_its_limit_warns_and_at_it_fails(store):
    store.set_budget("netops-day", "global", "day", hard_limit_usd=10)
    store.record_api_usage("ana", "m", cost_usd="8.5")
    b = check(store.check_health(quick_check=False), "budgets")
    assert b["level"] == "warn" and b["value"] == pytest.approx(0.85) and "'netops-day' 85%" in b["message"]
    assert check(store.check_health(budget_warn_fraction=0.9), "budgets")["level"] == "ok"
    store.record_api_usage("ana", "m", cost_usd="1.5")
    assert check(store.check_health(), "budgets")["level"] == "fail"


def test_an_erasure_waiting_for_a_pinned_wal_warns(db_path):
    with convstore.Store(db_path) as s:
        c = s.create_conversation("gone@example.com", "t")
        s.add_message(c["id"], "user", "secret")
        reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM messages").fetchone()
        s.erase_user("gone@example.com")
        e = check(s.check_health(), "erasures")
        assert e["level"] == "warn" and e["value"] == 1 and "WAL" in e["message"]
        reader.execute("COMMIT")
        reader.close()
        s.finish_erasures()
        assert check(s.check_health(), "erasures")["level"] == "ok"


@pytest.mark.parametrize("kwargs", [
    {"wal_warn_bytes": -1},
    {"wal_warn_bytes": 10, "wal_fail_bytes": 5},
    {"disk_free_warn_bytes": 1},
    {"budget_warn_fraction": float("nan")},
    {"free_pages_warn_fraction": 1.5},
    {"wal_warn_bytes": "1"},
    {"no_such_threshold": 1},
    {"quick_check": 1},
])
def test_bad_thresholds_are_refused(store, kwargs):
    with pytest.raises(convstore.InvalidArgumentError):
        store.check_health(**kwargs)


def test_closed_store_refuses(db_path):
    s = convstore.Store(db_path)
    s.close()
    with pytest.raises(convstore.ClosedError):
        s.check_health()
