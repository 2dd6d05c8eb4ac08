"""The operations methods of Store: the change journal (read it as a stream, its status, on/off, retention,
consumers).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/operations.md.
"""

from __future__ import annotations

import logging
import os
from ctypes import byref, c_int, c_int64, c_void_p

from . import _ffi
from ._codec import Time, dumps, loads, raise_error, time_us
from .errors import InvalidArgumentError

__all__ = ["OpsMixin", "verify_backup", "restore_backup", "list_archive", "restore_to_point", "inspect_store",
           "check_store", "list_backups", "prune_backups", "prune_archive"]

_log = logging.getLogger("convstore")


def _progress_callback(progress):
    """A C progress callback calling progress(phase, done, total) (a NULL one for None); exceptions are logged, not
    raised."""
    if progress is None:
        return _ffi.convstore_progress_fn()
    if not callable(progress):
        raise InvalidArgumentError("progress must be callable (phase, done, total)")

    def step(_user_data, phase, done, total):
        try:
            progress(phase.decode(), done, total)
        except Exception:  # noqa: BLE001
            _log.exception("the progress callback raised; the operation goes on")

    return _ffi.convstore_progress_fn(step)


def _key(encryption_key):
    if encryption_key is None:
        return None
    if not isinstance(encryption_key, str):
        raise InvalidArgumentError("encryption_key must be a str of 64 hex characters")
    return encryption_key.encode()


def _free_call(fn, *args) -> dict:
    """fn(*args, &out, &err) for the calls that need no store -> the parsed JSON output."""
    out = c_void_p()
    err = c_void_p()
    rc = fn(*args, byref(out), byref(err))
    if rc:
        raise_error(rc, err)
    try:
        return loads(_ffi._string_at(out.value))
    finally:
        _ffi.convstore_free(out.value)


def verify_backup(path, *, encryption_key: str | None = None) -> dict:
    """Checks a backup without trusting it: {"ok", "problems": [str], "manifest": {...}}. A damaged backup is
    ok=False with the problems named; a missing or wrong key raises InvalidArgumentError."""
    return _free_call(_ffi.convstore_verify_backup, os.fspath(path).encode(), _key(encryption_key))


def restore_backup(backup, target, *, encryption_key: str | None = None, progress=None) -> dict:
    """Verifies the backup, then replaces (or creates) the store at `target` atomically. Raises BusyError while
    any process has `target` open, CorruptionError for a backup that does not verify. Returns {"path",
    "duration_us", "manifest"}."""
    callback = _progress_callback(progress)
    return _free_call(_ffi.convstore_restore_backup, os.fspath(backup).encode(), os.fspath(target).encode(),
                      _key(encryption_key), callback, None)


def inspect_store(path) -> dict:
    """A store file's facts without opening it as a store (nothing migrated or written): {"schema_version",
    "library_schema_version", "pending_migrations": [{"version", "name", "rewrites_data"}], "migration_in_progress"
    ("" or who is migrating the file now), "file_bytes", "wal_bytes", "page_size", "page_count", "freelist_pages", "row_counts", "cost_usd", "journal"}."""
    return _free_call(_ffi.convstore_inspect_store, os.fspath(path).encode())


def check_store(path) -> dict:
    """Checks a store file (integrity, schema, cost rollups, metadata index) while writers go on: {"ok",
    "schema_version", "problems": [str]}."""
    return _free_call(_ffi.convstore_check_store, os.fspath(path).encode())


def list_backups(directory) -> list[dict]:
    """The backups in a directory, oldest first: [{"path", "present", "manifest"}]."""
    return _free_call(_ffi.convstore_list_backups, os.fspath(directory).encode())


def prune_backups(directory, *, keep_s: int) -> int:
    """Removes the directory's backups taken more than keep_s seconds ago (never the newest); returns how many."""
    return _free_call(_ffi.convstore_prune_backups, os.fspath(directory).encode(), c_int64(_int(keep_s, "keep_s")))["removed"]


def prune_archive(directory, *, keep_s: int) -> int:
    """Applies an archive's retention now: every instant of the last keep_s seconds stays restorable; returns how
    many files it removed. Raises BusyError while an archiver holds the directory."""
    return _free_call(_ffi.convstore_prune_archive, os.fspath(directory).encode(), c_int64(_int(keep_s, "keep_s")))["removed"]


