"""Store: the pythonic face of convstore (one SQLite file of AI-agent conversations).

    with Store("agent.db") as s:
        conv = s.create_conversation("engineer@company.com", "BGP Route Analysis")
        s.add_message(conv["id"], "user", "Analyze this BGP config")
        s.add_message(conv["id"], "assistant", "I found 3 issues...", model="claude-sonnet-4-5",
                      tokens_input=1250, tokens_output=890, cost_usd=0.015)
        s.get_conversation(conv["id"])["message_count"]  # 2

Records come back as dicts parsed from the library's JSON (field names as in bindings/c/json_codec.cc).
Money: "cost_usd", "total_cost_usd" and "monthly_budget_usd" are floats for convenience; the exact amounts are
the integer "*_nanousd" fields. Time: "created_at"/"updated_at" are ISO-8601 strings (UTC) and "*_us" integers.

Thread-safety: one Store may be used from any number of threads; calls run without the GIL and without any
Python-side lock (the C handle serialises writes itself). Failures raise convstore.errors exceptions.
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Callable, Optional
from ctypes import byref, c_int64, c_void_p

from . import _ffi
from ._codec import (Money, Time, c_string as _arg, dumps, fix_conversation, fix_message, fix_money, fix_team, loads,
                     message_request, tool_call_requests, raise_error as _raise, time_us, usd)
from ._append import append_many as _append_many, append_one as _append_one
from ._audit import AuditMixin
from ._cost import CostMixin
from ._metadata import MetadataMixin
from ._monitoring import MonitoringMixin
from ._ops import OpsMixin
from ._privacy import PrivacyMixin
from ._retention import RetentionMixin
from ._search import SearchMixin
from ._vectors import VectorMixin
from ._sync import SyncMixin
from .errors import ClosedError, InvalidArgumentError

_log = logging.getLogger("convstore")

__all__ = ["Store"]

_string_at = _ffi._string_at
_free = _ffi.convstore_free
_add_message = _ffi.convstore_add_message



def _close_handle(h, _keep_alive=None) -> None:
    _ffi.convstore_close(h)


def _closed():
    raise ClosedError("store is closed")


class Store(CostMixin, MetadataMixin, OpsMixin, SyncMixin, AuditMixin, MonitoringMixin, RetentionMixin,
            PrivacyMixin, SearchMixin, VectorMixin):
    """An open convstore database. See the module docstring for conventions.

    Every option left as None takes the library's default (docs/c-api.md, "Open and close"); the defaults are
    not restated here.

    Args:
        path: file path, or ":memory:" for a private in-memory store.
        durability: "normal" (WAL, synchronous=NORMAL) or "full" (fsync every commit).
        busy_timeout_ms: how long a write waits for another process's lock before BusyError.
        reader_pool_size: read-only connections for parallel reads of a file store (1..64).
        log_level: "trace", "debug", "info", "warn", "error" or "off".
        slow_operation_ms: operations slower than this are logged at warn level (0 disables).
        create_if_missing: when False, a missing file raises NotFoundError.
        quick_check_on_open: run PRAGMA quick_check at open; a damaged file raises CorruptionError.
        read_only: never write the file (it must exist at this version); writes raise ReadOnlyError. A read-write
            open of a file or directory this process may not write raises ReadOnlyError at once.
        background_indexing: run the background full-text indexer (default True); when False a search indexes
            what waits before it runs, and catch_up_search_index / purge_search_index do the rest.
        background_checkpoints: run the WAL's checkpoints on a thread of their own (default True), so no call
            pays for one; when False the commit that fills 16 MiB of WAL checkpoints in the caller's thread.
        exclusive: hold the file alone from open to close (SQLite's process-exclusive VFS: no -shm file, a
            faster write path) for a deployment where this handle is the file's only user; no other process (the
            convstore command included), handle or tool of this one can open it meanwhile, and reads share the
            writer's connection; checkpoints run in the background as in a shared store. An open while another has
            the file open raises BusyError. Not with read_only. Default False.
        vector_memory_budget_bytes: the most the in-memory copies of embedding spaces may hold (default 4 GiB);
            a space that does not fit is searched from the file, exactly but slower.
        backup_before_migration: before a migration that rewrites data (inspect_store's pending_migrations
            say which), write and verify a backup "<name>.before-schema-<version>-<UTC time>.db"; when it cannot
            be taken the open fails and nothing is migrated. Default True.
        migration_backup_directory: an existing directory for that backup (default: the store's directory).
        on_budget_alert: called with a dict {"budget", "limit": "soft"|"hard", "spent_usd", ...} after a write
            takes a budget across a limit; runs on the writing thread. An exception it raises cannot unwind into
            the library: it is logged (logger "convstore", level ERROR, with its traceback) and the write stands.
        on_progress: called as ``on_progress(operation, done, total)`` while a long operation advances (opening a
            file whose migration backfills, the backup before it, rebuild_metadata_index,
            set_metadata_excluded_paths): at the start, then after each batch of rows. While the open waits for
            another process that is migrating the file it hears ("waiting for another process's schema migration:
            <who, what, since when>", 0, 0). Runs inside the operation's write transaction: it must not call the store.
            An exception it raises is logged as for on_budget_alert.

    Raises:
        SchemaTooNewError, CorruptionError, NotFoundError, StorageIOError, InvalidArgumentError, ReadOnlyError,
        BusyError.
    """

    def __init__(self, path: str = ":memory:", *, durability: str | None = None,
                 busy_timeout_ms: int | None = None, reader_pool_size: int | None = None,
                 log_level: str | None = None, slow_operation_ms: int | None = None,
                 create_if_missing: bool | None = None, quick_check_on_open: bool | None = None,
                 read_only: bool | None = None, background_indexing: bool | None = None,
                 background_checkpoints: bool | None = None, exclusive: bool | None = None,
                 vector_memory_budget_bytes: int | None = None,
                 backup_before_migration: bool | None = None,
                 migration_backup_directory: str | os.PathLike | None = None,
                 on_budget_alert: Optional[Callable[[dict], None]] = None,
                 on_progress: Optional[Callable[[str, int, int], None]] = None):
        self._h = None
        self.path = path
        opts = {k: v for k, v in (("durability", durability), ("busy_timeout_ms", busy_timeout_ms),
                                  ("reader_pool_size", reader_pool_size), ("log_level", log_level),
                                  ("slow_operation_ms", slow_operation_ms),
                                  ("create_if_missing", create_if_missing),
                                  ("quick_check_on_open", quick_check_on_open),
                                  ("read_only", read_only),
                                  ("background_indexing", background_indexing),
                                  ("background_checkpoints", background_checkpoints),
                                  ("exclusive", exclusive),
                                  ("vector_memory_budget_bytes", vector_memory_budget_bytes),
                                  ("backup_before_migration", backup_before_migration),
                                  ("migration_backup_directory",
                                   None if migration_backup_directory is None
                                   else os.fspath(migration_backup_directory))) if v is not None}
        h = _ffi.convstore_p()
        err = c_void_p()
        callbacks = []  # the ctypes trampolines: kept alive as long as the handle that may call them
        if on_budget_alert is None and on_progress is None:
            rc = _ffi.convstore_open(_arg(os.fspath(path)), dumps(opts), byref(h), byref(err))
        else:
            # Trampolines reach the user's callbacks through a weak reference, so a callback that refers to this
            # Store (a bound method of its owner, say) does not keep it alive through the finalizer below.
            self._on_budget_alert, self._on_progress = on_budget_alert, on_progress
            me = weakref.ref(self)

            def on_alert(_user_data, alert_json):
                store = me()
                if store is None:
                    return
                try:
                    store._on_budget_alert(fix_money(loads(alert_json)))
                except Exception:  # noqa: BLE001 - a callback must not unwind into C: report it instead
                    _log.exception("the on_budget_alert callback raised; the write it reports is committed")

            def on_progress_step(_user_data, operation, done, total):
                store = me()
                if store is None:
                    return
                try:
                    store._on_progress(operation.decode(), done, total)
                except Exception:  # noqa: BLE001
                    _log.exception("the on_progress callback raised; the operation goes on")

            handle = _ffi.convstore_options_create()
            if not handle:
                raise MemoryError("convstore_options_create")
            try:
                rc = _ffi.convstore_options_set_json(handle, dumps(opts), byref(err))
                if rc == 0 and on_budget_alert is not None:
                    callbacks.append(_ffi.convstore_budget_alert_fn(on_alert))
                    _ffi.convstore_options_set_budget_alert(handle, callbacks[-1], None)
                if rc == 0 and on_progress is not None:
                    callbacks.append(_ffi.convstore_progress_fn(on_progress_step))
                    _ffi.convstore_options_set_progress(handle, callbacks[-1], None)
                if rc == 0:
                    rc = _ffi.convstore_open_with_options(_arg(os.fspath(path)), handle, byref(h), byref(err))
            finally:
                _ffi.convstore_options_destroy(handle)
        if rc:
            _raise(rc, err)
        self._h = h
        # The handle is freed (convstore_close) once close() has run and no method can still be using it:
        # when this object is collected, or at interpreter exit. See close().
        # The callbacks (if any) ride along so they outlive the handle that may call them.
        self._finalizer = weakref.finalize(self, _close_handle, h, tuple(callbacks))

    # ---- lifecycle ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the store; idempotent. Every later method call raises ClosedError.

        Waits for calls in progress in other threads and closes the database files at once. The C handle
        itself is released with convstore_close when the Store object is collected (immediately after the
        last reference goes, in CPython), so that a thread racing with close() gets ClosedError instead of
        touching freed memory.
        """
        h = self._h
        if h is None:
            return
        self._h = None
        _ffi.convstore_shutdown(h, None)

    def shutdown(self) -> None:
        """Closes the database files but keeps the handle: later calls raise ClosedError. Idempotent."""
        h = self._h
        if h is None:
            return
        err = c_void_p()
        rc = _ffi.convstore_shutdown(h, byref(err))
        if rc:
            _raise(rc, err)

    @property
    def closed(self) -> bool:
        """True after close() (shutdown() alone is only detected by the library)."""
        return self._h is None

    def schema_version(self) -> int:
        """The schema version of the open file (-1 once shut down)."""
        h = self._h
        if h is None:
            _closed()
        return _ffi.convstore_schema_version(h)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<convstore.Store {self.path!r}{' closed' if self._h is None else ''}>"

    # ---- plumbing -------------------------------------------------------------------------------------

    _arg = staticmethod(_arg)

    def _call(self, fn, *args):
        """fn(handle, *args, &out, &err) -> the parsed JSON output."""
        h = self._h
        if h is None:
            _closed()
        out = c_void_p()
        err = c_void_p()
        rc = fn(h, *args, byref(out), byref(err))
        if rc:
            _raise(rc, err)
        p = out.value
        try:
            return loads(_string_at(p))
        finally:
            _free(p)

    def _do(self, fn, *args) -> None:
        """fn(handle, *args, &err) for calls without output."""
        h = self._h
        if h is None:
            _closed()
        err = c_void_p()
        rc = fn(h, *args, byref(err))
        if rc:
            _raise(rc, err)

    # ---- teams and users ------------------------------------------------------------------------------

    def upsert_team(self, key: str, name: str | None = None, monthly_budget_usd: Money | None = None) -> dict:
        """Creates the team or updates the fields given. Returns the team."""
        t = {"key": key}
        if name is not None:
            t["name"] = name
        if monthly_budget_usd is not None:
            t["monthly_budget_usd"] = usd(monthly_budget_usd)
        return fix_team(self._call(_ffi.convstore_upsert_team, dumps(t)))

    def get_team(self, key: str) -> dict:
        """The team with this key, or NotFoundError."""
        return fix_team(self._call(_ffi.convstore_get_team, _arg(key)))

    def upsert_user(self, key: str, email: str | None = None, name: str | None = None, team: str | None = None,
                    role: str | None = None, active: bool | None = None) -> dict:
        """Creates the user or updates the fields given (team: a team key, "" clears). Returns the user."""
        u = {"key": key}
        for k, v in (("email", email), ("name", name), ("team", team), ("role", role), ("active", active)):
            if v is not None:
                u[k] = v
        return self._call(_ffi.convstore_upsert_user, dumps(u))

    def get_user(self, key: str) -> dict:
        """The user with this key, or NotFoundError."""
        return self._call(_ffi.convstore_get_user, _arg(key))

    # ---- conversations --------------------------------------------------------------------------------

    def create_conversation(self, user: str, title: str = "", *, model: str | None = None,
                            system_prompt: str | None = None, temperature: float | None = None,
                            max_tokens: int | None = None, metadata: dict | None = None,
                            created_at: Time | None = None, external_id: str | None = None) -> dict:
        """Creates a conversation (and the user, if new). Returns the record, with "id".

        external_id: your own id for the conversation (an agent framework's session id), unique in the file.
        When a conversation of the same user already has it, that conversation is returned unchanged
        (get-or-create, safe when several processes do it at once); another user's is ConflictError.
        """
        c = {"user": user, "title": title}
        if external_id is not None:
            c["external_id"] = external_id
        if model is not None:
            c["model"] = model
        if system_prompt is not None:
            c["system_prompt"] = system_prompt
        if temperature is not None:
            c["temperature"] = temperature
        if max_tokens is not None:
            c["max_tokens"] = max_tokens
        if metadata is not None:
            c["metadata"] = metadata
        if created_at is not None:
            c["created_at"] = time_us(created_at, "created_at")
        return fix_conversation(self._call(_ffi.convstore_create_conversation, dumps(c)))

    def get_conversation(self, id: str) -> dict:
        """{"conversation": {...}, "messages": [...], "message_count": n}, read from one snapshot."""
        r = self._call(_ffi.convstore_get_conversation, _arg(id))
        fix_conversation(r["conversation"])
        for m in r["messages"]:
            fix_message(m)
        return r

    def get_conversation_info(self, id: str) -> dict:
        """The conversation record alone, with its counters."""
        return fix_conversation(self._call(_ffi.convstore_get_conversation_info, _arg(id)))

    def update_conversation(self, id: str, *, title: str | None = None, metadata: dict | None = None) -> dict:
        """Sets the title and/or replaces the metadata document. Returns the updated record."""
        p = {}
        if title is not None:
            p["title"] = title
        if metadata is not None:
            p["metadata"] = metadata
        return fix_conversation(self._call(_ffi.convstore_update_conversation, _arg(id), dumps(p)))

    def archive(self, id: str) -> None:
        """Archives the conversation (hidden from list_conversations unless include_archived)."""
        self._do(_ffi.convstore_set_archived, _arg(id), 1)

    def unarchive(self, id: str) -> None:
        """Undoes archive()."""
        self._do(_ffi.convstore_set_archived, _arg(id), 0)

    def delete_conversation(self, id: str) -> None:
        """Deletes the conversation, its messages and their tool calls."""
        self._do(_ffi.convstore_delete_conversation, _arg(id))

    def list_conversations(self, user: str, limit: int = 20, include_archived: bool = False,
                           cursor: str | None = None) -> dict:
        """One page of the user's conversations, most recently updated first.

        Returns {"items": [...], "next_cursor": str | None}; pass next_cursor back for the next page.
        """
        q = {"user": user, "limit": limit, "include_archived": include_archived}
        if cursor is not None:
            q["cursor"] = cursor
        r = self._call(_ffi.convstore_list_conversations, dumps(q))
        for c in r["items"]:
            fix_conversation(c)
        return r

    # ---- messages -------------------------------------------------------------------------------------

    def add_message(self, conversation_id: str, role: str, content: str, *, model: str | None = None,
                    model_version: str | None = None, tokens_input: int | None = None,
                    tokens_output: int | None = None, tokens_cached_input: int | None = None,
                    tokens_cache_write: int | None = None, tokens_reasoning: int | None = None,
                    cost_usd: Money | None = None, cost_nanousd: int | None = None, latency_us: int | None = None,
                    metadata: dict | None = None, request_id: str | None = None,
                    created_at: Time | None = None, tool_call_id: str | None = None, raw: object = None,
                    tool_calls: list[dict] | None = None) -> dict:
        """Appends a message (role: user, assistant, system, developer (stored as system) or tool). Returns the
        stored message.

        A request_id seen before returns the message stored then and counts nothing twice. cost_usd may be a
        float, int, Decimal or decimal string; cost_nanousd is the exact integer alternative. tool_call_id (tool
        messages only) names the call the message answers: the provider's call id a tool call of this conversation
        recorded (call_id), or that tool call's id; a call still pending is finished by it (status success, output
        the content). raw: your own item (any JSON value), kept and returned as given. tool_calls: calls this
        message makes (dicts with add_tool_call's keyword names), recorded with it in one transaction; the result's
        "tool_calls" lists them. A deleted message's request_id is ConflictError.
        """
        h = self._h
        if h is None:
            _closed()
        if (model_version is None and tokens_cached_input is None and tokens_cache_write is None
                and tokens_reasoning is None and cost_usd is None and metadata is None and request_id is None
                and created_at is None and tool_call_id is None and raw is None and tool_calls is None):
            # The common message: scalars across the C ABI, no JSON either way (None: a value only the JSON path
            # can judge).
            added = _append_one(h, conversation_id, _arg(conversation_id), role, content, model, tokens_input,
                                tokens_output, cost_nanousd, latency_us)
            if added is not None:
                return added
        m = {"role": role, "content": content}
        if model is not None:
            m["model"] = model
        if model_version is not None:
            m["model_version"] = model_version
        if tokens_input is not None:
            m["tokens_input"] = tokens_input
        if tokens_output is not None:
            m["tokens_output"] = tokens_output
        if tokens_cached_input is not None:
            m["tokens_cached_input"] = tokens_cached_input
        if tokens_cache_write is not None:
            m["tokens_cache_write"] = tokens_cache_write
        if tokens_reasoning is not None:
            m["tokens_reasoning"] = tokens_reasoning
        if cost_usd is not None:
            m["cost_usd"] = usd(cost_usd)
        if cost_nanousd is not None:
            m["cost_nanousd"] = cost_nanousd
        if latency_us is not None:
            m["latency_us"] = latency_us
        if metadata is not None:
            m["metadata"] = metadata
        if request_id is not None:
            m["request_id"] = request_id
        if created_at is not None:
            m["created_at"] = time_us(created_at, "created_at")
        if tool_call_id is not None:
            m["tool_call_id"] = tool_call_id
        if raw is not None:
            m["raw"] = raw
        if tool_calls is not None:
            m["tool_calls"] = tool_call_requests(tool_calls)
        out = c_void_p()
        err = c_void_p()
        rc = _add_message(h, _arg(conversation_id), dumps(m), byref(out), byref(err))
        if rc:
            _raise(rc, err)
        p = out.value
        try:
            return fix_message(loads(_string_at(p)))
        finally:
            _free(p)

    def add_messages(self, conversation_id: str, messages: list[dict]) -> list[dict]:
        """Appends several messages (dicts with add_message's keyword names), all or nothing."""
        h = self._h
        if h is None:
            _closed()
        if type(messages) is list:
            added = _append_many(h, conversation_id, _arg(conversation_id), messages)
            if added is not None:
                return added
        body = dumps([message_request(m) for m in messages])
        return [fix_message(m) for m in self._call(_ffi.convstore_add_messages, _arg(conversation_id), body)]

    def get_context(self, conversation_id: str, max_tokens: int, *, include_system: bool = True,
                    overflow: str = "stop", counting: str = "stored") -> list[dict]:
        """A context window, oldest first, like LangChain's trim_messages(strategy="last", include_system=True).

        The conversation's system prompt (a first message with role "system", id "" and position -1) and every
        system message are kept and counted first (even when they alone exceed max_tokens; include_system=False
        lets them compete like the others). Then the newest messages that fit in what is left: a message and the
        tool messages after it (a tool call's results) are kept or dropped together. overflow="stop" (default)
        stops at the first such unit that does not fit, so the result is the newest contiguous run; "skip" leaves
        it out and keeps looking at older ones. counting="stored" counts tokens_output for assistant messages and
        tokens_input for the others (ceil(UTF-8 bytes / 4) when unset); "estimate" counts every message by bytes.
        """
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not -(2**63) <= max_tokens < 2**63:
            raise InvalidArgumentError("max_tokens must be a 64-bit integer")
        options = {"max_tokens": max_tokens, "include_system": include_system, "overflow": overflow,
                   "counting": counting}
        out = self._call(_ffi.convstore_get_context_with_options, _arg(conversation_id), dumps(options))
        return [fix_message(m) for m in out]

    def get_last_messages(self, conversation_id: str, count: int) -> list[dict]:
        """The newest `count` (1..1000) messages, oldest first."""
        if not isinstance(count, int) or isinstance(count, bool) or not -(2**63) <= count < 2**63:
            raise InvalidArgumentError("count must be a 64-bit integer")
        return [fix_message(m) for m in self._call(_ffi.convstore_get_last_messages, _arg(conversation_id), count)]

    def add_agent_items(self, conversation_id: str, items: list, usage: dict | None = None) -> int:
        """Appends OpenAI Agents SDK items (Responses API input items) as messages, all or nothing; returns how
        many. Each item is kept whole (get_items returns it) and understood: a message's role and text, a
        function_call as a pending tool call with its call_id, a function_call_output as a tool message finishing
        that call, reasoning as assistant text. usage: {"model", "input_tokens", "output_tokens",
        "cached_input_tokens", "reasoning_tokens"} (any may be left out), recorded on the first assistant item."""
        n = c_int64()
        self._do(_ffi.convstore_add_agent_items, _arg(conversation_id), dumps(items),
                 None if usage is None else dumps(usage), byref(n))
        return n.value

    def import_history(self, source: str, format: str, *, user: str | None = None) -> dict:
        """Imports another tool's history file, which is opened read-only and left untouched: format
        "agents-sdk" (an Agents SDK SQLiteSession file: each session becomes the conversation AgentSession opens
        for its id) or "aidatabase-v1" (a file of the reference design's V1 class). Each conversation is one
        transaction; one imported before is skipped, so an interrupted import is finished by running it again.
        Returns {"conversations", "messages", "skipped_conversations", "skipped_rows"}."""
        o = {"source": os.fspath(source), "format": format}
        if user is not None:
            o["user"] = user
        return self._call(_ffi.convstore_import_history, dumps(o))

    def get_items(self, conversation_id: str, limit: int | None = None) -> list:
        """The conversation's items, oldest first: each message's raw item as given, or {"role", "content"} for a
        message stored without one. limit: the newest `limit` (1..1000); None for all. One call, one decode."""
        if limit is None:
            limit = 0
        elif not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise InvalidArgumentError("limit must be an int from 1 to 1000, or None")
        return self._call(_ffi.convstore_get_items, _arg(conversation_id), limit)

    # ---- removing and correcting history -------------------------------------------------------------
    # Each runs in one transaction with the conversation's message_count and the metadata index. Money spent
    # stays spent: a deleted message leaves a tombstone (time, model, role, tokens, cost, request_id; no content)
    # that cost summaries and budgets go on counting, and the conversation's totals keep it. Positions are not
    # reused, so they have gaps after a delete.

    def delete_message(self, message_id: str) -> dict:
        """Deletes one message (and its tool calls); returns it as it was."""
        return fix_message(self._call(_ffi.convstore_delete_message, _arg(message_id)))

    def pop_message(self, conversation_id: str) -> dict | None:
        """Deletes and returns the newest message; None when the conversation has none."""
        m = self._call(_ffi.convstore_pop_message, _arg(conversation_id))
        return None if m is None else fix_message(m)

    def clear_messages(self, conversation_id: str) -> int:
        """Deletes every message of the conversation (which stays, with its metadata); returns how many."""
        n = c_int64()
        self._do(_ffi.convstore_clear_messages, _arg(conversation_id), byref(n))
        return n.value

    _UNCHANGED = object()

    def edit_message(self, message_id: str, *, content: str | None = None, metadata: dict | None = None,
                     raw: object = _UNCHANGED) -> dict:
        """Corrects a message: its content, its metadata document (replaced whole) and/or its raw item (None
        removes it). Tokens, cost and time are what was spent and are not edited. Returns the message."""
        e = {}
        if content is not None:
            e["content"] = content
        if metadata is not None:
            e["metadata"] = metadata
        if raw is not Store._UNCHANGED:
            e["raw"] = raw
        return fix_message(self._call(_ffi.convstore_edit_message, _arg(message_id), dumps(e)))

    # ---- tool calls -----------------------------------------------------------------------------------

    def add_tool_call(self, message_id: str, tool_name: str, *, input: object = None, output: object = None,
                      duration_us: int | None = None, status: str = "success", error_message: str | None = None,
                      created_at: Time | None = None, call_id: str | None = None) -> dict:
        """Records a tool call of a message. input/output: any JSON-serialisable value. call_id: the provider's id
        of the call (OpenAI's call_id, Anthropic's tool_use_id), unique in the conversation. Returns the record."""
        t = {"tool_name": tool_name, "status": status}
        if call_id is not None:
            t["call_id"] = call_id
        if input is not None:
            t["input"] = input
        if output is not None:
            t["output"] = output
        if duration_us is not None:
            t["duration_us"] = duration_us
        if error_message is not None:
            t["error_message"] = error_message
        if created_at is not None:
            t["created_at"] = time_us(created_at, "created_at")
        return self._call(_ffi.convstore_add_tool_call, _arg(message_id), dumps(t))

    def list_tool_calls(self, message_id: str) -> list[dict]:
        """The message's tool calls in insertion order."""
        return self._call(_ffi.convstore_list_tool_calls, _arg(message_id))

    _NO_OUTPUT = object()

    def update_tool_call(self, tool_call_id: str, status: str, *, output: object = _NO_OUTPUT,
                         error_message: str | None = None, duration_us: int | None = None) -> dict:
        """Finishes a pending tool call: status "success" or "error", with its output (any JSON value; None
        clears it), error message and duration. A finished call is final: ConflictError, unless the update repeats
        the first exactly (a retry), which returns the call."""
        u = {"status": status}
        if output is not Store._NO_OUTPUT:
            u["output"] = output
        if error_message is not None:
            u["error_message"] = error_message
        if duration_us is not None:
            u["duration_us"] = duration_us
        return self._call(_ffi.convstore_update_tool_call, _arg(tool_call_id), dumps(u))
