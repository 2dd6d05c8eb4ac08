"""The privacy methods of Store: erasing a person, and exporting and importing everything about them
(docs/privacy.md).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/c-api.md.
"""

from __future__ import annotations

import ctypes
import io
import os

from . import _ffi
from ._codec import dumps
from ._ops import _progress_callback
from .errors import InvalidArgumentError

__all__ = ["PrivacyMixin"]


class PrivacyMixin:
    """Erasure, export and import methods; mixed into Store (which provides _call and _arg)."""

    def erase_user(self, user_key: str) -> dict:
        """Erases the user with this key (GDPR Art. 17): their conversations, messages, tool calls, API usage,
        budgets and reservations go; their spend stays, counted under "erased:<pseudonym>"; audit entries about them
        lose their personal fields; the journal, the WAL and the archive are cleaned. Returns {"pseudonym",
        "user_key", "conversations", "messages", "tool_calls", "tombstones", "api_usage", "budgets",
        "reservations", "audit_entries_stripped", "journal_entries_rewritten", "archive_files_removed", "pending",
        "duration_us"}; "pending" lists, in words, what could not be done yet (finish_erasures does it later)."""
        return self._call(_ffi.convstore_erase_user, self._arg(user_key))

    def erasures(self) -> list[dict]:
        """Every erasure, oldest first: {"id", "pseudonym", "erased_at", "erased_at_us", "finished_at" (None while
        pending), "pending"}."""
        return self._call(_ffi.convstore_list_erasures)["erasures"]

    def finish_erasures(self) -> list[dict]:
        """Tries the pending steps again (also done when a store opens); returns the erasures still unfinished."""
        return self._call(_ffi.convstore_finish_erasures)["erasures"]

    def export_user(self, user_key: str, dest, *, progress=None) -> dict:
        """Exports everything about the user (GDPR Art. 15 and 20) as JSON Lines ("convstore-user-export/1"), read
        from one snapshot: their conversations with messages, tool calls and deleted messages, API usage, budgets
        and the audit entries about them. `dest` is a path (the file must not exist; it is created 0600 and
        appears whole) or a file object opened for writing (binary or text). progress(phase, done, total) hears the
        rows written. Returns {"path", "user_key", "pseudonym", "counts", "cost_usd", "cost_nanousd", "bytes",
        "duration_us"}."""
        key = self._arg(user_key)
        if isinstance(dest, (str, bytes, os.PathLike)):
            return self._call(_ffi.convstore_export_user, key, dumps({"path": os.fsdecode(dest)}),
                              _ffi.convstore_write_fn(), _progress_callback(progress), None)
        write = getattr(dest, "write", None)
        if not callable(write):
            raise InvalidArgumentError("dest must be a path or a file object with write()")
        text = isinstance(dest, io.TextIOBase)

        def sink(data, size):
            chunk = ctypes.string_at(data, size)
            write(chunk.decode("utf-8") if text else chunk)
            return 0

        return self._call_with_callback(_ffi.convstore_export_user, _ffi.convstore_write_fn, sink, 1, key, b"{}",
                                        progress=progress)

    def import_user(self, src, *, progress=None) -> dict:
        """Imports a user export (a path, or a file object opened for reading, binary or text) in one transaction:
        all of it or nothing. An erased user's row of the same person is taken up again and the spend it kept moves
        back to the imported rows, so spend is counted once; the audit entries in the export are not replayed (the
        store writes one "user.imported" entry). Returns {"user_key", "pseudonym", "restored_erased_user",
        "counts", "cost_usd", "cost_nanousd", "cost_from_retained_usd", "cost_from_retained_nanousd",
        "duration_us"}. Raises ConflictError when the user, an id or a budget name is in the store already, and
        InvalidArgumentError (naming the line) for a damaged or truncated export."""
        if isinstance(src, (str, bytes, os.PathLike)):
            return self._call(_ffi.convstore_import_user, dumps({"path": os.fsdecode(src)}), _ffi.convstore_read_fn(),
                              _progress_callback(progress), None)
        read = getattr(src, "read", None)
        if not callable(read):
            raise InvalidArgumentError("src must be a path or a file object with read()")
        text = isinstance(src, io.TextIOBase)
        pending = bytearray()

        def source(buffer, capacity):
            while not pending:
                chunk = read(max(1, capacity // 4) if text else capacity)
                if not chunk:
                    return 0
                pending.extend(chunk.encode("utf-8") if text else chunk)
            n = min(capacity, len(pending))
            ctypes.memmove(buffer, bytes(pending[:n]), n)
            del pending[:n]
            return n

        return self._call_with_callback(_ffi.convstore_import_user, _ffi.convstore_read_fn, source, -1, b"{}",
                                        progress=progress)

    def _call_with_callback(self, fn, callback_type, body, stop, *args_before, progress):
        """fn(handle, *args_before, callback, progress, NULL, &out, &err) where the C callback runs body(...) and
        returns `stop` when body raises; the exception is raised again once the C call returns."""
        failure = []

        def callback(_user_data, *args):
            try:
                return body(*args)
            except BaseException as e:  # noqa: BLE001 - raised again after the C call returns
                failure.append(e)
                return stop

        c_callback = callback_type(callback)
        try:
            return self._call(fn, *args_before, c_callback, _progress_callback(progress), None)
        except Exception:
            if failure:
                raise failure[0] from None
            raise
