"""Every bad input raises the right exception and writes nothing; closed stores; schema too new."""

import json
import os
import sqlite3
import subprocess
import sys
from ctypes import byref, c_void_p

import pytest

import convstore
from convstore import (ClosedError, ConvstoreError, CorruptionError, InvalidArgumentError, NotFoundError,
                       SchemaTooNewError, Store, TooLargeError, _ffi, errors)
from conftest import message_count

PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_error_classes_and_mapping():
    expected = {
        1: (errors.InvalidArgumentError, "invalid_argument"),
        2: (errors.NotFoundError, "not_found"),
        3: (errors.ConflictError, "conflict"),
        4: (errors.BusyError, "busy"),
        5: (errors.StorageIOError, "io_error"),
        6: (errors.CorruptionError, "corruption"),
        7: (errors.ClosedError, "closed"),
        8: (errors.SchemaTooNewError, "schema_too_new"),
        9: (errors.TooLargeError, "too_large"),
        10: (errors.InternalError, "internal"),
        11: (errors.BudgetExceededError, "budget_exceeded"),
        12: (errors.ReadOnlyError, "read_only"),
    }
    for code, (cls, name) in expected.items():
        e = errors.error_from_code(code, "msg")
        assert type(e) is cls and isinstance(e, ConvstoreError)
        assert (e.code, e.code_name, e.message) == (code, name, "msg")
        assert _ffi.convstore_code_name(code).decode() == name
        assert getattr(_ffi, "CONVSTORE_" + name.upper()) == code
        assert str(e) == f"{name}: msg"
    odd = errors.error_from_code(42, "?")
    assert type(odd) is ConvstoreError and odd.code == 42 and odd.code_name == "unknown"



def test_every_library_code_has_its_constant_and_exception():
    """The library's code list is the source: each code it names has a CONVSTORE_* constant and its own class."""
    code = 1
    library = {}
    while (name := _ffi.convstore_code_name(code).decode()) != "unknown":
        library[code] = name
        code += 1
    assert len(library) >= 12
    for code, name in library.items():
        assert getattr(_ffi, "CONVSTORE_" + name.upper()) == code, name
        e = errors.error_from_code(code, "m")
        assert type(e) is not ConvstoreError and (e.code, e.code_name) == (code, name)
    assert set(errors._BY_CODE) == set(library)

