"""convstore.compat.AIDatabase reproduces the chapter's V1 sqlite3 class."""

import json
import re
import threading

import pytest

import convstore
from convstore import ClosedError, InvalidArgumentError, NotFoundError
from convstore.compat import AIDatabase

TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
CONV_KEYS = ["id", "user_id", "title", "created_at", "updated_at", "metadata", "is_archived"]
MSG_KEYS = ["id", "conversation_id", "role", "content", "model", "tokens_input", "tokens_output", "cost_usd",
            "created_at", "metadata"]


@pytest.fixture
def db(tmp_path):
    with AIDatabase(str(tmp_path / "ai_system.db")) as d:
        yield d


def test_exported_lazily():
    assert convstore.AIDatabase is AIDatabase


def test_chapter_example_flow(db):
    user_id = "engineer@company.com"
    conv_id = db.create_conversation(user_id=user_id, title="BGP Route Analysis",
                                     metadata={"source": "cli", "version": "1.0"})
    assert isinstance(conv_id, str)
    msg1_id = db.add_message(conversation_id=conv_id, role="user",
                             content="Analyze this BGP config and identify potential issues")
    msg2_id = db.add_message(conversation_id=conv_id, role="assistant",
                             content="I found 3 issues: 1) Missing route-map on neighbor...",
                             model="claude-sonnet-4-5", tokens_input=1250, tokens_output=890, cost_usd=0.015)

    conversation = db.get_conversation(conv_id)
    assert list(conversation) == ["conversation", "messages", "message_count"]
    assert conversation["message_count"] == 2
    c = conversation["conversation"]
    assert list(c) == CONV_KEYS
    assert c["id"] == conv_id and c["user_id"] == user_id and c["title"] == "BGP Route Analysis"
    assert c["metadata"] == json.dumps({"source": "cli", "version": "1.0"})
    assert c["is_archived"] == 0
    assert TS.match(c["created_at"]) and TS.match(c["updated_at"]) and c["updated_at"] >= c["created_at"]

    m1, m2 = conversation["messages"]
    assert list(m1) == MSG_KEYS and list(m2) == MSG_KEYS
    assert (m1["id"], m2["id"]) == (msg1_id, msg2_id)
    assert m1 == {**m1, "conversation_id": conv_id, "role": "user", "model": None, "tokens_input": None,
                  "tokens_output": None, "cost_usd": None, "metadata": "{}"}
    assert m2["model"] == "claude-sonnet-4-5" and m2["tokens_input"] == 1250 and m2["tokens_output"] == 890
    assert m2["cost_usd"] == 0.015 and isinstance(m2["cost_usd"], float)
    assert TS.match(m2["created_at"])

    conversations = db.get_user_conversations(user_id, limit=5)
    assert len(conversations) == 1
    row = conversations[0]
    assert list(row) == CONV_KEYS + ["message_count", "total_cost"]
    assert row["title"] == "BGP Route Analysis" and row["message_count"] == 2 and row["total_cost"] == 0.015
    assert f"{row['title']}: {row['message_count']} messages, ${row['total_cost'] or 0:.3f} cost" == \
        "BGP Route Analysis: 2 messages, $0.015 cost"


def test_unknowns(db):
    assert db.get_conversation("00000000-0000-7000-8000-000000000000") is None
    assert db.get_conversation("") is None
    assert db.get_user_conversations("nobody@company.com") == []
    assert db.get_user_conversations("") == []
    with pytest.raises(NotFoundError):
        db.add_message("no-such-conversation", "user", "x")


def test_roles(db):
    cid = db.create_conversation("u", "roles")
    for role in ("user", "assistant", "system", "tool"):
        db.add_message(cid, role, f"as {role}")
    with pytest.raises(InvalidArgumentError):
        db.add_message(cid, "robot", "x")
    assert [m["role"] for m in db.get_conversation(cid)["messages"]] == ["user", "assistant", "system", "tool"]


def test_user_conversations_order_archive_and_totals(db):
    a = db.create_conversation("u", "a")
    b = db.create_conversation("u", "b")
    empty = db.create_conversation("u", "empty")
    db.add_message(a, "assistant", "x", cost_usd=0.01)
    db.add_message(a, "assistant", "y", cost_usd=0.02)
    db.add_message(b, "user", "z")
    rows = db.get_user_conversations("u")
    assert [r["id"] for r in rows] == [b, a, empty]  # newest updated first
    totals = {r["id"]: (r["message_count"], r["total_cost"]) for r in rows}
    assert totals[a] == (2, 0.03) and totals[empty] == (0, None)
    assert totals[b][0] == 1
    assert [r["id"] for r in db.get_user_conversations("u", limit=2)] == [b, a]
    db.store.archive(b)
    assert [r["id"] for r in db.get_user_conversations("u")] == [a, empty]


def test_large_limit_pages_through(db):
    ids = {db.create_conversation("many", str(i)) for i in range(1005)}
    rows = db.get_user_conversations("many", limit=2000)
    assert len(rows) == 1005 and {r["id"] for r in rows} == ids
    assert len(db.get_user_conversations("many", limit=-1)) == 1005
    assert db.get_user_conversations("many", limit=0) == []


def test_metadata_round_trip(db):
    cid = db.create_conversation("u", "t")
    assert db.get_conversation(cid)["conversation"]["metadata"] == "{}"
    db.add_message(cid, "user", "x", metadata={"tags": ["a", "b"], "n": 1})
    assert json.loads(db.get_conversation(cid)["messages"][0]["metadata"]) == {"tags": ["a", "b"], "n": 1}


def test_close(tmp_path):
    d = AIDatabase(str(tmp_path / "x.db"))
    cid = d.create_conversation("u", "t")
    d.close()
    d.close()
    with pytest.raises(ClosedError):
        d.get_conversation(cid)


def test_threads_hammering_one_instance(db):
    cids = [db.create_conversation("threads", f"c{i}") for i in range(4)]
    per_thread, n_threads = 100, 8
    errors = []

    def work(t):
        try:
            for i in range(per_thread):
                db.add_message(cids[(t + i) % 4], "assistant", f"{t}-{i}", tokens_input=1, tokens_output=2,
                               cost_usd=0.001)
                if i % 25 == 0:
                    db.get_user_conversations("threads")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = db.get_user_conversations("threads")
    assert sum(r["message_count"] for r in rows) == per_thread * n_threads
    assert round(sum(r["total_cost"] for r in rows), 9) == 0.8
    for cid in cids:
        conv = db.get_conversation(cid)
        assert conv["message_count"] == per_thread * n_threads // 4
        assert len({m["content"] for m in conv["messages"]}) == conv["message_count"]
