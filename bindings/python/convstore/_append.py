"""The scalar path of Store.add_message / add_messages: convstore_append_message(s), no JSON either way.

A message made of a role, its content and, optionally, a model, tokens_input, tokens_output, cost_nanousd and
latency_us crosses the C ABI as C values, and the stored message comes back as its id, position, cost, price and
time; the dict returned is the one the JSON path returns (the rest of it is what the caller gave). Anything else
(another field, a value of another type, a value out of range) returns None here and takes the JSON path, whose
checks and error messages are the library's.
"""

from __future__ import annotations

import time
from ctypes import byref, c_char_p, c_int64, c_void_p, create_string_buffer

from . import _ffi
from ._codec import raise_error

_append_message = _ffi.convstore_append_message
_append_messages = _ffi.convstore_append_messages

UNSET = -(2 ** 63)  # CONVSTORE_UNSET
ID_SIZE = 37  # CONVSTORE_ID_SIZE
_TOP = 2 ** 63
_ROLES = {"user": (b"user", "user"), "assistant": (b"assistant", "assistant"), "system": (b"system", "system"),
          "developer": (b"developer", "system"), "tool": (b"tool", "tool")}  # name -> (C argument, stored role)
_FIELDS = frozenset(("role", "content", "model", "tokens_input", "tokens_output", "cost_nanousd", "latency_us"))


def iso_us(us: int) -> str:
    """Integer µs as the library writes times: 2026-12-04T08:03:17.509451Z."""
    s, f = divmod(us, 1_000_000)
    t = time.gmtime(s)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, f)


def _int(v) -> int | None:
    """An integer field as a C value: UNSET for None, the value when it is one the JSON path could take, else None."""
    if v is None:
        return UNSET
    if type(v) is int and 0 <= v < _TOP:
        return v
    return None


def _text(v) -> bytes | None:
    try:
        return v.encode() if type(v) is str else None
    except UnicodeEncodeError:  # lone surrogates: the JSON path says what is wrong
        return None


def _model(v) -> bytes | None:
    if v is None:
        return b""
    b = _text(v)
    return b if b is not None and b"\0" not in b else None


def _message(conversation_id, role, content, model, tokens_input, tokens_output, latency_us, mid, position, cost,
             price_id, created_at_us) -> dict:
    """The stored message as the JSON path returns it: the caller's fields and what the library reported."""
    return {"id": mid, "conversation_id": conversation_id, "position": position, "role": role, "content": content,
            "model": model or "", "model_version": "", "tokens_input": tokens_input, "tokens_output": tokens_output,
            "tokens_cached_input": None, "tokens_cache_write": None, "tokens_reasoning": None,
            "cost_usd": None if cost == UNSET else cost / 1e9, "cost_nanousd": None if cost == UNSET else cost,
            "price_id": None if price_id == UNSET else price_id, "latency_us": latency_us, "metadata": {},
            "request_id": None, "tool_call_id": None, "raw": None, "created_at": iso_us(created_at_us),
            "created_at_us": created_at_us, "tool_calls": []}


def append_one(h, conversation_id: str, cid: bytes, role, content, model, tokens_input, tokens_output,
               cost_nanousd, latency_us) -> dict | None:
    """One message through convstore_append_message; None when it needs the JSON path."""
    r = _ROLES.get(role) if type(role) is str else None
    b = _text(content)
    m = _model(model)
    ti, to, cn, lat = _int(tokens_input), _int(tokens_output), _int(cost_nanousd), _int(latency_us)
    if r is None or b is None or m is None or ti is None or to is None or cn is None or lat is None:
        return None
    mid = create_string_buffer(ID_SIZE)
    position, cost, price_id, created_at = c_int64(), c_int64(), c_int64(), c_int64()
    err = c_void_p()
    rc = _append_message(h, cid, r[0], b, len(b), m, ti, to, cn, lat, mid, byref(position), byref(cost),
                         byref(price_id), byref(created_at), byref(err))
    if rc:
        raise_error(rc, err)
    return _message(conversation_id, r[1], content, model, tokens_input, tokens_output, latency_us,
                    mid.value.decode(), position.value, cost.value, price_id.value, created_at.value)


def append_many(h, conversation_id: str, cid: bytes, messages) -> list[dict] | None:
    """Several messages, all or nothing, through convstore_append_messages; None when one needs the JSON path."""
    n = len(messages)
    if n == 0:
        return None  # the JSON path's error
    roles, stored, contents, lens, models = [], [], [], [], []
    ints = ([], [], [], [])  # tokens_input, tokens_output, cost_nanousd, latency_us
    for msg in messages:
        if type(msg) is not dict or not _FIELDS.issuperset(msg):
            return None
        r = _ROLES.get(msg.get("role")) if type(msg.get("role")) is str else None
        b = _text(msg.get("content"))
        m = _model(msg.get("model"))
        if r is None or b is None or m is None:
            return None
        for column, key in zip(ints, ("tokens_input", "tokens_output", "cost_nanousd", "latency_us")):
            v = _int(msg.get(key))
            if v is None:
                return None
            column.append(v)
        roles.append(r[0])
        stored.append(r[1])
        contents.append(b)
        lens.append(len(b))
        models.append(m)
    strings, int64s = c_char_p * n, c_int64 * n
    ids = create_string_buffer(ID_SIZE * n)
    positions, costs, price_ids, created = int64s(), int64s(), int64s(), int64s()
    err = c_void_p()
    rc = _append_messages(h, cid, n, strings(*roles), strings(*contents), int64s(*lens), strings(*models),
                          int64s(*ints[0]), int64s(*ints[1]), int64s(*ints[2]), int64s(*ints[3]), ids, positions,
                          costs, price_ids, created, byref(err))
    if rc:
        raise_error(rc, err)
    raw_ids = ids.raw
    return [_message(conversation_id, stored[i], msg["content"], msg.get("model"), msg.get("tokens_input"),
                     msg.get("tokens_output"), msg.get("latency_us"),
                     raw_ids[i * ID_SIZE:(i + 1) * ID_SIZE].split(b"\0", 1)[0].decode(), positions[i], costs[i],
                     price_ids[i], created[i])
            for i, msg in enumerate(messages)]
