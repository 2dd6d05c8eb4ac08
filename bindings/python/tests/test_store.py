"""End-to-end behaviour of convstore.Store."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import convstore
from convstore import _ffi
from convstore import ConflictError, InvalidArgumentError, NotFoundError, Store
from conftest import message_count


def test_version():
    assert convstore.version() == "0.1.0"
    assert convstore.abi_version() == _ffi.ABI_VERSION
    major, minor, patch = (int(p) for p in convstore.version().split("."))
    assert convstore.version_number() == major * 1_000_000 + minor * 1_000 + patch
    assert isinstance(convstore.__version__, str)


def test_end_to_end(any_store):
    s = any_store
    conv = s.create_conversation("engineer@company.com", "BGP Route Analysis", model="claude-sonnet-4-5",
                                 system_prompt="You are a network engineer.", temperature=0.2, max_tokens=4096,
                                 metadata={"source": "cli", "version": "1.0"})
    cid = conv["id"]
    assert conv["user"] == "engineer@company.com"
    assert conv["title"] == "BGP Route Analysis"
    assert conv["temperature"] == 0.2 and conv["max_tokens"] == 4096
    assert conv["metadata"] == {"source": "cli", "version": "1.0"}
    assert conv["message_count"] == 0 and conv["total_cost_usd"] == 0.0 and conv["total_cost_nanousd"] == 0
    assert conv["archived"] is False

    m1 = s.add_message(cid, "user", "Analyze this BGP config and identify potential issues")
    m2 = s.add_message(cid, "assistant", "I found 3 issues: 1) Missing route-map on neighbor...",
                       model="claude-sonnet-4-5", model_version="20250929", tokens_input=1250, tokens_output=890,
                       tokens_cached_input=100, tokens_reasoning=7, cost_usd=0.015, latency_us=1500,
                       metadata={"trace": "abc"})
    assert (m1["position"], m2["position"]) == (0, 1)
    assert m1["cost_usd"] is None and m1["cost_nanousd"] is None and m1["model"] == ""
    assert m2["cost_usd"] == 0.015 and m2["cost_nanousd"] == 15_000_000
    assert m2["tokens_input"] == 1250 and m2["tokens_output"] == 890 and m2["latency_us"] == 1500
    assert m2["metadata"] == {"trace": "abc"} and m2["model_version"] == "20250929"

    r = s.get_conversation(cid)
    assert r["message_count"] == 2
    assert [m["id"] for m in r["messages"]] == [m1["id"], m2["id"]]
    assert r["messages"][1]["cost_usd"] == 0.015
    info = r["conversation"]
    assert info["tokens_input"] == 1250 and info["tokens_output"] == 890
    assert info["tokens_cached_input"] == 100 and info["tokens_reasoning"] == 7
    assert info["total_cost_usd"] == 0.015 and info["total_cost_nanousd"] == 15_000_000
    assert info["updated_at_us"] >= info["created_at_us"]
    assert s.get_conversation_info(cid) == info

    upd = s.update_conversation(cid, title="BGP, renamed", metadata={"k": [1, 2]})
    assert upd["title"] == "BGP, renamed" and upd["metadata"] == {"k": [1, 2]}
    assert s.update_conversation(cid, title="again")["metadata"] == {"k": [1, 2]}


def test_file_store_persists(db_path):
    with Store(db_path, durability="full") as s:
        cid = s.create_conversation("u", "t")["id"]
        s.add_message(cid, "user", "hello", cost_usd="0.5")
        assert s.schema_version() >= 1
    with Store(db_path, create_if_missing=False) as s:
        r = s.get_conversation(cid)
        assert r["message_count"] == 1 and r["messages"][0]["content"] == "hello"
        assert r["conversation"]["total_cost_nanousd"] == 500_000_000


def test_money_is_exact(store):
    cid = store.create_conversation("u")["id"]
    cases = [(Decimal("0.000000001"), 1), ("0.015", 15_000_000), (2, 2_000_000_000),
             (0.1 + 0.2, 300_000_000), (890 * 15e-6, 13_350_000), (Decimal("1E-9"), 1)]
    for given, nano in cases:
        assert store.add_message(cid, "assistant", "x", cost_usd=given)["cost_nanousd"] == nano
    assert store.add_message(cid, "assistant", "x", cost_nanousd=7)["cost_usd"] == 7e-9
    total = sum(n for _, n in cases) + 7
    assert store.get_conversation_info(cid)["total_cost_nanousd"] == total


def test_created_at_inputs(store):
    aware = datetime(2026, 2, 11, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    us = 1770795000123456  # 2026-02-11T07:30:00.123456Z
    c1 = store.create_conversation("u", created_at=aware)
    c2 = store.create_conversation("u", created_at=us / 1e6)  # float seconds, as time.time() gives
    c3 = store.create_conversation("u", created_at=us)
    c4 = store.create_conversation("u", created_at="2026-02-11 09:30:00.123456+02:00")
    assert c1["created_at_us"] == c2["created_at_us"] == c3["created_at_us"] == c4["created_at_us"] == us
    assert c1["created_at"] == "2026-02-11T07:30:00.123456Z"
    m = store.add_message(c1["id"], "user", "x", created_at=aware + timedelta(seconds=1))
    assert m["created_at_us"] == us + 1_000_000
    m = store.add_message(c1["id"], "user", "x", created_at="2026-02-11T07:30:02Z")
    assert m["created_at_us"] == us - 123456 + 2_000_000
    assert convstore.parse_time("2026-02-11T09:30:00.123456+02:00") == us


@pytest.mark.parametrize("value, says", [
    (1767225600, "looks like seconds"),                 # int(time.time()), OpenAI's "created"
    (1767225600000, "looks like milliseconds"),         # JavaScript's Date.now()
    (1767225600000000000, "looks like nanoseconds"),    # time.time_ns()
    (datetime(2026, 1, 1), "naive datetime"),           # naive: ambiguous, like naive text
    ("2026-01-02 03:04:05", "has no offset"),
    (float("nan"), "finite"),
    (True, "not a bool"),
    (object(), "not object"),
])
def test_times_in_the_wrong_unit_or_without_a_zone_are_refused(store, value, says):
    cid = store.create_conversation("u")["id"]
    with pytest.raises(InvalidArgumentError, match=says):
        store.add_message(cid, "user", "x", created_at=value)
    with pytest.raises(InvalidArgumentError, match=says):
        store.add_messages(cid, [{"role": "user", "content": "x", "created_at": value}])
    with pytest.raises(InvalidArgumentError, match=says):
        store.create_conversation("u", created_at=value)
    with pytest.raises(InvalidArgumentError, match=says):
        store.record_api_usage("u", "m", recorded_at=value)
    with pytest.raises(InvalidArgumentError, match=says):
        store.cost_summary(from_=value)
    with pytest.raises(InvalidArgumentError, match=says):
        store.resolve_price("gpt-5", at=value)
    assert message_count(store, cid) == 0


def test_a_seconds_timestamp_error_gives_the_microseconds_meant(store):
    cid = store.create_conversation("u")["id"]
    with pytest.raises(InvalidArgumentError, match=r"as seconds it is 1767225600000000 µs \(2026-01-01T00:00:00"):
        store.add_message(cid, "user", "x", created_at=1767225600)


def test_request_id_is_idempotent(store):
    cid = store.create_conversation("u")["id"]
    first = store.add_message(cid, "assistant", "answer", tokens_output=10, cost_usd=0.01, request_id="req-1")
    again = store.add_message(cid, "assistant", "answer", tokens_output=10, cost_usd=0.01, request_id="req-1")
    assert again == first and first["request_id"] == "req-1"
    info = store.get_conversation_info(cid)
    assert info["message_count"] == 1 and info["tokens_output"] == 10 and info["total_cost_nanousd"] == 10_000_000
    other = store.create_conversation("u")["id"]
    with pytest.raises(ConflictError):
        store.add_message(other, "assistant", "answer", request_id="req-1")
    assert message_count(store, other) == 0


def test_add_messages_batch(any_store):
    cid = any_store.create_conversation("u")["id"]
    out = any_store.add_messages(cid, [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi", "tokens_input": 3, "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc)},
        {"role": "assistant", "content": "hello", "cost_usd": 0.002, "model": None, "metadata": {"a": 1}},
    ])
    assert [m["position"] for m in out] == [0, 1, 2]
    assert out[1]["created_at"] == "2026-01-01T00:00:00.000000Z"
    assert out[2]["cost_usd"] == 0.002 and out[2]["cost_nanousd"] == 2_000_000
    assert message_count(any_store, cid) == 3


def test_add_messages_all_or_nothing(any_store):
    cid = any_store.create_conversation("u")["id"]
    any_store.add_message(cid, "user", "before")
    bad = [{"role": "user", "content": "ok"}, {"role": "user", "content": "ok"},
           {"role": "robot", "content": "bad"}]
    with pytest.raises(InvalidArgumentError):
        any_store.add_messages(cid, bad)
    with pytest.raises(InvalidArgumentError):
        any_store.add_messages(cid, [{"role": "user", "content": "ok"}, {"role": "user", "content": "x",
                                                                          "tokens_input": -5}])
    with pytest.raises(InvalidArgumentError):
        any_store.add_messages(cid, [{"role": "user", "content": "ok"}, {"role": "user", "content": "x",
                                                                          "cost_usd": float("nan")}])
    assert message_count(any_store, cid) == 1


def test_get_context(any_store):
    cid = any_store.create_conversation("u")["id"]
    any_store.add_message(cid, "system", "abcdefgh")          # no count: estimated as 8 bytes / 4 = 2
    any_store.add_message(cid, "user", "q", tokens_input=5)
    any_store.add_message(cid, "assistant", "a", tokens_input=999, tokens_output=10)
    any_store.add_message(cid, "user", "q2", tokens_input=4)
    # The system message is kept and counted first (2); then newest first: 4 + 10 + 5.
    assert [m["content"] for m in any_store.get_context(cid, 16)] == ["abcdefgh", "a", "q2"]
    assert [m["content"] for m in any_store.get_context(cid, 21)] == ["abcdefgh", "q", "a", "q2"]
    assert [m["content"] for m in any_store.get_context(cid, 10**6)] == ["abcdefgh", "q", "a", "q2"]
    assert [m["content"] for m in any_store.get_context(cid, 3)] == ["abcdefgh"]
    assert [m["content"] for m in any_store.get_context(cid, 14, include_system=False)] == ["a", "q2"]
    with pytest.raises(InvalidArgumentError):
        any_store.get_context(cid, -1)
    for bad in (dict(overflow="drop"), dict(counting="words")):
        with pytest.raises(InvalidArgumentError):
            any_store.get_context(cid, 10, **bad)


def test_tool_calls_finish_once_and_results_name_their_call(any_store):
    s = any_store
    cid = s.create_conversation("u")["id"]
    call_msg = s.add_message(cid, "assistant", "let me check", model="gpt-5")
    call = s.add_tool_call(call_msg["id"], "show_bgp", input={"device": "r1"}, status="pending", call_id="call_9")
    assert call["status"] == "pending" and call["call_id"] == "call_9" and call["output"] is None
    assert call["updated_at_us"] == call["created_at_us"]
    with pytest.raises(ConflictError):
        s.add_tool_call(call_msg["id"], "twice", call_id="call_9")
    done = s.update_tool_call(call["id"], "success", output={"state": "up"}, duration_us=4200)
    assert done["status"] == "success" and done["output"] == {"state": "up"} and done["duration_us"] == 4200
    assert done["updated_at_us"] >= done["created_at_us"]
    assert s.update_tool_call(call["id"], "success", output={"state": "up"}, duration_us=4200) == done  # a retry
    with pytest.raises(ConflictError):
        s.update_tool_call(call["id"], "error", error_message="late")
    with pytest.raises(InvalidArgumentError):
        s.update_tool_call(call["id"], "pending")
    with pytest.raises(NotFoundError):
        s.update_tool_call("01890000-0000-7000-8000-000000000000", "success")
    result = s.add_message(cid, "tool", '{"state": "up"}', tool_call_id="call_9")
    assert result["tool_call_id"] == "call_9"
    assert s.add_message(cid, "tool", "again", tool_call_id=call["id"])["tool_call_id"] == call["id"]
    before = message_count(s, cid)
    with pytest.raises(NotFoundError):
        s.add_message(cid, "tool", "x", tool_call_id="call_unknown")
    with pytest.raises(InvalidArgumentError):
        s.add_message(cid, "user", "x", tool_call_id="call_9")
    assert message_count(s, cid) == before
    assert s.list_tool_calls(call_msg["id"])[0]["status"] == "success"


def test_the_developer_role_is_stored_as_system(any_store):
    cid = any_store.create_conversation("u")["id"]
    m = any_store.add_message(cid, "developer", "answer in French")
    assert m["role"] == "system"
    assert any_store.add_messages(cid, [{"role": "developer", "content": "x"}])[0]["role"] == "system"
    assert [c["content"] for c in any_store.get_context(cid, 0)] == ["answer in French", "x"]  # kept as system
    with pytest.raises(InvalidArgumentError):
        any_store.add_message(cid, "function", "x")


def test_get_context_keeps_the_system_prompt_and_tool_results_with_their_call(any_store):
    """One huge tool output no longer empties the window: the prompt stays, and skip keeps older turns; a call is
    never split from its results."""
    cid = any_store.create_conversation("u", system_prompt="You are a network engineer.")["id"]
    any_store.add_message(cid, "user", "check r1", tokens_input=3)
    any_store.add_message(cid, "assistant", "calling show_bgp", tokens_output=4)
    any_store.add_message(cid, "tool", "x" * 40_000)                  # 10,000 tokens by estimate
    any_store.add_message(cid, "assistant", "r1 is down", tokens_output=4)
    ctx = any_store.get_context(cid, 100)
    assert [(m["role"], m["content"][:10]) for m in ctx] == [("system", "You are a "), ("assistant", "r1 is down")]
    assert ctx[0]["id"] == "" and ctx[0]["position"] == -1
    skipped = any_store.get_context(cid, 100, overflow="skip")
    assert [m["content"][:10] for m in skipped] == ["You are a ", "check r1", "r1 is down"]  # the call went with its output
    assert [m["content"] for m in any_store.get_last_messages(cid, 2)] == ["x" * 40_000, "r1 is down"]
    assert len(any_store.get_last_messages(cid, 1000)) == 4
    with pytest.raises(InvalidArgumentError):
        any_store.get_last_messages(cid, 0)
    with pytest.raises(convstore.NotFoundError):
        any_store.get_last_messages("01890000-0000-7000-8000-000000000000", 5)


def test_tool_calls(any_store):
    cid = any_store.create_conversation("u")["id"]
    mid = any_store.add_message(cid, "assistant", "let me look")["id"]
    t1 = any_store.add_tool_call(mid, "search", input={"q": "bgp"}, output=["r1", "r2"], duration_us=1200)
    t2 = any_store.add_tool_call(mid, "ping", status="error", error_message="timeout")
    t3 = any_store.add_tool_call(mid, "later", status="pending")
    assert t1["input"] == {"q": "bgp"} and t1["output"] == ["r1", "r2"] and t1["status"] == "success"
    assert t2["status"] == "error" and t2["error_message"] == "timeout" and t2["output"] is None
    assert t3["input"] == {} and t3["duration_us"] is None
    assert [t["id"] for t in any_store.list_tool_calls(mid)] == [t1["id"], t2["id"], t3["id"]]
    with pytest.raises(InvalidArgumentError):
        any_store.add_tool_call(mid, "x", status="bogus")
    with pytest.raises(NotFoundError):
        any_store.add_tool_call("no-such-message", "x")
    assert len(any_store.list_tool_calls(mid)) == 3


def test_list_pagination(any_store):
    ids = [any_store.create_conversation("pager", f"c{i}", created_at=1_700_000_000_000_000 + i)["id"]
           for i in range(25)]
    any_store.create_conversation("someone-else")
    seen, cursor, pages = [], None, []
    while True:
        page = any_store.list_conversations("pager", limit=10, cursor=cursor)
        pages.append(len(page["items"]))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [10, 10, 5]
    assert seen == list(reversed(ids))  # most recently updated first
    assert any_store.list_conversations("pager", limit=1000)["next_cursor"] is None


def test_archive_unarchive_delete_cascade(any_store):
    s = any_store
    keep = s.create_conversation("arch", "keep")["id"]
    cid = s.create_conversation("arch", "go")["id"]
    mid = s.add_message(cid, "assistant", "x", cost_usd=1)["id"]
    s.add_tool_call(mid, "tool")
    s.archive(cid)
    assert s.get_conversation_info(cid)["archived"] is True
    assert [c["id"] for c in s.list_conversations("arch")["items"]] == [keep]
    assert {c["id"] for c in s.list_conversations("arch", include_archived=True)["items"]} == {keep, cid}
    s.unarchive(cid)
    assert {c["id"] for c in s.list_conversations("arch")["items"]} == {keep, cid}
    s.delete_conversation(cid)
    with pytest.raises(NotFoundError):
        s.get_conversation(cid)
    with pytest.raises(NotFoundError):
        s.list_tool_calls(mid)
    with pytest.raises(NotFoundError):
        s.delete_conversation(cid)
    with pytest.raises(NotFoundError):
        s.archive(cid)
    assert [c["id"] for c in s.list_conversations("arch")["items"]] == [keep]


def test_teams_and_users(any_store):
    s = any_store
    t = s.upsert_team("netops", "Network Ops", monthly_budget_usd=Decimal("1500.25"))
    assert t["name"] == "Network Ops" and t["monthly_budget_usd"] == 1500.25
    assert t["monthly_budget_nanousd"] == 1_500_250_000_000
    t2 = s.upsert_team("netops", monthly_budget_usd=99.5)
    assert t2["name"] == "Network Ops" and t2["monthly_budget_nanousd"] == 99_500_000_000
    assert s.get_team("netops") == t2
    assert s.upsert_team("bare")["monthly_budget_usd"] is None

    u = s.upsert_user("alice", email="alice@x.com", name="Alice", team="netops", role="admin")
    assert (u["email"], u["team"], u["role"], u["active"]) == ("alice@x.com", "netops", "admin", True)
    u2 = s.upsert_user("alice", active=False, team="")
    assert u2["active"] is False and u2["team"] is None and u2["name"] == "Alice"
    assert s.get_user("alice") == u2
    with pytest.raises(NotFoundError):
        s.upsert_user("bob", team="no-such-team")
    with pytest.raises(NotFoundError):
        s.get_user("bob")
    with pytest.raises(NotFoundError):
        s.get_team("nope")


def test_user_is_created_with_first_conversation(any_store):
    with pytest.raises(NotFoundError):
        any_store.get_user("new@company.com")
    any_store.create_conversation("new@company.com", "first")
    u = any_store.get_user("new@company.com")
    assert u["key"] == "new@company.com" and u["active"] is True


def test_options(db_path, tmp_path):
    with pytest.raises(NotFoundError):
        Store(str(tmp_path / "missing.db"), create_if_missing=False)
    with pytest.raises(InvalidArgumentError):
        Store(db_path, durability="fast")
    with pytest.raises(InvalidArgumentError):
        Store(db_path, log_level="loud")
    with pytest.raises(InvalidArgumentError):
        Store(db_path, reader_pool_size=0)
    with Store(tmp_path / "pathlike.db", durability="full", busy_timeout_ms=100, reader_pool_size=1,
               log_level="off", slow_operation_ms=0) as s:
        assert s.create_conversation("u")["id"]


def test_library_log_lines_go_to_the_convstore_logger(db_path, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="convstore"):
        convstore.Store(db_path, log_level="info").close()
    opened = [r for r in caplog.records if r.name == "convstore" and "opened '" in r.getMessage()]
    assert opened and opened[0].levelno == logging.INFO
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="convstore"):
        convstore.Store(db_path).close()  # the default level, "warn": no info lines
    assert not [r for r in caplog.records if r.name == "convstore" and "opened '" in r.getMessage()]


def test_a_logging_handler_that_calls_convstore_does_not_deadlock(tmp_path):
    import logging

    class UsesConvstore(logging.Handler):
        used = False

        def emit(self, record):
            if not self.used:
                self.used = True
                convstore.Store(":memory:", log_level="info").close()  # logs again, from inside the handler

    handler = UsesConvstore()
    logger = logging.getLogger("convstore")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        convstore.Store(str(tmp_path / "x.db"), log_level="info").close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        convstore.Store(":memory:").close()  # the process-wide level back to the default
    assert handler.used


def test_the_package_version_is_the_library_version():
    assert convstore.__version__ == convstore.version()


def test_list_style_reads_of_an_unknown_key_are_empty_and_point_reads_are_not_found(store):
    """Listing, searching and summarising by a user, team or conversation nobody created gives an empty answer; reading
    that one record fails with NotFoundError."""
    assert store.list_conversations("nobody") == {"items": [], "next_cursor": None}
    s = store.cost_summary(user="nobody")
    assert s["total_cost_nanousd"] == 0 and s["total_messages"] == 0 and s["daily_breakdown"] == []
    assert store.cost_summary(team="no-team")["total_cost_nanousd"] == 0
    assert store.cost_summary(conversation_id="01890000-0000-7000-8000-000000000000")["total_messages"] == 0
    assert store.group_costs(["model"], user="nobody")["groups"] == []
    assert store.usage_stats(user="nobody") == []
    assert store.search_metadata({"k": 1}, user="nobody")["items"] == []
    for point_read in (lambda: store.get_user("nobody"), lambda: store.get_team("no-team"),
                       lambda: store.get_conversation("01890000-0000-7000-8000-000000000000"),
                       lambda: store.team_spend("no-team")):
        with pytest.raises(NotFoundError):
            point_read()
