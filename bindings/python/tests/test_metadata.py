"""Metadata search from Python: containment with PostgreSQL's jsonb rules, every path operator, type edge cases,
the three targets, ordinary filters, paging, explain, verify / rebuild / excluded paths, and bad input (the right
exception, nothing written).

Most cases run against the same documents twice: while they are still in the unfolded tail (checked directly) and
after rebuild_metadata_index() has put them in the posting lists (found through the index), on a file and in memory.
"""

import contextlib
import hashlib
import json
import logging
import os
import re
import sqlite3
from ctypes import byref, c_void_p
from datetime import datetime, timedelta, timezone

import pytest

from convstore import (ClosedError, ConvstoreError, InvalidArgumentError, NotFoundError, Store, TooLargeError,
                       _ffi)

T0 = 1_770_800_000_000_000  # 2026-02-11T08:53:20Z, in µs
HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "c", "include", "convstore",
                      "convstore.h")


def titles(s, *contains, **kw):
    """Titles (or, for messages, contents) of every match, newest first, in one page."""
    kw.setdefault("limit", 1000)
    r = s.search_metadata(*contains, **kw)
    assert r["next_cursor"] is None
    key = "content" if r["target"] == "messages" else "title" if r["target"] == "conversations" else "model"
    return [item[key] for item in r["items"]]


def digest(path):
    """A digest of every row of every table of the file, read with a separate connection."""
    h = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            h.update(t.encode())
            for row in c.execute(f'SELECT * FROM "{t}"'):
                h.update(repr(row).encode())
    return h.hexdigest()


def _open(request, tmp_path_factory, name):
    storage, state = request.param.split("-")
    path = str(tmp_path_factory.mktemp(name) / "m.db") if storage == "file" else ":memory:"
    return Store(path), state


def _finish(s, state):
    if state == "indexed":
        report = s.rebuild_metadata_index()
        assert report["pending"] == 0 and report["indexed"] == report["documents"]
    v = s.verify_metadata_index()
    assert v["consistent"] and v["pending"] == (0 if state == "indexed" else v["documents"])


PHASES = ["file-tail", "file-indexed", "memory-tail", "memory-indexed"]

# ---- containment ------------------------------------------------------------------------------------------

LONG = "L" * 60 + "-the-end"  # longer than 64 bytes: indexed as a prefix and a hash
CONTAINMENT_DOCS = [
    ("cli", {"source": "cli", "team": "netops", "tags": ["bgp", "ospf"], "n": 1}),
    ("web", {"source": "web", "team": "netops", "tags": ["bgp"], "n": 1.5}),
    ("nested", {"source": "cli", "user": {"id": "u1", "roles": ["admin", {"scope": "all"}]}}),
    ("empty", {}),
    ("typed", {"n": "1", "flag": True, "none": None, "arr": [[1, 3], 2], "obj": {}, "list": []}),
    ("unicode", {"clé": "värde", "a.b": {'c"d': "x"}, "emoji": "🙂", "": "empty key"}),
    ("numbers", {"big": 9223372036854775807, "e": 100, "zero": 0, "neg": -2.5, "long": LONG}),
    ("falsy", {"flag": False, "zero": False, "none": 0, "s": ""}),
]


@pytest.fixture(scope="module", params=PHASES)
def cdocs(request, tmp_path_factory):
    s, state = _open(request, tmp_path_factory, "containment")
    for i, (title, meta) in enumerate(CONTAINMENT_DOCS):
        s.create_conversation("u@x", title, metadata=meta, created_at=T0 + i)
    _finish(s, state)
    yield s
    s.close()


ALL = [t for t, _ in reversed(CONTAINMENT_DOCS)]

CONTAINMENT_CASES = [
    # objects: recursive subset, anchored at the root
    ({"source": "cli"}, ["nested", "cli"]),
    ({"source": "cli", "team": "netops"}, ["cli"]),
    ({"source": "cli", "team": "dns"}, []),
    ({}, ALL),
    ({"id": "u1"}, []),
    ({"user": {}}, ["nested"]),
    ({"user": {"id": "u1"}}, ["nested"]),
    ({"missing": None}, []),  # a missing key is not null
    # arrays: every query element in some document element; order and duplicates do not matter
    ({"tags": ["bgp"]}, ["web", "cli"]),
    ({"tags": ["ospf", "bgp"]}, ["cli"]),
    ({"tags": ["bgp", "bgp"]}, ["web", "cli"]),
    ({"tags": "bgp"}, []),  # below the top level an array does not contain a bare scalar
    ({"tags": []}, ["web", "cli"]),
    ({"tags": {}}, []),
    ({"arr": [[1, 3]]}, ["typed"]),
    ({"arr": [[3]]}, ["typed"]),
    ({"arr": [1, 3]}, []),
    ({"arr": [2]}, ["typed"]),
    ({"arr": [[]]}, ["typed"]),
    ({"user": {"roles": [{"scope": "all"}]}}, ["nested"]),
    ({"user": {"roles": [{}]}}, ["nested"]),
    ({"user": {"roles": ["all"]}}, []),
    ({"user": {"roles": "admin"}}, []),
    # scalars: type and value
    ({"n": 1}, ["cli"]),
    ({"n": 1.0}, ["cli"]),
    ({"n": 1.5}, ["web"]),
    ({"n": "1"}, ["typed"]),
    ({"n": True}, []),
    ({"flag": True}, ["typed"]),
    ({"flag": False}, ["falsy"]),
    ({"flag": 1}, []),
    ({"flag": 0}, []),
    ({"zero": 0}, ["numbers"]),
    ({"zero": 0.0}, ["numbers"]),
    ({"zero": -0.0}, ["numbers"]),
    ({"zero": False}, ["falsy"]),
    ({"none": None}, ["typed"]),
    ({"none": False}, []),
    ({"none": 0}, ["falsy"]),
    ({"s": ""}, ["falsy"]),
    ({"s": None}, []),
    ({"e": 1e2}, ["numbers"]),
    ({"e": 100.0}, ["numbers"]),
    ({"e": "100"}, []),
    ({"neg": -2.5}, ["numbers"]),
    ({"big": 9223372036854775807}, ["numbers"]),
    ({"big": 9223372036854775806}, []),  # integers compare exactly
    ({"long": LONG}, ["numbers"]),
    ({"long": "L" * 60 + "-the-End"}, []),  # same indexed prefix, another string
    ({"long": "L" * 60}, []),
    # empty containers: {} in any object, [] in any array, never across kinds
    ({"obj": {}}, ["typed"]),
    ({"list": []}, ["typed"]),
    ({"obj": []}, []),
    ({"list": {}}, []),
    # unicode keys, keys with dots and quotes, the empty key
    ({"clé": "värde"}, ["unicode"]),
    ({"clé": "varde"}, []),
    ({"a.b": {'c"d': "x"}}, ["unicode"]),
    ({"a": {"b": {'c"d': "x"}}}, []),  # a key with a dot is one key
    ({"emoji": "🙂"}, ["unicode"]),
    ({"": "empty key"}, ["unicode"]),
    # a metadata document is an object: it never contains an array or a scalar
    (["cli"], []),
    ("cli", []),
    (1, []),
    (None, []),  # JSON null, as in PostgreSQL: no object contains it
]


