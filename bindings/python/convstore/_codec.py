"""Python <-> JSON conversions for the C ABI: request encoding, money, time, and the float view of money.

Internal; kept apart from store.py so the Store methods stay one-liners around a single ctypes call.
"""

from __future__ import annotations

import ctypes
import decimal
import json
import math
from datetime import datetime, timezone
from decimal import Decimal

from typing import Union

from . import _ffi
from .errors import CorruptionError, InvalidArgumentError, error_from_code

# What the public API accepts for money and for points in time (annotations of the Store methods).
Money = Union[Decimal, str, int, float]  # US dollars: exact as Decimal or str, rounded to the nano-dollar otherwise
# A point in time: an aware datetime, ISO-8601 text with an offset, float seconds since the epoch (time.time()), or
# integer microseconds since the epoch (UTC). Naive datetimes and naive text are refused (see time_us).
Time = Union[datetime, str, float, int]



def _unserialisable(o):
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


try:  # the C encoder built once (json.dumps builds one per call): compact, UTF-8, no NaN/inf
    from json.encoder import c_make_encoder, encode_basestring

    _iterencode = c_make_encoder(None, _unserialisable, encode_basestring, None, ":", ",", False, False, False)

    def _encode(obj) -> str:
        return "".join(_iterencode(obj, 0))
except (ImportError, TypeError):  # pragma: no cover - Python built without _json
    _encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_scan_once = json.JSONDecoder().scan_once  # the C scanner, without json.loads' Python-level checks


def loads(data: bytes):
    """Parses the library's JSON output: one value, no surrounding whitespace. The library checks what it reads
    from the file, so malformed output means a broken library or file: CorruptionError, not a ValueError."""
    try:
        text = data.decode()
        value, end = _scan_once(text, 0)
    except (ValueError, StopIteration) as e:
        raise CorruptionError(f"the library returned malformed JSON: {e!r}") from None
    if end != len(text):
        raise CorruptionError("the library returned JSON followed by other text")
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NANO = Decimal("1e-9")
_CTX = decimal.Context(prec=60, traps=[decimal.InvalidOperation])


def dumps(obj) -> bytes:
    """UTF-8 JSON bytes of obj. NaN/inf, non-serialisable values and lone surrogates raise InvalidArgumentError."""
    try:
        return _encode(obj).encode()
    except (ValueError, TypeError, RecursionError) as e:  # UnicodeEncodeError is a ValueError
        raise InvalidArgumentError(f"cannot encode request as JSON: {e}") from None


def usd(value) -> str:
    """An exact decimal string for a USD amount given as str, int, Decimal or float.

    Floats go through repr() (the shortest string that round-trips) and are rounded half-even to 9 decimals
    (the nano-USD), so 890 * 15e-6 == 0.013349999999999999 is stored as 0.01335. Strings and Decimals are sent
    as written; the library refuses more than 9 decimals there. NaN and infinities raise InvalidArgumentError.
    """
    t = type(value)
    if t is str:
        return value
    if t is float:  # fast path: repr already has at most 9 decimals and no exponent ("0.015")
        r = repr(value)
        dot = r.find(".")
        if 0 < dot and len(r) - dot <= 10 and "e" not in r and "n" not in r:
            return r
    try:
        if isinstance(value, float):
            d = Decimal(repr(value))
            if not d.is_finite():
                raise InvalidArgumentError(f"cost must be a finite amount, not {value!r}")
            return format(d.quantize(_NANO, context=_CTX), "f")
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise InvalidArgumentError(f"cost must be a finite amount, not {value!r}")
            return format(value, "f")
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    except decimal.InvalidOperation:
        raise InvalidArgumentError(f"cost {value!r} is out of range") from None
    raise InvalidArgumentError(f"cost must be a str, int, float or Decimal, not {type(value).__name__}")


