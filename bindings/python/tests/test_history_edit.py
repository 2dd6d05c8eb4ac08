"""Removing and correcting history from Python: delete, pop, clear, edit; spend stays spent; external ids; raw
items; tool calls recorded with their message and finished by their result."""

import pytest

import convstore
from convstore.errors import ConflictError, InvalidArgumentError, NotFoundError


def test_delete_pop_and_clear_keep_what_was_spent(any_store):
    s = any_store
    c = s.create_conversation("ana", "t")
    a = s.add_message(c["id"], "user", "a", cost_usd="0.001", request_id="py-a")
    b = s.add_message(c["id"], "assistant", "b", cost_usd="0.002", request_id="py-b")
    s.add_message(c["id"], "user", "c", cost_usd="0.004")
    s.set_budget("all", "global", "month", hard_limit_usd=1)

    assert s.delete_message(b["id"])["content"] == "b"
    with pytest.raises(NotFoundError):
        s.delete_message(b["id"])
    assert s.pop_message(c["id"])["content"] == "c"
    info = s.get_conversation_info(c["id"])
    assert info["message_count"] == 1
    assert info["total_cost_nanousd"] == 7_000_000
    assert s.cost_summary(days=30)["total_cost_nanousd"] == 7_000_000
    assert s.get_budgets()[0]["spent_nanousd"] == 7_000_000
    assert s.verify_rollups()["differences"] == 0
    # positions are not reused; a deleted message's request_id does not bring it back
    assert s.add_message(c["id"], "user", "d")["position"] == 3
    with pytest.raises(ConflictError, match="deleted"):
        s.add_message(c["id"], "assistant", "b", request_id="py-b")
    assert s.add_message(c["id"], "user", "a", request_id="py-a")["id"] == a["id"]

    assert s.clear_messages(c["id"]) == 2
    assert s.pop_message(c["id"]) is None
    assert s.clear_messages(c["id"]) == 0
    assert s.get_conversation(c["id"])["messages"] == []
    assert s.cost_summary(days=30)["total_cost_nanousd"] == 7_000_000


def test_edit_changes_only_what_is_given(any_store):
    s = any_store
    c = s.create_conversation("ana")
    m = s.add_message(c["id"], "user", "teh answer", metadata={"k": 1}, tokens_input=9, raw={"type": "message"})
    e = s.edit_message(m["id"], content="the answer")
    assert (e["content"], e["metadata"], e["raw"], e["tokens_input"]) == ("the answer", {"k": 1}, {"type": "message"},
                                                                          9)
    e = s.edit_message(m["id"], metadata={"k": 2}, raw=None)
    assert (e["metadata"], e["raw"]) == ({"k": 2}, None)
    assert s.search_metadata({"k": 2}, target="messages")["items"][0]["id"] == m["id"]
    with pytest.raises(InvalidArgumentError):
        s.edit_message(m["id"])
    with pytest.raises(InvalidArgumentError):
        s.edit_message(m["id"], metadata=[1])
    with pytest.raises(NotFoundError):
        s.edit_message("00000000-0000-7000-8000-000000000000", content="x")
    assert s.get_last_messages(c["id"], 1)[0]["metadata"] == {"k": 2}


def test_bad_input_writes_nothing(any_store):
    s = any_store
    c = s.create_conversation("ana")
    for call in (lambda: s.pop_message(""), lambda: s.clear_messages("a\0b"), lambda: s.delete_message(None),
                 lambda: s.edit_message("x" * 300, content="y"), lambda: s.pop_message(5)):
        with pytest.raises((InvalidArgumentError, convstore.errors.TooLargeError)):
            call()
    with pytest.raises(NotFoundError):
        s.clear_messages("00000000-0000-7000-8000-000000000000")
    with pytest.raises(InvalidArgumentError):
        s.add_message(c["id"], "assistant", "", tool_calls=[{"tool_name": ""}])
    with pytest.raises(InvalidArgumentError):
        s.add_message(c["id"], "assistant", "", tool_calls=["nope"])
    with pytest.raises(InvalidArgumentError):
        s.add_message(c["id"], "assistant", "", raw=float("nan"))
    with pytest.raises(InvalidArgumentError):
        s.create_conversation("ana", external_id="a\0b")
    assert s.get_conversation_info(c["id"])["message_count"] == 0


def test_external_id_is_get_or_create(any_store):
    s = any_store
    a = s.create_conversation("ana", "first", external_id="session-9")
    b = s.create_conversation("ana", "second", external_id="session-9")
    assert a["id"] == b["id"] and b["title"] == "first" and b["external_id"] == "session-9"
    with pytest.raises(ConflictError):
        s.create_conversation("bob", external_id="session-9")
    assert s.create_conversation("ana")["external_id"] is None


def test_raw_items_round_trip_and_calls_finish_with_their_result(any_store):
    s = any_store
    c = s.create_conversation("ana")
    call_item = {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{\"city\": \"Oslo\"}",
                 "id": "fc_1", "status": "completed"}
    out_item = {"type": "function_call_output", "call_id": "call_1", "output": "{\"temp\": 3.5}"}
    made = s.add_messages(c["id"], [
        {"role": "assistant", "content": "", "raw": call_item,
         "tool_calls": [{"tool_name": "weather", "input": {"city": "Oslo"}, "status": "pending", "call_id": "call_1"}]},
        {"role": "tool", "content": out_item["output"], "tool_call_id": "call_1", "raw": out_item},
    ])
    assert made[0]["raw"] == call_item and made[1]["raw"] == out_item
    assert made[0]["tool_calls"][0]["call_id"] == "call_1" and made[1]["tool_calls"] == []
    [call] = s.list_tool_calls(made[0]["id"])
    assert call["status"] == "success" and call["output"] == {"temp": 3.5}
    assert [m["raw"] for m in s.get_conversation(c["id"])["messages"]] == [call_item, out_item]


def test_get_items_returns_raw_items_or_role_and_content(any_store):
    s = any_store
    c = s.create_conversation("ana")
    s.add_message(c["id"], "user", "plain")
    s.add_message(c["id"], "assistant", "x", raw={"type": "message", "content": [{"text": "x"}], "n": 1.5})
    assert s.get_items(c["id"]) == [{"role": "user", "content": "plain"},
                                     {"type": "message", "content": [{"text": "x"}], "n": 1.5}]
    assert s.get_items(c["id"], 1) == [{"type": "message", "content": [{"text": "x"}], "n": 1.5}]
    for bad in (0, 1001, -1, True, "2"):
        with pytest.raises(InvalidArgumentError):
            s.get_items(c["id"], bad)
    with pytest.raises(NotFoundError):
        s.get_items("00000000-0000-7000-8000-000000000000")