@pytest.mark.parametrize("contains,expected", CONTAINMENT_CASES, ids=[json.dumps(c, ensure_ascii=False)[:60]
                                                                      for c, _ in CONTAINMENT_CASES])
def test_containment(cdocs, contains, expected):
    assert titles(cdocs, contains) == expected


def test_no_containment_argument_matches_everything(cdocs):
    assert titles(cdocs) == ALL


def test_each_phase_takes_its_path(cdocs):
    """The tail phase checks every document directly; the indexed phase walks the posting lists."""
    v = cdocs.verify_metadata_index()
    plan = cdocs.explain_metadata({"source": "cli", "team": "netops"})
    assert plan["matched"] == 1
    if v["pending"] == 0:
        assert plan["strategy"] == "index" and plan["unindexed_checked"] == 0
        assert plan["candidates"] <= 2 and plan["verified"] == 1
        assert {p["path"] for p in plan["postings"]} == {"/source", "/team"}
    else:
        assert v["pending"] == v["documents"] == len(CONTAINMENT_DOCS)
        assert plan["unindexed_checked"] == len(CONTAINMENT_DOCS) and plan["candidates"] == 0


# ---- path operators -----------------------------------------------------------------------------------------

OPERATOR_DOCS = [
    ("a", {"tier": 1, "name": "alpha", "user": {"id": "u1"}, "tags": ["x"]}),
    ("b", {"tier": 2.5, "name": "beta", "user": {"id": "u2"}}),
    ("c", {"tier": "3", "name": "gamma", "a.b": 7, "c/d": {"e~f": True}}),
    ("d", {"tier": None, "user": [{"id": "u1"}]}),
    ("e", {"tier": True, "name": "Ωmega", "flag": False, "obj": {}, "list": [], "nested": [[1, 2], [3]],
           "clé": {"sub": "ü"}, 'q"k': 1, "": "empty key", "big": 9007199254740993, "zero": 0}),
]


@pytest.fixture(scope="module", params=PHASES)
def odocs(request, tmp_path_factory):
    s, state = _open(request, tmp_path_factory, "operators")
    for i, (title, meta) in enumerate(OPERATOR_DOCS):
        s.create_conversation("u@x", title, metadata=meta, created_at=T0 + i)
    _finish(s, state)
    yield s
    s.close()


