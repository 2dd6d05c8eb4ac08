"""Full-text search from Python: results equal Python's own sqlite3 FTS5 on the same rows (bm25, ties by newest
row first), filters before the limit, any plain text accepted, bad input refused, trigram substrings, erasure leaving
no token in the file."""

import os
import random
import sqlite3

import pytest

import convstore
from convstore.errors import InvalidArgumentError

WORDS = ["bgp", "flap", "route", "peer", "timeout", "café", "latency", "packet", "loss", "ospf", "vlan", "switch"]


def fill(store, n=300):
    store.upsert_team("netops")
    store.upsert_team("ml")
    store.upsert_user("ana", team="netops")
    store.upsert_user("cy", team="ml")
    convs = [store.create_conversation("ana" if i % 2 == 0 else "cy", title=f"t{i}")["id"] for i in range(4)]
    rng = random.Random(3)
    rows = []
    for i in range(n):
        conv = convs[rng.randrange(4)]
        text = " ".join(rng.choice(WORDS) for _ in range(3 + rng.randrange(8)))
        role = rng.choice(["user", "assistant"])
        m = store.add_message(conv, role, text, metadata={"n": i % 3})
        rows.append({"id": m["id"], "content": text, "conversation": conv, "role": role, "n": i % 3,
                     "user": "ana" if convs.index(conv) % 2 == 0 else "cy"})
    return rows


