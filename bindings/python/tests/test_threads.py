"""Concurrency: many threads on one Store, and several processes on one file."""

import multiprocessing
import os
import sys
import threading
import time

import pytest

from convstore import ClosedError, Store
from conftest import message_count

PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_threads(n, target):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except Exception as e:  # pragma: no cover - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("path", ["file", ":memory:"])
def test_threads_write_and_read(tmp_path, path):
    with Store(str(tmp_path / "t.db") if path == "file" else path) as s:
        cid = s.create_conversation("u")["id"]
        per = 150

        def work(t):
            for i in range(per):
                s.add_message(cid, "user", f"{t}:{i}", tokens_input=1, cost_nanousd=3)
                if i % 10 == 0:
                    r = s.get_conversation(cid)
                    assert r["message_count"] == len(r["messages"])

        assert _run_threads(8, work) == []
        assert message_count(s, cid) == 8 * per
        info = s.get_conversation_info(cid)
        assert info["tokens_input"] == 8 * per and info["total_cost_nanousd"] == 3 * 8 * per
        positions = [m["position"] for m in s.get_conversation(cid)["messages"]]
        assert positions == list(range(8 * per))


def test_threads_same_request_ids_count_once(store):
    cid = store.create_conversation("u")["id"]
    ids = []
    lock = threading.Lock()

    def work(t):
        for i in range(50):
            m = store.add_message(cid, "assistant", f"reply {i}", tokens_output=1, request_id=f"req-{i}")
            with lock:
                ids.append((i, m["id"]))

    assert _run_threads(6, work) == []
    assert message_count(store, cid) == 50
    assert len({(i, mid) for i, mid in ids}) == 50  # every thread got the same message per request_id
    assert store.get_conversation_info(cid)["tokens_output"] == 50


def test_close_while_threads_run(db_path):
    s = Store(db_path)
    cid = s.create_conversation("u")["id"]
    started = threading.Barrier(5)
    outcomes = []

    def work(t):
        started.wait()
        n = 0
        try:
            while True:
                s.add_message(cid, "user", "x")
                n += 1
        except ClosedError:
            outcomes.append(n)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.05)  # let the writers get going, then close under them
    s.close()
    for t in threads:
        t.join()
    assert len(outcomes) == 4
    with Store(db_path) as again:
        assert message_count(again, cid) == sum(outcomes)


def _writer(path, cid, tag, n, ready, go):
    sys.path.insert(0, PKG_ROOT)
    from convstore import Store as S

    with S(path) as s:
        ready.set()
        go.wait(60)  # both processes write at the same time
        for i in range(n):
            s.add_message(cid, "user", f"{tag}-{i}", cost_nanousd=1)


def test_two_processes_lose_nothing(db_path):
    with Store(db_path) as s:
        cid = s.create_conversation("u")["id"]
    n = 1500
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    ready = [ctx.Event(), ctx.Event()]
    procs = [ctx.Process(target=_writer, args=(db_path, cid, tag, n, r, go)) for tag, r in zip("ab", ready)]
    for p in procs:
        p.start()
    for r in ready:
        assert r.wait(60)
    go.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with Store(db_path) as s:
        r = s.get_conversation(cid)
        assert r["message_count"] == len(r["messages"]) == 2 * n
        assert {m["content"] for m in r["messages"]} == {f"{t}-{i}" for t in "ab" for i in range(n)}
        assert [m["position"] for m in r["messages"]] == list(range(2 * n))
        assert r["conversation"]["total_cost_nanousd"] == 2 * n