OPERATOR_CASES = [
    # $eq, and a bare value
    ({"tier": 1}, ["a"]),
    ({"tier": {"$eq": 1}}, ["a"]),
    ({"tier": {"$eq": 1.0}}, ["a"]),
    ({"tier": 2.50}, ["b"]),
    ({"tier": "3"}, ["c"]),
    ({"tier": 3}, []),
    ({"tier": True}, ["e"]),
    ({"tier": {"$eq": None}}, ["d"]),
    ({"tier": None}, ["d"]),
    ({"missing": None}, []),
    ({"flag": False}, ["e"]),
    ({"flag": 0}, []),
    ({"zero": -0.0}, ["e"]),
    ({"zero": False}, []),
    ({"big": 9007199254740993}, ["e"]),
    ({"big": 9007199254740992}, []),  # exact integers, not doubles
    ({"name": "Ωmega"}, ["e"]),
    ({"user": {"id": "u2"}}, ["b"]),  # an object without operators is a value: whole-value equality
    ({"user": {"$eq": {"id": "u2"}}}, ["b"]),
    ({"user": {"$eq": {}}}, []),
    ({"tags": ["x"]}, ["a"]),
    ({"tags": []}, []),  # equality, not containment
    ({"obj": {}}, ["e"]),
    ({"list": []}, ["e"]),
    ({"nested": [[1, 2], [3]]}, ["e"]),
    ({"nested": [[3], [1, 2]]}, []),  # arrays equal element by element, in order
    ({"nested": {"$eq": [[1, 2]]}}, []),
    # $ne: true when the path is missing
    ({"tier": {"$ne": 1}}, ["e", "d", "c", "b"]),
    ({"tier": {"$ne": 1.0}}, ["e", "d", "c", "b"]),
    ({"tier": {"$ne": None}}, ["e", "c", "b", "a"]),
    ({"name": {"$ne": "beta"}}, ["e", "d", "c", "a"]),
    ({"missing": {"$ne": 1}}, ["e", "d", "c", "b", "a"]),
    ({"user": {"$ne": {"id": "u1"}}}, ["e", "d", "c", "b"]),
    # ranges: same type only; numbers by value, strings by code point
    ({"tier": {"$gt": 1}}, ["b"]),  # "3" is a string, true a boolean
    ({"tier": {"$gt": 0}}, ["b", "a"]),
    ({"tier": {"$gte": 1}}, ["b", "a"]),
    ({"tier": {"$gte": 2.5}}, ["b"]),
    ({"tier": {"$gte": "3"}}, ["c"]),
    ({"tier": {"$gt": "2"}}, ["c"]),
    ({"tier": {"$lt": 2.5}}, ["a"]),
    ({"tier": {"$lt": 100}}, ["b", "a"]),
    ({"tier": {"$lte": 1}}, ["a"]),
    ({"tier": {"$lte": 2.5, "$gt": 1}}, ["b"]),
    ({"tier": {"$gt": 1, "$lt": 2}}, []),
    ({"name": {"$gt": "alpha", "$lt": "gamma"}}, ["b"]),
    ({"name": {"$gt": "beta"}}, ["e", "c"]),  # "Ω" (U+03A9) sorts after every ASCII letter
    ({"name": {"$gt": "Z"}}, ["e", "c", "b", "a"]),  # "C" collation: capitals before lowercase
    ({"name": {"$lt": "a"}}, []),
    ({"name": {"$lte": "alpha"}}, ["a"]),
    ({"big": {"$gt": 9007199254740992}}, ["e"]),
    ({"big": {"$lte": 9007199254740992}}, []),
    ({"zero": {"$gte": -0.0, "$lte": 0}}, ["e"]),
    ({"flag": {"$lt": 1}}, []),  # a boolean is not a number
    # $in
    ({"name": {"$in": ["alpha", "gamma", 3]}}, ["c", "a"]),
    ({"tier": {"$in": [1, "3"]}}, ["c", "a"]),
    ({"tier": {"$in": [1.0]}}, ["a"]),
    ({"tier": {"$in": [None, True]}}, ["e", "d"]),
    ({"tier": {"$in": ["1", 3, False]}}, []),
    ({"tags": {"$in": [["x"]]}}, ["a"]),
    ({"tags": {"$in": ["x"]}}, []),
    ({"user": {"$in": [{"id": "u2"}, {"id": "u9"}]}}, ["b"]),
    ({"missing": {"$in": [None]}}, []),
    # $exists
    ({"tier": {"$exists": True}}, ["e", "d", "c", "b", "a"]),
    ({"name": {"$exists": False}}, ["d"]),
    ({"name": {"$exists": True}}, ["e", "c", "b", "a"]),
    ({"user.id": {"$exists": True}}, ["b", "a"]),  # paths follow object keys only: d's user is an array
    ({"user.id": "u1"}, ["a"]),
    ({"tier": {"$exists": True}, "name": {"$exists": False}}, ["d"]),
    ({"tier": {"$exists": True, "$ne": None}, "user": {"$exists": True}}, ["b", "a"]),
    # JSON Pointer paths: keys with dots, slashes, tildes, quotes, unicode, the empty key
    ({"/a.b": 7}, ["c"]),
    ({"a.b": 7}, []),
    ({"/c~1d/e~0f": True}, ["c"]),
    ({"/c~1d/e~0f": {"$exists": True}}, ["c"]),
    ({"/c~1d": {"$eq": {"e~f": True}}}, ["c"]),
    ({"clé.sub": "ü"}, ["e"]),
    ({"/clé/sub": "ü"}, ["e"]),
    ({'q"k': 1}, ["e"]),
    ({'/q"k': {"$gte": 1}}, ["e"]),
    ({"/": "empty key"}, ["e"]),
    ({"/tier": {"$in": [2.5]}}, ["b"]),
]


@pytest.mark.parametrize("where,expected", OPERATOR_CASES, ids=[json.dumps(w, ensure_ascii=False)[:60]
                                                                for w, _ in OPERATOR_CASES])
def test_path_operators(odocs, where, expected):
    assert titles(odocs, where=where) == expected


def test_containment_and_conditions_together(odocs):
    assert titles(odocs, {"user": {"id": "u1"}}, where={"tier": {"$lt": 5}}) == ["a"]
    assert titles(odocs, {"user": [{"id": "u1"}]}) == ["d"]  # containment looks inside arrays
    assert titles(odocs, {"user": {"id": "u1"}}, where={"tier": {"$gt": 5}}) == []
    assert titles(odocs, {}, where={"name": {"$in": ["beta", "gamma"]}, "/c~1d": {"$exists": False}}) == ["b"]


# ---- targets, ordinary filters, updates ---------------------------------------------------------------------

@pytest.fixture
def people(any_store):
    """alice: A1, A2 (archived); bob: B1, B2. Messages in A1, A2, B1; API usage with and without a conversation."""
    s = any_store
    ids = {}
    for i, (user, title, meta) in enumerate([("alice", "A1", {"k": 1, "team": "net"}),
                                             ("alice", "A2", {"k": 1}),
                                             ("bob", "B1", {"k": 1, "team": "net"}),
                                             ("bob", "B2", {"k": 2})]):
        ids[title] = s.create_conversation(user, title, metadata=meta, created_at=T0 + (i + 1) * 10)["id"]
    s.archive(ids["A2"])
    for i, conv in enumerate(["A1", "A2", "B1"]):
        s.add_message(ids[conv], "user", f"m-{conv}", metadata={"tool": "bash", "n": i},
                      created_at=T0 + 100 + i)
        s.add_message(ids[conv], "assistant", f"r-{conv}", metadata={"tool": "ssh"}, created_at=T0 + 200 + i)
    s.record_api_usage("alice", "gpt-a1", conversation_id=ids["A1"], metadata={"route": "chat"},
                       recorded_at=T0 + 300)
    s.record_api_usage("bob", "gpt-none", metadata={"route": "chat"}, recorded_at=T0 + 301)
    s.record_api_usage("bob", "gpt-embed", metadata={"route": "embed"}, recorded_at=T0 + 302)
    return s, ids