def _bad_inputs(cid):
    """(description, exception, call) for every bad input; each must leave the store untouched."""
    nan, inf = float("nan"), float("inf")
    return [
        ("unknown role", InvalidArgumentError, lambda s: s.add_message(cid, "robot", "x")),
        ("negative tokens", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", tokens_input=-1)),
        ("negative output tokens", InvalidArgumentError,
         lambda s: s.add_message(cid, "assistant", "x", tokens_output=-5)),
        ("NaN cost", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", cost_usd=nan)),
        ("inf cost", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", cost_usd=inf)),
        ("-inf cost", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", cost_usd=-inf)),
        ("negative cost", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", cost_usd=-0.5)),
        ("cost with 10 decimals", InvalidArgumentError,
         lambda s: s.add_message(cid, "user", "x", cost_usd="0.0000000001")),
        ("cost not a number", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", cost_usd="abc")),
        ("NaN temperature", InvalidArgumentError, lambda s: s.create_conversation("victim", temperature=nan)),
        ("temperature out of range", InvalidArgumentError,
         lambda s: s.create_conversation("victim", temperature=11)),
        ("unserialisable metadata", InvalidArgumentError,
         lambda s: s.add_message(cid, "user", "x", metadata={"a": object()})),
        ("metadata list", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", metadata=[1, 2])),
        ("metadata string", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", metadata='{"a":1}')),
        ("conversation metadata not object", InvalidArgumentError,
         lambda s: s.create_conversation("victim", metadata=[1])),
        ("update metadata not object", InvalidArgumentError, lambda s: s.update_conversation(cid, metadata=3)),
        ("unknown conversation", NotFoundError, lambda s: s.add_message("no-such-id", "user", "x")),
        ("unknown conversation batch", NotFoundError,
         lambda s: s.add_messages("no-such-id", [{"role": "user", "content": "x"}])),
        ("unknown message for tool call", NotFoundError, lambda s: s.add_tool_call("no-such-id", "t")),
        ("empty conversation id", InvalidArgumentError, lambda s: s.add_message("", "user", "x")),
        ("empty id get", InvalidArgumentError, lambda s: s.get_conversation("")),
        ("empty id archive", InvalidArgumentError, lambda s: s.archive("")),
        ("empty id delete", InvalidArgumentError, lambda s: s.delete_conversation("")),
        ("empty user", InvalidArgumentError, lambda s: s.create_conversation("")),
        ("empty team key", InvalidArgumentError, lambda s: s.upsert_team("")),
        ("empty user key", InvalidArgumentError, lambda s: s.upsert_user("")),
        ("NUL in id", InvalidArgumentError, lambda s: s.get_conversation(cid + "\0tail")),
        ("id not a str", InvalidArgumentError, lambda s: s.get_conversation(None)),
        ("lone surrogate content", InvalidArgumentError, lambda s: s.add_message(cid, "user", "\ud800")),
        ("content too large", TooLargeError, lambda s: s.add_message(cid, "user", "x" * (16 * 1024 * 1024 + 1))),
        ("bad tool status", InvalidArgumentError, lambda s: s.add_tool_call("x", "t", status="maybe")),
        ("limit zero", InvalidArgumentError, lambda s: s.list_conversations("owner", limit=0)),
        ("bad cursor", InvalidArgumentError, lambda s: s.list_conversations("owner", cursor="garbage")),
        ("bad created_at", InvalidArgumentError,
         lambda s: s.add_message(cid, "user", "x", created_at="yesterday")),
        ("batch with a bad message", InvalidArgumentError,
         lambda s: s.add_messages(cid, [{"role": "user", "content": "ok"}, {"role": "user", "content": 5}])),
        ("unknown field in batch", InvalidArgumentError,
         lambda s: s.add_messages(cid, [{"role": "user", "content": "ok", "colour": "red"}])),
        # The scalar path's values (the common message crosses the C ABI without JSON): the same checks.
        ("tokens past the limit", InvalidArgumentError,
         lambda s: s.add_message(cid, "assistant", "x", tokens_output=10_000_000_001)),
        ("tokens past int64", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", tokens_input=2 ** 70)),
        ("negative latency", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", latency_us=-5)),
        ("cost_nanousd past $1M", InvalidArgumentError,
         lambda s: s.add_message(cid, "user", "x", cost_nanousd=2 ** 62)),
        ("tokens as a float", InvalidArgumentError, lambda s: s.add_message(cid, "user", "x", tokens_input=1.5)),
        ("content not a str", InvalidArgumentError, lambda s: s.add_message(cid, "user", b"bytes")),
        ("role not a str", InvalidArgumentError, lambda s: s.add_message(cid, None, "x")),
        ("batch with an unknown role", InvalidArgumentError,
         lambda s: s.add_messages(cid, [{"role": "user", "content": "ok"}, {"role": "robot", "content": "x"}])),
        ("batch with negative tokens", InvalidArgumentError,
         lambda s: s.add_messages(cid, [{"role": "user", "content": "ok"}, {"role": "user", "content": "x",
                                                                             "tokens_input": -1}])),
        ("batch with content too large", TooLargeError,
         lambda s: s.add_messages(cid, [{"role": "user", "content": "x" * (16 * 1024 * 1024 + 1)}])),
        ("empty batch", InvalidArgumentError, lambda s: s.add_messages(cid, [])),
    ]


def _snapshot(s, cid):
    return (message_count(s, cid), s.get_conversation_info(cid), len(s.list_conversations("owner")["items"]))


@pytest.mark.parametrize("index", range(len(_bad_inputs(""))), ids=[d for d, _, _ in _bad_inputs("")])
def test_bad_input_raises_and_writes_nothing(any_store, index):
    s = any_store
    cid = s.create_conversation("owner", "t")["id"]
    s.add_message(cid, "user", "existing", tokens_input=3, cost_usd=0.25)
    before = _snapshot(s, cid)
    desc, exc, call = _bad_inputs(cid)[index]
    with pytest.raises(exc):
        call(s)
    assert _snapshot(s, cid) == before
    with pytest.raises(NotFoundError):
        s.get_user("victim")  # no conversation creation left a user behind


def _raw_add(s, cid: bytes, body: bytes):
    out, err = c_void_p(), c_void_p()
    rc = _ffi.convstore_add_message(s._h, cid, body, byref(out), byref(err))
    msg, text = _ffi.take_string(err), _ffi.take_string(out)
    assert (msg is None, text is None) == ((True, False) if rc == 0 else (False, True))
    return rc, msg


@pytest.mark.parametrize("body", [
    b'{"role":"user","content":"\xff\xfe"}',                 # invalid UTF-8
    b'{"role":"user","content":"x","metadata":{bad json}}',  # invalid JSON
    b'{"role":"user","content":"x","metadata":"{}"}',         # metadata not an object
    b'{"role":"user","content":"x","cost_usd":NaN}',          # NaN is not JSON
    b'{"role":"user","content":"x","cost_usd":Infinity}',
    b'{"role":"user","content":"x","tokens_input":-1}',
    b'{"role":"user","content":"x","colour":"red"}',          # unknown field
    b'[{"role":"user","content":"x"}]',                       # not an object
    b'{"role":"user"',                                        # truncated
    b'',
])
def test_ffi_refuses_raw_bad_json(any_store, body):
    cid = any_store.create_conversation("u")["id"]
    rc, msg = _raw_add(any_store, cid.encode(), body)
    assert rc == _ffi.CONVSTORE_INVALID_ARGUMENT and msg
    assert message_count(any_store, cid) == 0


def test_ffi_null_arguments(any_store):
    cid = any_store.create_conversation("u")["id"]
    rc, msg = _raw_add(any_store, None, b'{"role":"user","content":"x"}')
    assert rc == _ffi.CONVSTORE_INVALID_ARGUMENT
    rc, msg = _raw_add(any_store, cid.encode(), None)
    assert rc == _ffi.CONVSTORE_INVALID_ARGUMENT
    assert _ffi.convstore_add_message(None, cid.encode(), b"{}", None, None) == _ffi.CONVSTORE_INVALID_ARGUMENT
    assert message_count(any_store, cid) == 0


def test_ffi_valid_raw_call(any_store):
    cid = any_store.create_conversation("u")["id"]
    rc, _ = _raw_add(any_store, cid.encode(), '{"role":"user","content":"héllo ✓"}'.encode())
    assert rc == 0
    assert any_store.get_conversation(cid)["messages"][0]["content"] == "héllo ✓"


def test_ffi_cost_as_json_number(any_store):
    cid = any_store.create_conversation("u")["id"].encode()
    assert _raw_add(any_store, cid, b'{"role":"user","content":"x","cost_usd":2}')[0] == 0
    assert _raw_add(any_store, cid, b'{"role":"user","content":"x","cost_usd":0.015}')[0] == 0
    assert any_store.get_conversation_info(cid.decode())["total_cost_nanousd"] == 2_015_000_000


def _all_calls(s):
    return [
        lambda: s.upsert_team("t"), lambda: s.get_team("t"), lambda: s.upsert_user("u"), lambda: s.get_user("u"),
        lambda: s.create_conversation("u"), lambda: s.get_conversation("c"),
        lambda: s.get_conversation_info("c"), lambda: s.update_conversation("c", title="x"),
        lambda: s.archive("c"), lambda: s.unarchive("c"), lambda: s.delete_conversation("c"),
        lambda: s.list_conversations("u"), lambda: s.add_message("c", "user", "x"),
        lambda: s.add_messages("c", [{"role": "user", "content": "x"}]), lambda: s.get_context("c", 10),
        lambda: s.add_tool_call("m", "t"), lambda: s.list_tool_calls("m"), lambda: s.schema_version(),
    ]


def test_closed_store_raises_closed(db_path):
    s = Store(db_path)
    s.create_conversation("u")
    s.close()
    s.close()  # double close is fine
    assert s.closed
    for call in _all_calls(s):
        with pytest.raises(ClosedError):
            call()
    s.shutdown()  # no-op once closed
    with Store(db_path) as again:  # the file was released and is intact
        assert len(again.list_conversations("u")["items"]) == 1


def test_shutdown_then_calls_raise_closed(any_store):
    any_store.shutdown()
    any_store.shutdown()
    for call in _all_calls(any_store)[:-1]:
        with pytest.raises(ClosedError):
            call()
    assert any_store.schema_version() == -1
    any_store.close()


def test_context_manager_closes(db_path):
    with Store(db_path) as s:
        s.create_conversation("u")
    with pytest.raises(ClosedError):
        s.get_user("u")


def test_schema_too_new(db_path):
    Store(db_path).close()
    con = sqlite3.connect(db_path)
    con.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNewError) as e:
        Store(db_path)
    assert e.value.code == _ffi.CONVSTORE_SCHEMA_TOO_NEW


def test_not_a_convstore_file(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 500)
    with pytest.raises(CorruptionError):
        Store(str(junk))
    foreign = str(tmp_path / "foreign.db")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY)")
    con.commit()
    con.close()
    with pytest.raises(CorruptionError):
        Store(foreign)


def test_library_not_found_message(tmp_path):
    env = dict(os.environ, CONVSTORE_LIBRARY=str(tmp_path / "nope.so"), PYTHONPATH=PKG_ROOT)
    r = subprocess.run([sys.executable, "-c", "import convstore"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "LibraryNotFoundError" in r.stderr and "CONVSTORE_LIBRARY" in r.stderr


def test_library_from_env(tmp_path):
    lib = _ffi.library_path()
    env = dict(os.environ, CONVSTORE_LIBRARY=lib, PYTHONPATH=PKG_ROOT)
    code = "import convstore, json; print(json.dumps([convstore.abi_version(), convstore._ffi.library_path()]))"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(r.stdout) == [_ffi.ABI_VERSION, lib]


def test_library_next_to_package_is_found(tmp_path):
    import shutil

    pkg = tmp_path / "site" / "convstore"
    shutil.copytree(os.path.join(PKG_ROOT, "convstore"), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(os.path.realpath(_ffi.library_path()), pkg / f"libconvstore.so.{_ffi.ABI_VERSION}")
    env = {k: v for k, v in os.environ.items() if k != "CONVSTORE_LIBRARY"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    code = "import convstore; print(convstore._ffi.library_path())"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                       cwd=str(tmp_path))
    assert r.stdout.strip() == str(pkg / f"libconvstore.so.{_ffi.ABI_VERSION}")


def test_bad_open_modes_and_paths_are_refused_leaving_no_file(tmp_path):
    with pytest.raises(InvalidArgumentError):
        Store(str(tmp_path / "x.db"), read_only="yes")
    with pytest.raises(InvalidArgumentError):
        Store(str(tmp_path / "x.db"), backup_before_migration="no")
    with pytest.raises(InvalidArgumentError, match="migration_backup_directory"):
        Store(str(tmp_path / "x.db"), migration_backup_directory=tmp_path / "missing")
    with pytest.raises(InvalidArgumentError):
        Store(":memory:", read_only=True)
    with pytest.raises(InvalidArgumentError, match="-journal"):
        Store(str(tmp_path / ("x" * 250)))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "cls, builtin",
    [
        (convstore.InvalidArgumentError, ValueError),
        (convstore.TooLargeError, ValueError),
        (convstore.NotFoundError, LookupError),
        (convstore.BusyError, TimeoutError),
        (convstore.StorageIOError, OSError),
        (convstore.ReadOnlyError, PermissionError),
        (convstore.ClosedError, RuntimeError),
        (convstore.InternalError, RuntimeError),
    ],
)
def test_errors_are_also_the_matching_builtin_exception(cls, builtin):
    e = cls("the message")
    assert isinstance(e, builtin) and isinstance(e, convstore.ConvstoreError)
    assert str(e) == f"{cls.code_name}: the message" and e.message == "the message"


def test_ordinary_handlers_catch_library_failures(tmp_path):
    with convstore.Store(str(tmp_path / "h.db")) as s:
        with pytest.raises(ValueError):
            s.create_conversation("u", temperature=-1)
        with pytest.raises(LookupError):
            s.get_conversation("no-such-conversation")
        try:
            s.get_conversation("no-such-conversation")
        except KeyError:  # a LookupError, but not a KeyError: a missing conversation is not a missing dict key
            raise AssertionError("NotFoundError must not be a KeyError")
        except LookupError as e:
            assert isinstance(e, convstore.NotFoundError)
    with pytest.raises(RuntimeError):
        s.get_conversation("x")  # closed
