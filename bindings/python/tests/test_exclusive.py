"""Store(exclusive=True): the handle holds the file alone — no -shm file, another process's open (of convstore or
plain sqlite3) is refused while it is open, an exclusive open refused while another has the file writes nothing —
and after close the file is an ordinary store."""

import os
import subprocess
import sys
import textwrap

import pytest

import convstore
from convstore.errors import BusyError, InvalidArgumentError


def _open_in_another_process(path, **kwargs):
    """What a convstore open in a fresh Python process gives: "ok", or the exception's class name and message."""
    code = textwrap.dedent(f"""
        import convstore
        from convstore.errors import ConvstoreError
        try:
            convstore.Store({str(path)!r}, busy_timeout_ms=200, **{kwargs!r}).close()
            print("ok")
        except ConvstoreError as e:
            print(type(e).__name__, e)
    """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_holds_the_file_alone_and_leaves_an_ordinary_store(tmp_path):
    db = tmp_path / "alone.db"
    with convstore.Store(db, exclusive=True) as s:
        c = s.create_conversation("ana@example.com", "alone")
        ids = s.add_messages(c["id"], [{"role": "user", "content": f"m{i}", "tokens_input": 3} for i in range(20)])
        s.add_message(c["id"], "assistant", "done", tokens_output=5)
        assert len(ids) == 20
        assert os.path.exists(f"{db}-wal") and not os.path.exists(f"{db}-shm")
        refused = _open_in_another_process(db)
        assert refused.startswith("BusyError") and "exclusive" in refused
        # Plain sqlite3 in another process cannot even read. (In this process SQLite's own connections share the
        # process's hold on the file: the process-exclusive VFS keeps other processes out.)
        read = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3
            try:
                sqlite3.connect({str(db)!r}, timeout=0.1).execute("SELECT count(*) FROM messages").fetchone()
                print("read")
            except sqlite3.OperationalError as e:
                print(e)
        """)], capture_output=True, text=True, timeout=60)
        assert read.stdout.strip() == "database is locked", read
        assert s.get_conversation_info(c["id"])["message_count"] == 21
    assert _open_in_another_process(db) == "ok"
    with convstore.Store(db) as s:
        assert [m["content"] for m in s.get_last_messages(c["id"], 2)] == ["m19", "done"]


def test_an_exclusive_open_while_another_has_the_file_is_refused(tmp_path):
    db = tmp_path / "shared.db"
    with convstore.Store(db) as shared:
        c = shared.create_conversation("ana@example.com")
        shared.add_message(c["id"], "user", "one")
        with pytest.raises(BusyError, match="exclusive open needs the file to itself"):
            convstore.Store(db, exclusive=True, busy_timeout_ms=200)
        shared.add_message(c["id"], "user", "two")
        assert shared.get_conversation_info(c["id"])["message_count"] == 2


def test_bad_exclusive_options_are_refused_leaving_no_file(tmp_path):
    with pytest.raises(InvalidArgumentError, match="exclusive and read_only"):
        convstore.Store(tmp_path / "x.db", exclusive=True, read_only=True)
    with pytest.raises(InvalidArgumentError, match="exclusive"):
        convstore.Store(tmp_path / "x.db", exclusive="yes")
    assert os.listdir(tmp_path) == []
    with convstore.Store(":memory:", exclusive=True) as memory:  # exclusive by nature
        memory.create_conversation("ana@example.com")