def test_ordinary_filters_on_conversations(people):
    s, ids = people
    assert titles(s, {"k": 1}) == ["B1", "A2", "A1"]
    assert titles(s, {"k": 1}, user="alice") == ["A2", "A1"]
    assert titles(s, {"k": 1}, user="bob") == ["B1"]
    assert titles(s, conversation_id=ids["A2"]) == ["A2"]
    assert titles(s, {"k": 2}, conversation_id=ids["A2"]) == []
    assert titles(s, archived=True) == ["A2"]
    assert titles(s, {"k": 1}, archived=False) == ["B1", "A1"]
    assert titles(s, from_=T0 + 20) == ["B2", "B1", "A2"]  # from <= created_at
    assert titles(s, to=T0 + 20) == ["A1"]  # created_at < to
    assert titles(s, {"team": "net"}, from_=T0 + 10, to=T0 + 31) == ["B1", "A1"]
    assert titles(s, from_=T0 + 20, to=T0 + 20) == []  # an empty range
    start = datetime.fromtimestamp(T0 / 1e6, tz=timezone.utc)
    assert titles(s, from_=start + timedelta(microseconds=25), to=start + timedelta(microseconds=40)) == ["B1"]
    iso = (start + timedelta(microseconds=30)).isoformat()
    assert titles(s, from_=iso) == ["B2", "B1"]
    assert titles(s, {"k": 1}, where={"team": {"$exists": False}}, user="alice", archived=True) == ["A2"]


def test_messages_target(people):
    s, ids = people
    r = s.search_metadata({"tool": "bash"}, target="messages")
    assert r["target"] == "messages"
    assert [m["content"] for m in r["items"]] == ["m-B1", "m-A2", "m-A1"]
    assert [m["conversation_id"] for m in r["items"]] == [ids["B1"], ids["A2"], ids["A1"]]
    assert all(m["metadata"]["tool"] == "bash" for m in r["items"])
    assert titles(s, {"tool": "bash"}, target="messages", user="alice") == ["m-A2", "m-A1"]
    assert titles(s, target="messages", conversation_id=ids["B1"]) == ["r-B1", "m-B1"]
    assert titles(s, {"tool": "bash"}, target="messages", archived=True) == ["m-A2"]  # the conversation's flag
    assert titles(s, {"tool": "bash"}, target="messages", archived=False) == ["m-B1", "m-A1"]
    assert titles(s, target="messages", where={"n": {"$gte": 1}}) == ["m-B1", "m-A2"]
    assert titles(s, target="messages", where={"tool": {"$ne": "bash"}}, to=T0 + 201) == ["r-A1"]
    assert titles(s, {"k": 1}, target="messages") == []  # conversation metadata is not message metadata
    assert titles(s, {"tool": "bash"}) == []


def test_api_usage_target(people):
    s, ids = people
    r = s.search_metadata({"route": "chat"}, target="api_usage")
    assert r["target"] == "api_usage"
    assert [u["model"] for u in r["items"]] == ["gpt-none", "gpt-a1"]  # newest recorded first
    assert r["items"][1]["conversation_id"] == ids["A1"] and r["items"][1]["metadata"] == {"route": "chat"}
    assert titles(s, {"route": "chat"}, target="api_usage", user="bob") == ["gpt-none"]
    assert titles(s, target="api_usage", conversation_id=ids["A1"]) == ["gpt-a1"]
    assert titles(s, target="api_usage", where={"route": {"$in": ["embed"]}}) == ["gpt-embed"]
    assert titles(s, target="api_usage", from_=T0 + 301) == ["gpt-embed", "gpt-none"]
    # API usage without a conversation never matches `archived`, true or false.
    assert titles(s, target="api_usage", archived=False) == ["gpt-a1"]
    assert titles(s, target="api_usage", archived=True) == []


def test_unknown_user_or_conversation_selects_nothing(people):
    """List-style reads filtered by an unknown key return an empty page; the plan says why."""
    s, _ = people
    for target in ("conversations", "messages", "api_usage"):
        page = s.search_metadata({"k": 1}, target=target, user="nobody")
        assert page["items"] == [] and page["next_cursor"] is None
        assert page["plan"]["strategy"] == "empty" and "user 'nobody' does not exist" in page["plan"]["notes"][0]
        page = s.search_metadata(target=target, conversation_id="01890000-0000-7000-8000-000000000000")
        assert page["items"] == [] and "does not exist" in page["plan"]["notes"][0]
        assert s.explain_metadata(target=target, user="nobody")["strategy"] == "empty"


def test_updates_and_deletes_are_seen_at_once(people):
    s, ids = people
    s.update_conversation(ids["B2"], metadata={"k": 1, "moved": True})
    assert titles(s, {"k": 2}) == []
    assert titles(s, {"moved": True}) == ["B2"]
    s.delete_conversation(ids["A1"])
    assert titles(s, {"k": 1}) == ["B2", "B1", "A2"]
    assert titles(s, {"tool": "bash"}, target="messages") == ["m-B1", "m-A2"]  # its messages went with it
    s.rebuild_metadata_index()
    assert titles(s, {"k": 1}) == ["B2", "B1", "A2"]
    s.update_conversation(ids["B1"], title="B1 renamed")  # the title alone leaves the metadata as it was
    assert titles(s, {"team": "net"}) == ["B1 renamed"]
    assert s.verify_metadata_index()["consistent"]


def test_result_records_match_the_other_calls(people):
    s, ids = people
    item = s.search_metadata({"team": "net"}, user="alice")["items"][0]
    assert item == s.get_conversation_info(ids["A1"])
    assert isinstance(item["total_cost_usd"], float) and item["metadata"] == {"k": 1, "team": "net"}
    msg = s.search_metadata({"n": 0}, target="messages")["items"][0]
    assert msg == s.get_conversation(ids["A1"])["messages"][0]


def test_api_usage_metadata_comes_back_as_stored(store):
    """Money fields are turned into floats in the record, never inside its metadata document."""
    doc = {"limit_usd": "12.50", "note_usd": "n/a", "nested": {"x_usd": "abc"}}
    out, err = c_void_p(), c_void_p()
    rc = _ffi.convstore_record_api_usage(store._h, json.dumps({"user": "ana", "model": "m", "metadata": doc,
                                                               "cost_usd": "0.5"}).encode(), byref(out), byref(err))
    assert rc == 0, _ffi.take_string(err)
    _ffi.take_string(out)
    r = store.search_metadata({"limit_usd": "12.50"}, target="api_usage")
    assert len(r["items"]) == 1
    assert r["items"][0]["metadata"] == doc
    assert r["items"][0]["cost_usd"] == 0.5


