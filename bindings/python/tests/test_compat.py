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


# ---- search_by_metadata (the chapter's PostgreSQL query: metadata @> filter ORDER BY created_at DESC LIMIT n) ----

SEARCH_KEYS = ["id", "title", "source", "created_at"]
T0 = 1_770_800_000_000_000  # 2026-02-11 08:53:20 UTC, in µs


def test_search_by_metadata_chapter_example(db):
    cid = db.create_conversation("engineer@company.com", "BGP Route Analysis",
                                 metadata={"source": "cli", "version": "1.0"})
    db.create_conversation("engineer@company.com", "DNS", metadata={"source": "web", "version": "1.0"})
    rows = db.search_by_metadata({"source": "cli"}, limit=5)
    assert len(rows) == 1 and list(rows[0]) == SEARCH_KEYS
    row = rows[0]
    assert (row["id"], row["title"], row["source"]) == (cid, "BGP Route Analysis", "cli")
    assert TS.match(row["created_at"])
    assert row["created_at"] == db.get_conversation(cid)["conversation"]["created_at"]
    assert [f"   {c['title']} (source: {c['source']})" for c in rows] == ["   BGP Route Analysis (source: cli)"]
    assert [r["title"] for r in db.search_by_metadata({"version": "1.0"})] == ["DNS", "BGP Route Analysis"]


def test_search_by_metadata_shape_order_and_limit(db):
    ids = [db.store.create_conversation("u", f"c{i}", metadata={"team": "net", "i": i},
                                        created_at=T0 + i * 1_000_000)["id"] for i in range(12)]
    rows = db.search_by_metadata({"team": "net"})
    assert [r["id"] for r in rows] == ids[::-1][:10]  # newest created first; the default limit is 10
    assert all(list(r) == SEARCH_KEYS for r in rows)
    assert rows[-1] == {"id": ids[2], "title": "c2", "source": None, "created_at": "2026-02-11 08:53:22"}
    assert [r["title"] for r in db.search_by_metadata({"team": "net"}, limit=3)] == ["c11", "c10", "c9"]
    assert len(db.search_by_metadata({"team": "net"}, limit=100)) == 12
    assert db.search_by_metadata({"team": "net"}, limit=0) == []
    assert db.search_by_metadata({"team": "nope"}) == []
    # created_at, not the last activity: a new message does not move a conversation up
    db.add_message(ids[0], "user", "bump")
    assert db.search_by_metadata({"team": "net"}, limit=1)[0]["id"] == ids[11]
    # archived conversations are found too (the chapter's query has no such filter)
    db.store.archive(ids[11])
    assert db.search_by_metadata({"i": 11}) == [{"id": ids[11], "title": "c11", "source": None,
                                                  "created_at": "2026-02-11 08:53:31"}]


def test_search_by_metadata_bad_limits(db):
    db.create_conversation("u", "t", metadata={"a": 1})
    with pytest.raises(InvalidArgumentError):
        db.search_by_metadata({"a": 1}, limit=-1)
    with pytest.raises(InvalidArgumentError):
        db.search_by_metadata({"a": 1}, limit=-1000)
    for bad in ("3", 2.0, True, None):
        with pytest.raises(InvalidArgumentError):
            db.search_by_metadata({"a": 1}, limit=bad)
    with pytest.raises(InvalidArgumentError):
        db.search_by_metadata({"a": float("nan")})
    with pytest.raises(InvalidArgumentError):
        db.search_by_metadata({"a": object()})


def test_search_by_metadata_source_is_the_text_of_the_value(db):
    values = {
        "absent": None, "null": None, "str": "cli", "empty": "", "int": 1, "float": 1.5, "true": True,
        "false": False, "list": [1, "a"], "object": {"k": "v"}, "unicode": "clé 🙂",
        "ordered": {"bb": 1, "a": {"zz": 2, "y": None}},
    }
    for name, value in values.items():
        meta = {"kind": name} if name == "absent" else {"kind": name, "source": value}
        db.create_conversation("u", name, metadata=meta)
    got = {r["title"]: r["source"] for r in db.search_by_metadata({}, limit=100)}
    assert got["absent"] is None and got["null"] is None  # ->> gives SQL NULL for both
    assert (got["str"], got["empty"], got["unicode"]) == ("cli", "", "clé 🙂")
    assert (got["int"], got["float"], got["true"], got["false"]) == ("1", "1.5", "true", "false")
    assert got["list"] == '[1, "a"]'  # as PostgreSQL prints jsonb
    assert got["object"] == '{"k": "v"}'
    assert got["ordered"] == '{"a": {"y": null, "zz": 2}, "bb": 1}'  # jsonb prints shorter keys first
    assert all(isinstance(v, str) for k, v in got.items() if k not in ("absent", "null"))