def reference(rows, match, limit, keep):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE ref USING fts5(content, tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO ref(rowid, content) VALUES (?, ?)", [(i + 1, r["content"]) for i, r in enumerate(rows)])
    out = []
    for rowid, rank in db.execute("SELECT rowid, bm25(ref) r FROM ref WHERE ref MATCH ? ORDER BY r, rowid DESC",
                                  (match,)):
        r = rows[rowid - 1]
        if keep(r):
            out.append((r["id"], -rank))
        if len(out) == limit:
            break
    return out


@pytest.mark.parametrize("text,syntax,match", [("bgp", "plain", '"bgp"'), ("CAFE route", "plain", '"CAFE" "route"'),
                                               ("pe*", "query", "pe*"), ("bgp OR ospf", "query", "bgp OR ospf"),
                                               ('"packet loss"', "query", '"packet loss"')])
def test_results_equal_a_plain_fts5_table(store, text, syntax, match):
    rows = fill(store)
    cases = [({}, lambda r: True), ({"user": "ana"}, lambda r: r["user"] == "ana"),
             ({"team": "ml"}, lambda r: r["user"] == "cy"), ({"role": "assistant"}, lambda r: r["role"] == "assistant"),
             ({"conversation_id": rows[0]["conversation"]}, lambda r: r["conversation"] == rows[0]["conversation"]),
             ({"metadata_contains": {"n": 2}}, lambda r: r["n"] == 2),
             ({"metadata_where": {"n": {"$lt": 1}}, "user": "cy"}, lambda r: r["n"] < 1 and r["user"] == "cy")]
    for kwargs, keep in cases:
        for limit in (1, 5, 1000):
            got = store.search_text(text, syntax=syntax, limit=limit, **kwargs)
            assert got["unindexed"] == 0
            want = reference(rows, match, limit, keep)
            assert [h["message_id"] for h in got["hits"]] == [w[0] for w in want], kwargs
            assert all(abs(h["score"] - w[1]) < 1e-9 for h, w in zip(got["hits"], want))


def test_hits_and_titles(store):
    c = store.create_conversation("ana", title="BGP flaps in Frankfurt")
    m = store.add_message(c["id"], "assistant", "the hold timer expired", model="gpt-4o")
    hit = store.search_text("hold timer", highlight=("<b>", "</b>"))["hits"][0]
    assert hit["message_id"] == m["id"] and hit["conversation_title"] == "BGP flaps in Frankfurt"
    assert hit["snippet"] == "the <b>hold</b> <b>timer</b> expired" and hit["role"] == "assistant"
    assert hit["user"] == "ana" and hit["model"] == "gpt-4o" and hit["score"] > 0 and hit["created_at_us"] > 0
    title = store.search_text("frankfurt", target="conversations")["hits"]
    assert len(title) == 1 and title[0]["message_id"] is None and title[0]["conversation_id"] == c["id"]


def test_any_plain_text_is_accepted_and_bad_input_refused(store):
    c = store.create_conversation("ana")
    store.add_message(c["id"], "user", 'C++ (templates) "quoted" NOT a problem')
    for text in ["C++", "(templates", '"quoted"', "NOT", "a) OR x", "*", "NEAR(", "{content}:", "!!!"]:
        store.search_text(text)
    assert len(store.search_text('"quoted"')["hits"]) == 1
    assert store.search_text("!!! ???")["hits"] == []
    assert store.search_text("templates", user="nobody")["hits"] == []
    for kwargs in [{"text": ""}, {"text": "a AND", "syntax": "query"}, {"text": "(a", "syntax": "query"},
                   {"text": "a", "syntax": "regex"}, {"text": "a", "target": "tools"}, {"text": "a", "limit": 0},
                   {"text": "a", "role": "robot"}, {"text": "a", "snippet_tokens": 100},
                   {"text": "a", "metadata_where": {"x": {"$nope": 1}}}, {"text": "a", "highlight": "[]"},
                   {"text": "a", "wait_for_index": 1}, {"text": "a", "from_": "yesterday"}]:
        with pytest.raises(InvalidArgumentError):
            store.search_text(**kwargs)
    with pytest.raises(InvalidArgumentError):
        store.set_text_tokenizer("porter")
    assert store.search_status()["tokenizer"] == "words"


def test_trigram_and_status(store):
    c = store.create_conversation("ana")
    store.add_message(c["id"], "user", "東京タワーの夜景 substring")
    assert store.search_text("tring")["hits"] == []
    report = store.set_text_tokenizer("trigram")
    assert report["status"]["tokenizer"] == "trigram" and report["rows_indexed"] == 2
    assert len(store.search_text("京タワ")["hits"]) == 1 and len(store.search_text("tring")["hits"]) == 1
    assert store.verify_search_index()["ok"] is True
    status = store.search_status()
    assert status["messages_indexed"] == 1 and status["messages_pending"] == 0 and status["index_bytes"] > 0


def test_erasure_leaves_no_token_in_the_file(db_path):
    marker = "qzxmarkerword"
    with convstore.Store(db_path) as s:
        c = s.create_conversation("eve")
        for _ in range(5):
            s.add_message(c["id"], "user", f"{marker} private")
        s.catch_up_search_index()
        assert len(s.search_text(marker)["hits"]) == 5
        s.erase_user("eve")
        assert s.search_text(marker)["hits"] == []
        assert s.search_status()["purge_pending"] is False
    data = open(db_path, "rb").read() + (open(db_path + "-wal", "rb").read() if os.path.exists(db_path + "-wal") else b"")
    assert marker.encode() not in data


def test_background_indexing_switch(db_path):
    with convstore.Store(db_path, background_indexing=False) as s:
        c = s.create_conversation("ana")
        s.add_message(c["id"], "user", "waiting in the tail")
        assert s.search_status()["messages_pending"] == 1  # nothing indexes behind the caller
        assert len(s.search_text("tail")["hits"]) == 1  # a search indexes what waits first
        s.add_message(c["id"], "user", "another row")
        assert s.search_text("another", wait_for_index=False) == {"hits": [], "unindexed": 1}
        s.set_background_indexing(True)
        assert s.catch_up_search_index()["status"]["messages_pending"] == 0
        with pytest.raises(InvalidArgumentError):
            s.set_background_indexing(1)
    with pytest.raises(InvalidArgumentError):
        convstore.Store(db_path, background_indexing="no")


def test_background_checkpoints_option(db_path):
    # Off: the commit that fills the WAL checkpoints in the caller's thread; on (the default): a thread does.
    for on in (False, True):
        with convstore.Store(db_path, background_checkpoints=on) as s:
            c = s.create_conversation("ana")
            s.add_messages(c["id"], [{"role": "user", "content": "x" * 4000} for _ in range(5000)])
            assert s.get_conversation_info(c["id"])["message_count"] == 5000
            assert s.check_health(quick_check=True)["level"] == "ok"
    with pytest.raises(InvalidArgumentError):
        convstore.Store(db_path, background_checkpoints="no")