def time_us(value, what: str = "time"):
    """A point in time as the library takes it: integer µs (passed on; the library refuses values that look like
    seconds, milliseconds or nanoseconds), ISO-8601 text (passed on; the library parses it and refuses text without
    an offset), an aware datetime, or float seconds since the epoch (time.time()). A naive datetime is refused, as
    naive text is: a time without an offset is ambiguous (datetime.timestamp() reads it as local time, SQLite's
    CURRENT_TIMESTAMP writes it in UTC)."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{what} must be a datetime, ISO-8601 text, float seconds or integer microseconds, "
                                   "not a bool")
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgumentError(f"{what} {value.isoformat()!r} is a naive datetime: give it a time zone "
                                       "(datetime.now(timezone.utc), or .replace(tzinfo=timezone.utc) if it is UTC)")
        d = value - _EPOCH
        return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"{what} is {value}; float seconds must be finite")
        return round(value * 1_000_000)
    raise InvalidArgumentError(f"{what} must be a datetime, ISO-8601 text, float seconds or integer microseconds, "
                               f"not {type(value).__name__}")


def c_string(s, what: str = "ids and keys") -> bytes:
    """A str argument (an id, a key) as a C string. NUL would silently truncate it in C, so it is refused."""
    try:
        b = s.encode()
    except AttributeError:
        raise InvalidArgumentError(f"expected a str, not {type(s).__name__}") from None
    except UnicodeEncodeError as e:
        raise InvalidArgumentError(f"not encodable as UTF-8: {e}") from None
    if b"\0" in b:
        raise InvalidArgumentError(f"{what} cannot contain NUL characters")
    return b


def raise_error(rc: int, err: ctypes.c_void_p):
    """Raises the exception of a failed call's code, with the library's message (freed here)."""
    msg = _ffi.take_string(err)
    raise error_from_code(rc, msg.decode("utf-8", "replace") if msg else "")


def parse_time(text: str) -> int:
    """Integer µs of ISO-8601 text with an offset, parsed by the library under the rules every call applies."""
    out = ctypes.c_int64()
    err = ctypes.c_void_p()
    rc = _ffi.convstore_parse_time(c_string(text, "times"), ctypes.byref(out), ctypes.byref(err))
    if rc:
        raise_error(rc, err)
    return out.value


def time_us_int(value, what: str = "time") -> int:
    """time_us, with text parsed here: for the calls that take integer µs across the C ABI."""
    v = time_us(value, what)
    return parse_time(v) if isinstance(v, str) else v


def fix_message(m: dict) -> dict:
    """Message output: "cost_usd" decimal string -> float (cost_nanousd stays the exact int)."""
    c = m["cost_usd"]
    if c is not None:
        m["cost_usd"] = float(c)
    return m


def fix_conversation(c: dict) -> dict:
    """Conversation output: "total_cost_usd" -> float."""
    c["total_cost_usd"] = float(c["total_cost_usd"])
    return c


def fix_team(t: dict) -> dict:
    """Team output: "monthly_budget_usd" -> float (or None)."""
    b = t["monthly_budget_usd"]
    if b is not None:
        t["monthly_budget_usd"] = float(b)
    return t


def message_request(m: dict) -> dict:
    """A caller's message dict (add_messages) with cost_usd / created_at converted; None values dropped."""
    out = {k: v for k, v in m.items() if v is not None}
    if "cost_usd" in out:
        out["cost_usd"] = usd(out["cost_usd"])
    if "created_at" in out:
        out["created_at"] = time_us(out["created_at"], "created_at")
    if "tool_calls" in out:
        out["tool_calls"] = tool_call_requests(out["tool_calls"])
    return out


def tool_call_requests(calls) -> list:
    """A message's tool_calls (dicts with add_tool_call's keyword names) with created_at converted."""
    if not isinstance(calls, (list, tuple)):
        raise InvalidArgumentError("tool_calls must be a list of dicts")
    out = []
    for i, c in enumerate(calls):
        if not isinstance(c, dict):
            raise InvalidArgumentError(f"tool_calls[{i}] must be a dict")
        c = {k: v for k, v in c.items() if v is not None}
        if "created_at" in c:
            c["created_at"] = time_us(c["created_at"], f"tool_calls[{i}].created_at")
        out.append(c)
    return out


def fix_money(obj):
    """Cost-call output: every "*_usd" decimal string -> float, recursively (the "*_nanousd" ints stay exact).
    A record's "metadata" is the caller's own document and is left exactly as stored."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "metadata":
                continue
            if type(v) is str and k.endswith("_usd"):
                obj[k] = float(v)
            elif isinstance(v, (dict, list)):
                fix_money(v)
    elif isinstance(obj, list):
        for v in obj:
            fix_money(v)
    return obj


def money_field(out: dict, base: str, usd_value, nanousd_value) -> None:
    """Adds "<base>_usd" (exact decimal string) or "<base>_nanousd" to a request when given."""
    if usd_value is not None:
        out[base + "_usd"] = usd(usd_value)
    if nanousd_value is not None:
        out[base + "_nanousd"] = nanousd_value


def request(**fields) -> dict:
    """A request object from keyword fields, None values dropped and times converted (*_at, from, to)."""
    out = {}
    for k, v in fields.items():
        if v is None:
            continue
        if k in ("from", "to", "effective_from", "recorded_at", "created_at"):
            v = time_us(v, k)
        out[k] = v
    return out