def test_record_api_usage_returns_its_metadata_as_stored(store):
    doc = {"limit_usd": "12.50", "note_usd": "n/a"}
    u = store.record_api_usage("ana", "m", metadata=doc)
    assert u["metadata"] == doc


# ---- paging --------------------------------------------------------------------------------------------------

def test_paging_with_cursor_across_folds(store):
    """300 conversations (more than one fold of the tail), pages of 7: every match once, newest first."""
    ids = []
    for i in range(300):
        ids.append(store.create_conversation("alice" if i % 4 else "bob", f"c{i:03}", metadata={"k": i % 3},
                                             created_at=T0 + (i // 2) * 10)["id"])  # pairs share a timestamp
    want = [ids[i] for i in range(299, -1, -1) if i % 3 == 0 and i % 4]

    def walk(**kw):
        seen, cursor, pages = [], None, 0
        while True:
            r = store.search_metadata(cursor=cursor, **kw)
            pages += 1
            assert len(r["items"]) <= kw.get("limit", 10)
            seen += [c["id"] for c in r["items"]]
            cursor = r["next_cursor"]
            if cursor is None:
                return seen, pages
            assert isinstance(cursor, str) and cursor
            assert pages < 500

    seen, pages = walk(contains={"k": 0}, user="alice", limit=7)
    assert len(seen) == len(set(seen)) == len(want)
    assert seen == want  # newest first; same timestamp: the later-inserted first
    assert pages >= len(want) // 7
    # A bounded scan ($ne has no index path) also pages through every match exactly once.
    seen, pages = walk(where={"k": {"$ne": 1}}, user="alice", limit=7, scan_limit=40)
    assert seen == [ids[i] for i in range(299, -1, -1) if i % 3 != 1 and i % 4]
    # A page that fills exactly has a cursor; the page after it may be empty.
    r = store.search_metadata({"k": 0}, user="bob", limit=25)
    assert len(r["items"]) == 25 and r["next_cursor"] is not None
    r = store.search_metadata({"k": 0}, user="bob", limit=25, cursor=r["next_cursor"])
    assert r["items"] == [] and r["next_cursor"] is None
    assert store.verify_metadata_index()["consistent"]


def test_cursor_belongs_to_its_target(store):
    for i in range(3):
        c = store.create_conversation("u", f"c{i}", metadata={"k": 1})
        store.add_message(c["id"], "user", "x", metadata={"k": 1})
    conv_cursor = store.search_metadata({"k": 1}, limit=1)["next_cursor"]
    msg_cursor = store.search_metadata({"k": 1}, target="messages", limit=1)["next_cursor"]
    assert conv_cursor and msg_cursor
    assert len(store.search_metadata({"k": 1}, limit=5, cursor=conv_cursor)["items"]) == 2
    with pytest.raises(InvalidArgumentError):
        store.search_metadata({"k": 1}, target="messages", cursor=conv_cursor)
    with pytest.raises(InvalidArgumentError):
        store.search_metadata({"k": 1}, cursor=msg_cursor)
    with pytest.raises(InvalidArgumentError):
        store.search_metadata({"k": 1}, target="api_usage", cursor=conv_cursor)
    # A cursor is a position, not a filter: it may continue another query of the same target.
    assert len(store.search_metadata(limit=5, cursor=conv_cursor)["items"]) == 2


# ---- explain -------------------------------------------------------------------------------------------------

PLAN_KEYS = {"strategy", "postings", "candidates", "probe_rejected", "verified", "matched", "unindexed_checked",
             "scan_truncated", "notes"}


@pytest.fixture
def explained(any_store):
    for i in range(300):
        any_store.create_conversation("u", f"c{i}", metadata={"source": "cli" if i % 2 else "web", "team": f"t{i % 10}",
                                                              "rare": i == 7},
                                      created_at=T0 + i)
    return any_store


def test_explain_plan_fields(explained):
    s = explained
    plan = s.explain_metadata({"source": "cli", "rare": True})
    assert set(plan) == PLAN_KEYS
    assert plan["strategy"] == "index"
    assert [(p["path"], p["value"], p["role"]) for p in plan["postings"]] == [("/rare", "t", "driver"),
                                                                             ("/source", "s:cli", "probe")]
    assert plan["postings"][0]["count"] == 1 and plan["postings"][1]["count"] > 1
    assert all(set(p) == {"path", "value", "count", "role"} for p in plan["postings"])
    assert plan["candidates"] == 1 and plan["matched"] == 1 and plan["probe_rejected"] == 0
    assert plan["verified"] >= plan["matched"]
    assert plan["unindexed_checked"] > 0  # the newest rows, not folded into the postings yet
    assert plan["scan_truncated"] is False and plan["notes"] == []
    # explain runs the search: its plan is the search's
    r = s.search_metadata({"source": "cli", "rare": True})
    assert r["plan"] == plan and [c["title"] for c in r["items"]] == ["c7"]


def test_a_small_store_answers_from_the_tail_and_says_so(any_store):
    for i in range(10):
        any_store.create_conversation("u", f"c{i}", metadata={"source": "cli" if i % 2 else "web"})
    r = any_store.search_metadata({"source": "cli"})
    assert len(r["items"]) == 5
    assert r["plan"]["strategy"] == "tail" and r["plan"]["matched"] == 5 and r["plan"]["unindexed_checked"] == 10


def test_explain_empty_and_scan_strategies(explained):
    s = explained
    plan = s.explain_metadata({"source": "nope"})  # no posting: only the 44 unfolded rows are checked
    assert plan["strategy"] == "tail" and plan["candidates"] == 0 and plan["matched"] == 0
    assert plan["unindexed_checked"] == 300 - 256 and "not yet folded" in plan["notes"][-1]
    assert plan["postings"][0]["count"] == 0 and plan["postings"][0]["role"] == "driver"
    plan = s.explain_metadata({"source": "cli"}, from_=T0 + 5, to=T0 + 5)  # examines nothing
    assert plan["strategy"] == "empty" and plan["unindexed_checked"] == 0
    plan = s.explain_metadata(["cli"])
    assert plan["strategy"] == "empty" and any("not an object" in n for n in plan["notes"])
    plan = s.explain_metadata(where={"team": {"$ne": "t3"}}, limit=1000, scan_limit=100)
    assert plan["strategy"] == "scan" and plan["scan_truncated"] is True
    assert any("no index path" in n for n in plan["notes"])
    r = s.search_metadata(where={"team": {"$ne": "t3"}}, limit=1000, scan_limit=100)
    assert r["plan"]["scan_truncated"] and r["next_cursor"] is not None
    total = len(r["items"])
    while r["next_cursor"] is not None:
        r = s.search_metadata(where={"team": {"$ne": "t3"}}, limit=1000, scan_limit=100, cursor=r["next_cursor"])
        total += len(r["items"])
    assert total == 270
    plan = s.explain_metadata(where={"source": {"$in": ["cli", "web"]}}, limit=5)
    assert plan["strategy"] == "index" and plan["matched"] == 5
    assert all(p["role"].endswith("(any of)") for p in plan["postings"])
    plan = s.explain_metadata(where={"team": {"$gte": "t8"}})
    assert plan["strategy"] == "scan" and any("range" in n for n in plan["notes"])


# ---- verify, rebuild, excluded paths -------------------------------------------------------------------------

REPORT_KEYS = {"documents", "indexed", "unindexed", "pending", "postings", "terms", "missing", "extra",
               "wrong_counts", "consistent", "excluded_paths"}


def test_verify_and_rebuild(any_store):
    s = any_store
    v = s.verify_metadata_index()
    assert set(v) == REPORT_KEYS
    assert v["consistent"] is True and v["documents"] == 0 and v["excluded_paths"] == []
    c = s.create_conversation("u", "t", metadata={"a": 1, "b": {"c": [1, 2]}})
    s.add_message(c["id"], "user", "x", metadata={"tool": "bash"})
    s.add_message(c["id"], "user", "y")  # every row has a document ({} by default)
    s.record_api_usage("u", "m", metadata={"route": "chat"})
    v = s.verify_metadata_index()
    assert v["documents"] == 4 and v["pending"] == 4 and v["consistent"]
    r = s.rebuild_metadata_index()
    assert set(r) == REPORT_KEYS
    assert r["documents"] == 4 and r["indexed"] == 4 and r["pending"] == 0 and r["unindexed"] == 0
    assert r["postings"] > 0 and r["terms"] > 0 and (r["missing"], r["extra"], r["wrong_counts"]) == (0, 0, 0)
    v = s.verify_metadata_index()
    assert v["consistent"] and v["postings"] == r["postings"] and v["terms"] == r["terms"]
    assert titles(s, {"b": {"c": [2]}}) == ["t"]
    assert s.rebuild_metadata_index() == r  # idempotent


def test_oversized_documents_are_found_by_verification(any_store):
    s = any_store
    s.create_conversation("u", "big", metadata={f"k{i}": i for i in range(600)})  # more than 512 postings
    deep = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    s.create_conversation("u", "deep", metadata={"top": "deep", "x": deep})
    s.create_conversation("u", "small", metadata={"k5": 5})
    r = s.rebuild_metadata_index()
    assert r["unindexed"] == 2 and r["indexed"] == 1
    assert titles(s, {"k599": 599}) == ["big"]
    assert titles(s, where={"k5": {"$gte": 5}}) == ["small", "big"]
    assert titles(s, {"top": "deep"}) == ["deep"]
    assert s.explain_metadata({"k599": 599})["unindexed_checked"] >= 2
    assert s.verify_metadata_index()["consistent"]


def test_excluded_paths(db_path):
    with Store(db_path) as s:
        s.create_conversation("u", "a", metadata={"secret": {"token": "abc"}, "keep": 1, "a.b": {"c": 1}})
        s.create_conversation("u", "b", metadata={"secret": {"token": "def"}, "keep": 2})
        r = s.set_metadata_excluded_paths(["secret", "/a.b"])
        assert set(r) == REPORT_KEYS and r["pending"] == 0
        assert sorted(r["excluded_paths"]) == ["/a.b", "/secret"]
        s.create_conversation("u", "c", metadata={"secret": {"token": "abc"}, "keep": 3})
        # still exact: checked on each candidate, and the plan says so
        assert titles(s, {"secret": {"token": "abc"}}) == ["c", "a"]
        assert titles(s, where={"secret.token": "def"}) == ["b"]
        assert titles(s, where={"/a.b/c": 1}) == ["a"]
        plan = s.explain_metadata({"secret": {"token": "abc"}, "keep": 1})
        assert [p["path"] for p in plan["postings"]] == ["/keep"]
        assert any("excluded" in n for n in plan["notes"])
        v = s.verify_metadata_index()
        assert v["consistent"] and sorted(v["excluded_paths"]) == ["/a.b", "/secret"]
        assert sorted(s.rebuild_metadata_index()["excluded_paths"]) == ["/a.b", "/secret"]
    with Store(db_path) as s:  # stored in the file
        assert sorted(s.verify_metadata_index()["excluded_paths"]) == ["/a.b", "/secret"]
        assert s.set_metadata_excluded_paths(("keep",))["excluded_paths"] == ["/keep"]  # any sequence of str
        assert s.set_metadata_excluded_paths([])["excluded_paths"] == []
        plan = s.explain_metadata({"secret": {"token": "abc"}})
        assert [p["path"] for p in plan["postings"]] == ["/secret/token"] and plan["notes"] == []
        assert titles(s, {"secret": {"token": "abc"}}) == ["c", "a"]
        assert s.verify_metadata_index()["consistent"]


# ---- bad input -----------------------------------------------------------------------------------------------

def _nested(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return {"a": v}


BAD_SEARCHES = [
    ("unknown target", InvalidArgumentError, dict(target="nope")),
    ("target None", InvalidArgumentError, dict(target=None)),
    ("where a list", InvalidArgumentError, dict(where=[1])),
    ("where a string", InvalidArgumentError, dict(where="a")),
    ("unknown operator", InvalidArgumentError, dict(where={"a": {"$foo": 1}})),
    ("operators and keys mixed", InvalidArgumentError, dict(where={"a": {"$eq": 1, "b": 2}})),
    ("$gt object", InvalidArgumentError, dict(where={"a": {"$gt": {}}})),
    ("$gt null", InvalidArgumentError, dict(where={"a": {"$gt": None}})),
    ("$lt boolean", InvalidArgumentError, dict(where={"a": {"$lt": True}})),
    ("$in empty", InvalidArgumentError, dict(where={"a": {"$in": []}})),
    ("$in not a list", InvalidArgumentError, dict(where={"a": {"$in": 3}})),
    ("$exists not a bool", InvalidArgumentError, dict(where={"a": {"$exists": 1}})),
    ("empty path", InvalidArgumentError, dict(where={"": 1})),
    ("empty key in path", InvalidArgumentError, dict(where={"a..b": 1})),
    ("trailing dot", InvalidArgumentError, dict(where={"a.": 1})),
    ("bad pointer escape", InvalidArgumentError, dict(where={"/a~2": 1})),
    ("33 keys", InvalidArgumentError, dict(where={".".join(["k"] * 33): 1})),
    ("limit 0", InvalidArgumentError, dict(limit=0)),
    ("limit negative", InvalidArgumentError, dict(limit=-1)),
    ("limit 1001", InvalidArgumentError, dict(limit=1001)),
    ("limit str", InvalidArgumentError, dict(limit="x")),
    ("limit 1.5", InvalidArgumentError, dict(limit=1.5)),
    ("scan_limit 0", InvalidArgumentError, dict(scan_limit=0)),
    ("scan_limit too big", InvalidArgumentError, dict(scan_limit=10_000_001)),
    ("bogus cursor", InvalidArgumentError, dict(cursor="bogus")),
    ("cursor not a str", InvalidArgumentError, dict(cursor=5)),
    ("from not a time", InvalidArgumentError, dict(from_="not a time")),
    ("to without offset", InvalidArgumentError, dict(to="2026-02-11")),
    ("from after to", InvalidArgumentError, dict(from_=10, to=5)),
    ("negative from", InvalidArgumentError, dict(from_=-1)),
    ("archived str", InvalidArgumentError, dict(archived="yes")),
    ("user not a str", InvalidArgumentError, dict(user=5)),
    ("conversation_id not a str", InvalidArgumentError, dict(conversation_id=["x"])),
    ("NaN in contains", InvalidArgumentError, dict(contains={"a": float("nan")})),
    ("inf in where", InvalidArgumentError, dict(where={"a": {"$gt": float("inf")}})),
    ("unserialisable contains", InvalidArgumentError, dict(contains={"a": object()})),
    ("lone surrogate", InvalidArgumentError, dict(contains={"a": "\ud800"})),
    ("long user", TooLargeError, dict(user="u" * 300)),
    ("70 conditions", TooLargeError, dict(where={f"k{i}": i for i in range(70)})),
    ("65 $in values", TooLargeError, dict(where={"a": {"$in": list(range(65))}})),
    ("600-byte path", TooLargeError, dict(where={"p" * 600: 1})),
    ("contains nested 70 deep", TooLargeError, dict(contains=_nested(70))),
    ("contains over 1 MiB", TooLargeError, dict(contains={"a": "x" * (1 << 20)})),
]

BAD_PATHS = [
    ("a str", InvalidArgumentError, "secret"),
    ("bytes", InvalidArgumentError, b"secret"),
    ("ints", InvalidArgumentError, [1]),
    ("None in the list", InvalidArgumentError, ["a", None]),
    ("nested list", InvalidArgumentError, [["a"]]),
    ("empty path", InvalidArgumentError, [""]),
    ("empty key", InvalidArgumentError, ["a..b"]),
    ("bad pointer escape", InvalidArgumentError, ["/a~x"]),
    ("NUL", InvalidArgumentError, ["a\0b"]),
    ("lone surrogate", InvalidArgumentError, ["\udc00"]),
    ("65 paths", TooLargeError, [f"p{i}" for i in range(65)]),
]


@pytest.fixture
def guarded(store, db_path):
    """A file store with documents, stored excluded paths, and the digest of the whole file before the test."""
    store.create_conversation("u", "a", metadata={"source": "cli", "hidden": 1})
    c = store.create_conversation("v", "b", metadata={"source": "web"})
    store.add_message(c["id"], "user", "x", metadata={"tool": "bash"})
    store.set_metadata_excluded_paths(["hidden"])
    # The full-text index takes the rows now, not in the background while the digests are compared.
    store.set_background_indexing(False)
    store.catch_up_search_index()
    return store, digest(db_path)


@pytest.mark.parametrize("index", range(len(BAD_SEARCHES)), ids=[d for d, _, _ in BAD_SEARCHES])
def test_bad_search_raises_and_writes_nothing(guarded, db_path, index):
    s, before = guarded
    _, exc, kwargs = BAD_SEARCHES[index]
    kwargs = dict(kwargs)
    contains = kwargs.pop("contains", {"source": "cli"})
    for call in (s.search_metadata, s.explain_metadata):
        with pytest.raises(exc) as e:
            call(contains, **kwargs)
        assert type(e.value) is exc and e.value.message
    assert digest(db_path) == before
    assert titles(s, {"source": "cli"}) == ["a"]


@pytest.mark.parametrize("index", range(len(BAD_PATHS)), ids=[d for d, _, _ in BAD_PATHS])
def test_bad_excluded_paths_raise_and_change_nothing(guarded, db_path, index):
    s, before = guarded
    _, exc, paths = BAD_PATHS[index]
    with pytest.raises(exc):
        s.set_metadata_excluded_paths(paths)
    assert digest(db_path) == before
    assert s.verify_metadata_index()["excluded_paths"] == ["/hidden"]


def _raw(s, fn, *args):
    out, err = c_void_p(), c_void_p()
    rc = fn(s._h, *args, byref(out), byref(err))
    msg, text = _ffi.take_string(err), _ffi.take_string(out)
    assert (msg is None, text is None) == ((True, False) if rc == 0 else (False, True))
    return rc, msg, text


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b"null", b"1", b'"x"', b'{"contains":{}} x', b'{"colour":"red"}', b'{"Contains":{}}',
    b'{"contains":{"a":NaN}}', b'{"limit":"x"}', b'{"where":[1]}', b'{"where":{"a":{"$foo":1}}}',
    b'{"target":"nope"}', b'{"cursor":"bogus"}', b'{"from":"not a time"}', b'{"user":"\xff"}',
])
def test_ffi_refuses_raw_bad_queries(guarded, db_path, body):
    s, before = guarded
    for fn in (_ffi.convstore_search_metadata, _ffi.convstore_explain_metadata):
        rc, msg, _ = _raw(s, fn, body)
        assert rc == _ffi.CONVSTORE_INVALID_ARGUMENT and msg
    assert digest(db_path) == before


@pytest.mark.parametrize("body", [b"{}", b'"a"', b"[1]", b'["a",null]', b"[", b"null", b'["a"] x'])
def test_ffi_refuses_raw_bad_path_lists(guarded, db_path, body):
    s, before = guarded
    rc, msg, _ = _raw(s, _ffi.convstore_set_metadata_excluded_paths, body)
    assert rc == _ffi.CONVSTORE_INVALID_ARGUMENT and msg
    assert digest(db_path) == before


def test_ffi_null_arguments(guarded, db_path):
    s, before = guarded
    assert _raw(s, _ffi.convstore_search_metadata, None)[0] == _ffi.CONVSTORE_INVALID_ARGUMENT
    assert _raw(s, _ffi.convstore_explain_metadata, None)[0] == _ffi.CONVSTORE_INVALID_ARGUMENT
    assert _raw(s, _ffi.convstore_set_metadata_excluded_paths, None)[0] == _ffi.CONVSTORE_INVALID_ARGUMENT
    for fn, args in ((_ffi.convstore_search_metadata, (b"{}",)), (_ffi.convstore_explain_metadata, (b"{}",)),
                     (_ffi.convstore_verify_metadata_index, ()), (_ffi.convstore_rebuild_metadata_index, ()),
                     (_ffi.convstore_set_metadata_excluded_paths, (b"[]",))):
        assert fn(None, *args, None, None) == _ffi.CONVSTORE_INVALID_ARGUMENT
    assert digest(db_path) == before
    rc, _, text = _raw(s, _ffi.convstore_search_metadata, b'{"contains":{"source":"cli"}}')
    assert rc == 0 and json.loads(text)["items"][0]["title"] == "a"


def test_closed_store_raises_closed(db_path):
    s = Store(db_path)
    s.create_conversation("u", "t", metadata={"a": 1})
    s.close()
    for call in (lambda: s.search_metadata({"a": 1}), lambda: s.explain_metadata({"a": 1}),
                 s.verify_metadata_index, s.rebuild_metadata_index, lambda: s.set_metadata_excluded_paths([])):
        with pytest.raises(ClosedError):
            call()
    s2 = Store(db_path)
    s2.shutdown()
    for fn, args in ((_ffi.convstore_search_metadata, (b"{}",)), (_ffi.convstore_verify_metadata_index, ()),
                     (_ffi.convstore_rebuild_metadata_index, ()), (_ffi.convstore_set_metadata_excluded_paths,
                                                                   (b"[]",))):
        assert _raw(s2, fn, *args)[0] == _ffi.CONVSTORE_CLOSED
    s2.close()


# ---- the ctypes mirror ---------------------------------------------------------------------------------------

def test_ffi_declares_every_function_of_the_header():
    with open(HEADER, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    found = re.findall(r"CONVSTORE_API\s+[\w\s\*]+?\b(convstore_\w+)\s*\(([^)]*)\)\s*;", text)
    assert len(found) >= 45
    names = set()
    for name, params in found:
        names.add(name)
        n = 0 if params.strip() in ("", "void") else params.count(",") + 1
        fn = getattr(_ffi, name, None)
        assert fn is not None, f"_ffi lacks {name}"
        assert fn is getattr(_ffi.lib, name)
        assert len(fn.argtypes) == n, f"{name}: {len(fn.argtypes)} argtypes for {n} parameters"
    declared = {n for n in dir(_ffi) if n.startswith("convstore_") and not isinstance(getattr(_ffi, n), type)
                and callable(getattr(_ffi, n))}
    assert declared == names
    for name in ("convstore_search_metadata", "convstore_explain_metadata", "convstore_verify_metadata_index",
                 "convstore_rebuild_metadata_index", "convstore_set_metadata_excluded_paths"):
        assert name in names


def test_errors_are_convstore_errors(store):
    with pytest.raises(ConvstoreError) as e:
        store.search_metadata(where={"a": {"$foo": 1}})
    assert e.value.code == _ffi.CONVSTORE_INVALID_ARGUMENT and e.value.code_name == "invalid_argument"
    assert "$foo" in e.value.message



def test_on_progress_hears_an_index_rebuild_and_a_raising_callback_is_logged(tmp_path, caplog):
    heard = []
    with Store(str(tmp_path / "p.db"), on_progress=lambda op, done, total: heard.append((op, done, total))) as s:
        c = s.create_conversation("u", metadata={"k": 1})
        s.add_message(c["id"], "user", "x", metadata={"k": 2})
        heard.clear()
        s.rebuild_metadata_index()
        assert heard and all(op == "rebuild metadata index" and 0 <= done <= total for op, done, total in heard)
        assert heard[-1][1] == heard[-1][2]

    def failing(op, done, total):
        raise RuntimeError("progress bar broke")

    with Store(str(tmp_path / "p.db"), on_progress=failing) as s:
        with caplog.at_level(logging.ERROR, logger="convstore"):
            report = s.rebuild_metadata_index()
        assert report["documents"] >= 2
        assert any("on_progress" in r.getMessage() for r in caplog.records if r.name == "convstore")