def test_search_by_metadata_containment_rules(db):
    a = db.create_conversation("u", "a", metadata={"source": "cli", "tags": ["bgp", "ospf"], "n": 1,
                                                   "user": {"id": "u1", "roles": ["admin"]}})
    b = db.create_conversation("u", "b", metadata={"source": "web", "tags": ["bgp"], "n": "1"})
    assert [r["id"] for r in db.search_by_metadata({"tags": ["bgp"]})] == [b, a]
    assert [r["id"] for r in db.search_by_metadata({"tags": ["ospf", "bgp"]})] == [a]
    assert [r["id"] for r in db.search_by_metadata({"n": 1.0})] == [a]
    assert [r["id"] for r in db.search_by_metadata({"n": "1"})] == [b]
    assert [r["id"] for r in db.search_by_metadata({"user": {"roles": ["admin"]}})] == [a]
    assert db.search_by_metadata({"tags": "bgp"}) == []
    assert db.search_by_metadata({"id": "u1"}) == []  # anchored at the root
    assert [r["id"] for r in db.search_by_metadata({})] == [b, a]
    # not an object: no metadata document contains it (PostgreSQL: metadata @> '["cli"]' and @> NULL are not true)
    assert db.search_by_metadata(["cli"]) == []
    assert db.search_by_metadata("cli") == []
    assert db.search_by_metadata(None) == []


def test_search_by_metadata_pages_past_1000(db):
    ids = {db.create_conversation("many", str(i), metadata={"bulk": True}) for i in range(1005)}
    db.create_conversation("many", "other", metadata={"bulk": False})
    rows = db.search_by_metadata({"bulk": True}, limit=2000)
    assert len(rows) == 1005 and {r["id"] for r in rows} == ids
    assert [r["title"] for r in rows[:2]] == ["1004", "1003"]
    assert len(db.search_by_metadata({"bulk": True}, limit=1001)) == 1001


def test_search_by_metadata_after_close(tmp_path):
    d = AIDatabase(str(tmp_path / "x.db"))
    d.create_conversation("u", "t", metadata={"source": "cli"})
    d.close()
    with pytest.raises(ClosedError):
        d.search_by_metadata({"source": "cli"})


def test_semantic_search_has_the_enterprise_chapters_shape(db):
    import numpy as np

    vocabulary = ["bgp", "ospf", "invoice", "refund", "vlan", "route"]

    def embed(text):  # a bag of words over a tiny vocabulary: the caller's model
        words = text.lower().split()
        return [float(words.count(w)) + 0.01 for w in vocabulary]

    with pytest.raises(InvalidArgumentError):
        db.semantic_search("bgp")  # no embedding function yet
    db.set_embedding_function(embed, dimension=len(vocabulary))
    conv = db.create_conversation("ana@example.com", "Network issues")
    texts = ["bgp route flaps", "invoice and refund", "ospf vlan issue", "bgp bgp route"]
    ids = [db.store_message_with_embedding(conv, "user", t, model="gpt-4o") for t in texts]
    got = db.semantic_search("BGP configuration issues", limit=2)
    assert [sorted(r) for r in got] == [sorted(["message_id", "content", "conversation_id", "conversation_title",
                                               "similarity"])] * 2
    q = np.array(embed("BGP configuration issues"))
    sims = [float(np.dot(q, embed(t)) / (np.linalg.norm(q) * np.linalg.norm(embed(t)))) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -sims[i])[:2]
    assert [r["message_id"] for r in got] == [ids[i] for i in order]
    assert got[0]["conversation_title"] == "Network issues" and got[0]["conversation_id"] == conv
    assert got[0]["similarity"] == pytest.approx(sims[order[0]], abs=1e-6)
    assert db.semantic_search("anything", limit=0) == []
