"""add_message / add_messages of the common message (role, content, model, tokens, cost, latency) cross the C ABI as
scalars (convstore_append_message(s)): the dict returned is the one the JSON path returns, and what is stored is the
same."""

from ctypes import byref, c_int64, c_void_p, create_string_buffer

import pytest

import convstore
from convstore import _ffi
from convstore._append import UNSET, iso_us

from conftest import message_count


def _json_path(s, cid, **fields):
    """The same message through the JSON path (an empty metadata document is a field the scalar path has not)."""
    return s.add_message(cid, metadata={}, **fields)


SAME_EXCEPT = ("id", "position", "created_at", "created_at_us")


@pytest.mark.parametrize("fields", [
    dict(role="user", content="hello"),
    dict(role="assistant", content="priced", model="gpt-4o", tokens_input=1250, tokens_output=890),
    dict(role="assistant", content="explicit", model="claude-sonnet-4-5", cost_nanousd=15_000_000, latency_us=812),
    dict(role="developer", content="answer in French"),
    dict(role="tool", content="{\"state\": \"up\"}", tokens_input=0),
    dict(role="user", content="emoji 🚀 and NUL \0 inside", model=""),
    dict(role="user", content=""),
])
def test_scalar_result_is_the_json_result(any_store, fields):
    s = any_store
    cid = s.create_conversation("ana")["id"]
    fast = s.add_message(cid, **fields)
    slow = _json_path(s, cid, **fields)
    assert list(fast) == list(slow)  # the same keys, in the same order
    assert {k: v for k, v in fast.items() if k not in SAME_EXCEPT} == \
        {k: v for k, v in slow.items() if k not in SAME_EXCEPT}
    assert (fast["position"], slow["position"]) == (0, 1)
    assert fast["created_at"] == iso_us(fast["created_at_us"])
    stored = s.get_last_messages(cid, 2)
    # What reads return is what the add returned (reads carry no "tool_calls": only an add reports the calls it made).
    assert stored[0] == {k: v for k, v in fast.items() if k != "tool_calls"}
    assert stored[0]["content"] == fields["content"]


def test_scalar_batch_is_the_json_batch(any_store):
    s = any_store
    cid = s.create_conversation("ana")["id"]
    batch = [{"role": "user", "content": "q1", "tokens_input": 3},
             {"role": "assistant", "content": "a1", "model": "gpt-4o", "tokens_input": 10, "tokens_output": 4},
             {"role": "tool", "content": "r", "cost_nanousd": 7, "latency_us": None}]
    fast = s.add_messages(cid, batch)
    slow = s.add_messages(cid, [dict(m, metadata={}) for m in batch])
    assert [m["position"] for m in fast] == [0, 1, 2] and [m["position"] for m in slow] == [3, 4, 5]
    for f, j in zip(fast, slow):
        assert list(f) == list(j)
        assert {k: v for k, v in f.items() if k not in SAME_EXCEPT} == \
            {k: v for k, v in j.items() if k not in SAME_EXCEPT}
    assert len({m["id"] for m in fast + slow}) == 6
    assert [m["id"] for m in s.get_last_messages(cid, 6)[:3]] == [m["id"] for m in fast]
    assert message_count(s, cid) == 6


def test_anything_more_takes_the_json_path(store):
    cid = store.create_conversation("ana")["id"]
    m = store.add_message(cid, "user", "x", request_id="r-1", metadata={"k": 1}, tokens_reasoning=2)
    again = store.add_message(cid, "user", "x", request_id="r-1")  # a retry returns the stored message
    assert again["id"] == m["id"] and again["metadata"] == {"k": 1}
    calls = store.add_messages(cid, [{"role": "assistant", "content": "y", "tool_calls": [{"tool_name": "t"}]}])
    assert len(calls[0]["tool_calls"]) == 1
    assert message_count(store, cid) == 2


def test_closed_store_raises_closed_on_both_paths(db_path):
    s = convstore.Store(db_path)
    cid = s.create_conversation("ana")["id"]
    s.close()
    with pytest.raises(convstore.errors.ClosedError):
        s.add_message(cid, "user", "x")
    with pytest.raises(convstore.errors.ClosedError):
        s.add_messages(cid, [{"role": "user", "content": "x"}])


def _raw_append(s, cid, role, content, length=-1, model=None, ints=(UNSET, UNSET, UNSET, UNSET)):
    mid = create_string_buffer(b"untouched", 37)
    position, err = c_int64(-7), c_void_p()
    rc = _ffi.convstore_append_message(s._h, cid, role, content, length, model, *ints, mid, byref(position), None,
                                       None, None, byref(err))
    msg = _ffi.take_string(err)
    return rc, msg, mid.value, position.value


@pytest.mark.parametrize("args,code", [
    ((b"robot", b"x"), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((None, b"x"), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((b"user", None), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((b"user", b"\xff\xfe"), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((b"user", b"x", -2), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((b"user", b"x", -1, None, (-1, UNSET, UNSET, UNSET)), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((b"user", b"x", -1, None, (UNSET, UNSET, 2 ** 62, UNSET)), _ffi.CONVSTORE_INVALID_ARGUMENT),
    ((b"user", b"x", -1, None, (UNSET, UNSET, UNSET, -5)), _ffi.CONVSTORE_INVALID_ARGUMENT),
])
def test_ffi_scalar_append_refuses_and_writes_nothing(any_store, args, code):
    cid = any_store.create_conversation("u")["id"]
    rc, msg, mid, position = _raw_append(any_store, cid.encode(), *args)
    assert rc == code and msg
    assert (mid, position) == (b"untouched", -7)  # out values are written on success only
    assert message_count(any_store, cid) == 0


def test_ffi_scalar_append_null_handle_and_id(any_store):
    cid = any_store.create_conversation("u")["id"]
    rc, msg, _, _ = _raw_append(any_store, None, b"user", b"x")
    assert rc == _ffi.CONVSTORE_INVALID_ARGUMENT and b"NULL" in msg
    err = c_void_p()
    assert _ffi.convstore_append_message(None, cid.encode(), b"user", b"x", -1, None, UNSET, UNSET, UNSET, UNSET,
                                         None, None, None, None, None, byref(err)) == _ffi.CONVSTORE_INVALID_ARGUMENT
    assert _ffi.take_string(err)
    assert message_count(any_store, cid) == 0
