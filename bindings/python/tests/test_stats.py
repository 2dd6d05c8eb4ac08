"""Statistics from Python: each call counted once under its name, errors and rows, times consistent; saved when a
handle closes and added to the next one's; reset; bad options refused."""

import threading

import pytest

import convstore


def op(stats, name):
    return next((o for o in stats["operations"] if o["name"] == name), None)


def test_counts_calls_errors_and_rows(store):
    c = store.create_conversation("ana", "t")
    for i in range(20):
        store.add_message(c["id"], "user", f"m{i}")
    store.add_messages(c["id"], [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    assert len(store.get_conversation(c["id"])["messages"]) == 22
    with pytest.raises(convstore.NotFoundError):
        store.add_message("no-such-conversation", "user", "x")
    s = store.stats(saved=False)
    add = op(s, "add_message")
    assert add["calls"] == 21 and add["errors"] == 1 and add["rows"] == 20
    assert op(s, "add_messages")["rows"] == 2
    assert op(s, "get_conversation")["rows"] == 22
    assert 0 < add["min_us"] <= add["mean_us"] <= add["max_us"]
    assert add["total_us"] == pytest.approx(add["mean_us"] * add["calls"], rel=1e-9)
    assert add["stddev_us"] >= 0
    totals = [o["total_us"] for o in s["operations"]]
    assert totals == sorted(totals, reverse=True)
    assert s["cache_hits"] + s["cache_misses"] > 0 and s["wal_bytes"] > 0
    assert s["since_us"] > 0


def test_saved_at_close_and_merged(db_path):
    with convstore.Store(db_path) as s:
        c = s.create_conversation("ana", "t")
        for i in range(3):
            s.add_message(c["id"], "user", "x")
    with convstore.Store(db_path) as s:
        c = s.create_conversation("ana", "t")
        s.add_message(c["id"], "user", "x")
        assert op(s.stats(), "add_message")["calls"] == 4
        assert op(s.stats(saved=False), "add_message")["calls"] == 1
        s.reset_stats()
        after = s.stats()
        assert op(after, "add_message") is None and op(after, "reset_stats")["calls"] == 1
    with convstore.Store(db_path, read_only=True) as ro:
        assert op(ro.stats(), "add_message") is None


def test_threads_count_every_call(store):
    c = store.create_conversation("ana", "t")
    store.reset_stats()

    def work():
        for _ in range(25):
            store.add_message(c["id"], "user", "x")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert op(store.stats(saved=False), "add_message")["calls"] == 100


def test_counting_can_be_turned_off(store):
    c = store.create_conversation("ana", "t")
    store.set_stats_enabled(False)
    store.add_message(c["id"], "user", "not counted")
    assert op(store.stats(saved=False), "add_message") is None
    store.set_stats_enabled(True)
    store.add_message(c["id"], "user", "counted")
    assert op(store.stats(saved=False), "add_message")["calls"] == 1


def test_bad_options_refused(store):
    with pytest.raises(convstore.InvalidArgumentError):
        store.stats(saved="yes")
    with pytest.raises(convstore.InvalidArgumentError):
        store.set_stats_enabled(1)
    store.close()
    with pytest.raises(convstore.ClosedError):
        store.stats()
    with pytest.raises(convstore.ClosedError):
        store.reset_stats()
    with pytest.raises(convstore.ClosedError):
        store.set_stats_enabled(True)