def list_archive(directory) -> dict:
    """The generations of an archive directory, their base backups and how far each restores: {"directory",
    "encrypted", "created_at", "generations": [{"id", "created_at", "base_backups": [...], "segments",
    "segment_bytes", "first_seq", "last_seq", "last_committed_at", "problems"}]}."""
    return _free_call(_ffi.convstore_list_archive, os.fspath(directory).encode())


def restore_to_point(archive, target, *, to_time: Time | None = None, to_seq: int | None = None,
                     generation: str | None = None, encryption_key: str | None = None, progress=None) -> dict:
    """Rebuilds the store at `target` as of the last commit at or before `to_time` (inclusive), or up to journal
    entry `to_seq` (exactly one), from an archive directory; atomically, as restore_backup. Returns {"path",
    "generation", "base_backup", "base_seq", "seq", "committed_at", "entries_replayed", "changes_replayed",
    "archive_last_seq", "archive_last_at", "duration_us"}."""
    o = {}
    if to_time is not None:
        o["to_time"] = time_us(to_time, "to_time")
    if to_seq is not None:
        o["to_seq"] = _int(to_seq, "to_seq")
    if generation is not None:
        o["generation"] = generation
    if encryption_key is not None:
        _key(encryption_key)
        o["encryption_key"] = encryption_key
    callback = _progress_callback(progress)
    return _free_call(_ffi.convstore_restore_to_point, os.fspath(archive).encode(), os.fspath(target).encode(),
                      dumps(o), callback, None)


def _archive_options(directory, encryption_key, interval_ms, base_backup_interval_s, keep_s) -> bytes:
    o = {"directory": os.fspath(directory), "interval_ms": _int(interval_ms, "interval_ms"),
         "base_backup_interval_s": _int(base_backup_interval_s, "base_backup_interval_s")}
    if keep_s is not None:
        o["keep_s"] = _int(keep_s, "keep_s")
    if encryption_key is not None:
        _key(encryption_key)
        o["encryption_key"] = encryption_key
    return dumps(o)


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} must be an integer")
    if not -(2**63) <= value < 2**63:
        raise InvalidArgumentError(f"{what} is out of the 64-bit integer range")
    return value


class OpsMixin:
    """Change-journal methods; mixed into Store (which provides _call, _do and _arg)."""

    def read_journal(self, after_seq: int = 0, *, since: Time | None = None, until: Time | None = None,
                     limit: int = 100, decode: bool = True) -> list[dict]:
        """Journal entries with seq > after_seq (and committed in [since, until] when given), in sequence order:
        [{"seq", "committed_at", "committed_at_us", "kind", "schema_version", "bytes", "changes": [{"table",
        "op": "insert" | "update" | "delete", "key", "old", "new"}]}]. kind is "changes" or a marker
        ("foreign_write", "journal_off", "journal_on", "schema_migration", "restored")."""
        q = {"after_seq": _int(after_seq, "after_seq"), "limit": _int(limit, "limit"), "decode": bool(decode)}
        if since is not None:
            q["since"] = time_us(since, "since")
        if until is not None:
            q["until"] = time_us(until, "until")
        return self._call(_ffi.convstore_read_journal, dumps(q))

    def describe_journal(self, after_seq: int = 0, *, since: Time | None = None, until: Time | None = None,
                         limit: int = 100) -> list[dict]:
        """The entries in words: [{"seq", "committed_at", "kind", "lines": ["deleted conversation … (12
        messages)", ...]}] — what changed since a time."""
        q = {"after_seq": _int(after_seq, "after_seq"), "limit": _int(limit, "limit")}
        if since is not None:
            q["since"] = time_us(since, "since")
        if until is not None:
            q["until"] = time_us(until, "until")
        return self._call(_ffi.convstore_describe_journal, dumps(q))

    def journal_changes(self, after_seq: int = 0, *, batch: int = 1000):
        """Every entry after after_seq, read in batches: a generator for following the journal to its end."""
        while True:
            entries = self.read_journal(after_seq, limit=batch)
            yield from entries
            if len(entries) < batch:
                return
            after_seq = entries[-1]["seq"]

    def journal_status(self) -> dict:
        """{"enabled", "entries", "first_seq", "last_seq", "oldest_at", "newest_at", "bytes", "markers",
        "last_marker_seq", "retention": {"max_age_us", "max_bytes"}, "consumers": [{"name", "seq",
        "updated_at"}]}."""
        return self._call(_ffi.convstore_journal_status)

    def set_journal_enabled(self, enabled: bool) -> None:
        """Turns the journal on or off for every process writing the file; each switch leaves a marker entry."""
        if not isinstance(enabled, bool):
            raise InvalidArgumentError("enabled must be a bool")
        self._do(_ffi.convstore_set_journal_enabled, c_int(1 if enabled else 0))

    def set_journal_retention(self, *, max_age_us: int | None = None, max_bytes: int | None = None) -> None:
        """Keeps the retention in the file (None: no limit); prune_journal applies it."""
        r = {"max_age_us": None if max_age_us is None else _int(max_age_us, "max_age_us"),
             "max_bytes": None if max_bytes is None else _int(max_bytes, "max_bytes")}
        self._do(_ffi.convstore_set_journal_retention, dumps(r))

    def prune_journal(self) -> dict:
        """Removes entries beyond the retention, never one a consumer has not read nor the newest one:
        {"removed", "bytes_removed", "first_seq"}."""
        return self._call(_ffi.convstore_prune_journal)

    def set_journal_consumer(self, name: str, seq: int) -> None:
        """Records that reader `name` has read up to `seq`; retention keeps every entry after it."""
        self._do(_ffi.convstore_set_journal_consumer, self._arg(name), c_int64(_int(seq, "seq")))

    def remove_journal_consumer(self, name: str) -> None:
        self._do(_ffi.convstore_remove_journal_consumer, self._arg(name))

    def backup(self, path, *, encryption_key: str | None = None, progress=None) -> dict:
        """A consistent copy of the store at `path` (which must not exist) while writers go on, with
        "<path>.manifest.json" beside it, both 0600; encrypted with AES-256-GCM when encryption_key (64 hex
        characters) is given. progress(phase, done, total) hears the copy, checksum and encryption in bytes.
        Returns {"path", "manifest_path", "manifest": {...}}."""
        o = {"path": os.fspath(path)}
        if encryption_key is not None:
            if not isinstance(encryption_key, str):
                raise InvalidArgumentError("encryption_key must be a str of 64 hex characters")
            o["encryption_key"] = encryption_key
        callback = _progress_callback(progress)
        return self._call(_ffi.convstore_backup, dumps(o), callback, None)

    def optimize(self, *, vacuum: bool = False, progress=None) -> dict:
        """Maintenance: updates the planner's statistics, gives free pages back to the file system, checkpoints and
        empties the WAL; vacuum=True first rewrites the whole file (converting an older file to incremental
        auto-vacuum; writers wait meanwhile; progress(phase, done, total) hears it). Returns {"bytes_before",
        "bytes_after", "free_pages_before", "free_pages_after", "pages_released", "vacuumed", "auto_vacuum",
        "wal_frames_checkpointed", "wal_truncated", "duration_us"}."""
        if not isinstance(vacuum, bool):
            raise InvalidArgumentError("vacuum must be True or False")
        return self._call(_ffi.convstore_optimize, dumps({"vacuum": vacuum}), _progress_callback(progress), None)

    def archive_now(self, directory, *, encryption_key: str | None = None, base_backup_interval_s: int = 86400,
                    keep_s: int | None = None) -> dict:
        """One archiving round into `directory` (created 0700 when missing): a base backup when needed, the journal
        entries not yet shipped, retention. Returns {"generation", "new_generation", "base_backup_taken",
        "entries_shipped", "segments_written", "bytes_written", "files_removed", "archived_seq", "archived_at"}.
        Raises BusyError while another process archives into the directory."""
        return self._call(_ffi.convstore_archive_now,
                          _archive_options(directory, encryption_key, 1000, base_backup_interval_s, keep_s))

    def start_archiving(self, directory, *, encryption_key: str | None = None, interval_ms: int = 1000,
                        base_backup_interval_s: int = 86400, keep_s: int | None = None) -> None:
        """Archives on a background thread of this store every interval_ms until stop_archiving or close."""
        self._do(_ffi.convstore_start_archiving,
                 _archive_options(directory, encryption_key, interval_ms, base_backup_interval_s, keep_s))

    def stop_archiving(self) -> dict:
        """Ships what is left, stops the thread and returns the totals of its rounds."""
        return self._call(_ffi.convstore_stop_archiving)

    def archiving_status(self) -> dict:
        """{"running", "directory", "rounds", "failed_rounds", "last_error", "totals"}."""
        return self._call(_ffi.convstore_archiving_status)
