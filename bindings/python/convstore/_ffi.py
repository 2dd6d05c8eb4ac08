"""Low-level ctypes mirror of the C ABI in bindings/c/include/convstore/convstore.h.

One Python name per C function (``convstore_open``, ``convstore_add_message``, ...), declared once in a table
with its argtypes and restype, the ``CONVSTORE_*`` result codes and log levels, the callback types, and the opaque
handle type ``convstore_p``. Nothing here is pythonic: strings are ``bytes`` (UTF-8), out-parameters are
``ctypes.byref(c_void_p())``, and every returned ``char*`` (out_json / errmsg) must be released with
:func:`take_string` (or ``convstore_free``).

Library lookup, first match wins:
  1. the path in the environment variable ``CONVSTORE_LIBRARY`` (and nothing else when it is set);
  2. a ``libconvstore.so*`` next to this package;
  3. the installed prefix: ``cmake --install`` writes the library directory into ``_install.py`` beside this file;
  4. the dynamic loader, by the library's versioned name ``libconvstore.so.<ABI_VERSION>`` (``LD_LIBRARY_PATH``,
     the loader cache, the system library directories).
No path of the source tree is looked at. The loaded library must report ``convstore_abi_version() == ABI_VERSION``.
"""

from __future__ import annotations

import ctypes
import glob
import os
from ctypes import POINTER, c_char_p, c_double, c_float, c_int, c_int64, c_size_t, c_void_p

ABI_VERSION = 5
_PACKAGE_VERSION = "0.1.0"  # the library version this package was written with (convstore.__version__)

CONVSTORE_OK = 0
CONVSTORE_INVALID_ARGUMENT = 1
CONVSTORE_NOT_FOUND = 2
CONVSTORE_CONFLICT = 3
CONVSTORE_BUSY = 4
CONVSTORE_IO_ERROR = 5
CONVSTORE_CORRUPTION = 6
CONVSTORE_CLOSED = 7
CONVSTORE_SCHEMA_TOO_NEW = 8
CONVSTORE_TOO_LARGE = 9
CONVSTORE_INTERNAL = 10
CONVSTORE_BUDGET_EXCEEDED = 11
CONVSTORE_READ_ONLY = 12
CONVSTORE_UNAVAILABLE = 13

CONVSTORE_LOG_TRACE = 0
CONVSTORE_LOG_DEBUG = 1
CONVSTORE_LOG_INFO = 2
CONVSTORE_LOG_WARN = 3
CONVSTORE_LOG_ERROR = 4

# void (*convstore_log_fn)(void* user_data, int level, const char* message)
convstore_log_fn = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)
# void (*convstore_budget_alert_fn)(void* user_data, const char* alert_json)
convstore_budget_alert_fn = ctypes.CFUNCTYPE(None, c_void_p, c_char_p)
# void (*convstore_progress_fn)(void* user_data, const char* operation, int64_t done, int64_t total)
convstore_progress_fn = ctypes.CFUNCTYPE(None, c_void_p, c_char_p, c_int64, c_int64)
# int (*convstore_write_fn)(void* user_data, const char* data, size_t size)
convstore_write_fn = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
# int64_t (*convstore_read_fn)(void* user_data, char* buffer, size_t capacity)
convstore_read_fn = ctypes.CFUNCTYPE(c_int64, c_void_p, c_void_p, c_size_t)


class convstore_t(ctypes.Structure):
    """Opaque ``struct convstore_t``; only ever used through :data:`convstore_p`."""


convstore_p = POINTER(convstore_t)
_out = POINTER(c_void_p)  # char** whose result is malloc'd by the library: read as c_void_p, then free
_i64p = POINTER(c_int64)
_strs = POINTER(c_char_p)  # const char* const*


class LibraryNotFoundError(OSError):
    """libconvstore could not be found or loaded, or has the wrong ABI version."""


_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


def _candidates() -> list[str]:
    env = os.environ.get("CONVSTORE_LIBRARY")
    if env:
        return [env]  # an explicit choice: do not silently fall back to another copy
    found = sorted(glob.glob(os.path.join(_PKG_DIR, "libconvstore.so*")), key=len)
    soname = f"libconvstore.so.{ABI_VERSION}"
    try:
        from ._install import LIBRARY_DIR  # written by cmake --install
    except ImportError:
        pass
    else:
        found.append(os.path.join(LIBRARY_DIR, soname))
    found.append(soname)  # no directory: the dynamic loader searches its own path
    return found


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise LibraryNotFoundError(
        "cannot load libconvstore; tried: " + ("; ".join(tried) or "nothing")
        + ". Install it (cmake --install), add its directory to LD_LIBRARY_PATH, or set "
        "CONVSTORE_LIBRARY=/path/to/libconvstore.so"
    )


def _declare(lib: ctypes.CDLL) -> dict:
    """Sets each C function's prototype (the one table naming them) and returns them by name."""
    sigs = {
        # library
        "convstore_version": ([], c_char_p),
        "convstore_version_number": ([], c_int),
        "convstore_abi_version": ([], c_int),
        "convstore_code_name": ([c_int], c_char_p),
        "convstore_free": ([c_void_p], None),
        "convstore_parse_time": ([c_char_p, POINTER(c_int64), _out], c_int),
        "convstore_set_log_handler": ([convstore_log_fn, c_void_p], None),
        # open / close
        "convstore_open": ([c_char_p, c_char_p, POINTER(convstore_p), _out], c_int),
        "convstore_shutdown": ([convstore_p, _out], c_int),
        "convstore_close": ([convstore_p], None),
        "convstore_schema_version": ([convstore_p], c_int),
        # teams and users
        "convstore_upsert_team": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_get_team": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_upsert_user": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_get_user": ([convstore_p, c_char_p, _out, _out], c_int),
        # conversations
        "convstore_create_conversation": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_get_conversation": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_get_conversation_info": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_update_conversation": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_set_archived": ([convstore_p, c_char_p, c_int, _out], c_int),
        "convstore_delete_conversation": ([convstore_p, c_char_p, _out], c_int),
        "convstore_list_conversations": ([convstore_p, c_char_p, _out, _out], c_int),
        # messages
        "convstore_add_message": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_add_messages": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_append_message": ([convstore_p, c_char_p, c_char_p, c_char_p, c_int64, c_char_p, c_int64, c_int64,
                                      c_int64, c_int64, c_char_p, _i64p, _i64p, _i64p, _i64p, _out], c_int),
        "convstore_append_messages": ([convstore_p, c_char_p, c_int64, _strs, _strs, _i64p, _strs, _i64p, _i64p,
                                       _i64p, _i64p, c_char_p, _i64p, _i64p, _i64p, _i64p, _out], c_int),
        "convstore_get_context": ([convstore_p, c_char_p, c_int64, _out, _out], c_int),
        "convstore_get_context_with_options": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_get_last_messages": ([convstore_p, c_char_p, c_int64, _out, _out], c_int),
        "convstore_add_agent_items": ([convstore_p, c_char_p, c_char_p, c_char_p, POINTER(c_int64), _out], c_int),
        "convstore_import_history": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_get_items": ([convstore_p, c_char_p, c_int64, _out, _out], c_int),
        "convstore_delete_message": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_pop_message": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_clear_messages": ([convstore_p, c_char_p, POINTER(c_int64), _out], c_int),
        "convstore_edit_message": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        # tool calls
        "convstore_add_tool_call": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_list_tool_calls": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_update_tool_call": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        # cost accounting
        "convstore_add_price": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_list_prices": ([convstore_p, _out, _out], c_int),
        "convstore_resolve_price": ([convstore_p, c_char_p, c_int64, _out, _out], c_int),
        "convstore_reprice": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_record_api_usage": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_cost_summary": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_group_costs": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_usage_stats": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_cost_report": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_team_spend": ([convstore_p, c_char_p, c_int, _out, _out], c_int),
        "convstore_verify_rollups": ([convstore_p, _out, _out], c_int),
        "convstore_rebuild_rollups": ([convstore_p, _out, _out], c_int),
        "convstore_set_budget": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_delete_budget": ([convstore_p, c_char_p, _out], c_int),
        "convstore_get_budgets": ([convstore_p, c_double, _out, _out], c_int),
        "convstore_reserve": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_settle": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_release": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_search_metadata": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_explain_metadata": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_verify_metadata_index": ([convstore_p, _out, _out], c_int),
        "convstore_rebuild_metadata_index": ([convstore_p, _out, _out], c_int),
        "convstore_set_metadata_excluded_paths": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_read_journal": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_journal_status": ([convstore_p, _out, _out], c_int),
        "convstore_set_journal_enabled": ([convstore_p, c_int, _out], c_int),
        "convstore_set_journal_retention": ([convstore_p, c_char_p, _out], c_int),
        "convstore_prune_journal": ([convstore_p, _out, _out], c_int),
        "convstore_set_journal_consumer": ([convstore_p, c_char_p, c_int64, _out], c_int),
        "convstore_remove_journal_consumer": ([convstore_p, c_char_p, _out], c_int),
        "convstore_backup": ([convstore_p, c_char_p, convstore_progress_fn, c_void_p, _out, _out], c_int),
        "convstore_optimize": ([convstore_p, c_char_p, convstore_progress_fn, c_void_p, _out, _out], c_int),
        "convstore_verify_backup": ([c_char_p, c_char_p, _out, _out], c_int),
        "convstore_restore_backup": ([c_char_p, c_char_p, c_char_p, convstore_progress_fn, c_void_p, _out, _out],
                                     c_int),
        "convstore_describe_journal": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_inspect_store": ([c_char_p, _out, _out], c_int),
        "convstore_check_store": ([c_char_p, _out, _out], c_int),
        "convstore_list_backups": ([c_char_p, _out, _out], c_int),
        "convstore_prune_backups": ([c_char_p, c_int64, _out, _out], c_int),
        "convstore_prune_archive": ([c_char_p, c_int64, _out, _out], c_int),
        "convstore_archive_now": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_start_archiving": ([convstore_p, c_char_p, _out], c_int),
        "convstore_stop_archiving": ([convstore_p, _out, _out], c_int),
        "convstore_archiving_status": ([convstore_p, _out, _out], c_int),
        "convstore_list_archive": ([c_char_p, _out, _out], c_int),
        "convstore_sync_to_postgres": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_start_sync": ([convstore_p, c_char_p, _out], c_int),
        "convstore_stop_sync": ([convstore_p, _out, _out], c_int),
        "convstore_sync_status": ([convstore_p, _out, _out], c_int),
        "convstore_use_global_budgets": ([convstore_p, c_char_p, _out], c_int),
        "convstore_set_global_budget": ([convstore_p, c_char_p, _out], c_int),
        "convstore_delete_global_budget": ([convstore_p, c_char_p, _out], c_int),
        "convstore_global_budgets": ([convstore_p, _out, _out], c_int),
        "convstore_set_audit_context": ([convstore_p, c_char_p, _out], c_int),
        "convstore_log_event": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_read_audit": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_verify_audit": ([convstore_p, _out, _out], c_int),
        "convstore_audit_checkpoint": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_verify_audit_checkpoint": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_audit_keypair": ([_out, _out], c_int),
        "convstore_record_metric": ([convstore_p, c_char_p, _out], c_int),
        "convstore_record_metrics": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_query_metrics": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_stats": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_reset_stats": ([convstore_p, _out], c_int),
        "convstore_set_stats_enabled": ([convstore_p, c_int, _out], c_int),
        "convstore_check_health": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_search_text": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_search_status": ([convstore_p, _out, _out], c_int),
        "convstore_catch_up_search_index": ([convstore_p, _out, _out], c_int),
        "convstore_purge_search_index": ([convstore_p, _out, _out], c_int),
        "convstore_rebuild_search_index": ([convstore_p, _out, _out], c_int),
        "convstore_verify_search_index": ([convstore_p, _out, _out], c_int),
        "convstore_set_text_tokenizer": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_set_background_indexing": ([convstore_p, c_int, _out], c_int),
        "convstore_create_embedding_space": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_list_embedding_spaces": ([convstore_p, _out, _out], c_int),
        "convstore_drop_embedding_space": ([convstore_p, c_char_p, _out], c_int),
        "convstore_put_embeddings": ([convstore_p, c_char_p, c_char_p, POINTER(c_float), c_int64, _out], c_int),
        "convstore_delete_embedding": ([convstore_p, c_char_p, c_char_p, POINTER(c_int), _out], c_int),
        "convstore_get_embedding": ([convstore_p, c_char_p, c_char_p, POINTER(c_void_p), POINTER(c_int64), _out],
                                    c_int),
        "convstore_search_vectors": ([convstore_p, c_char_p, POINTER(c_float), c_int64, _out, _out], c_int),
        "convstore_search_hybrid": ([convstore_p, c_char_p, POINTER(c_float), c_int64, _out, _out], c_int),
        "convstore_set_vector_memory_budget": ([convstore_p, c_int64, _out], c_int),
        "convstore_create_vector_index": ([convstore_p, c_char_p, c_char_p, _out, _out], c_int),
        "convstore_drop_vector_index": ([convstore_p, c_char_p, POINTER(c_int), _out], c_int),
        "convstore_set_retention_policy": ([convstore_p, c_char_p, _out], c_int),
        "convstore_get_retention_policy": ([convstore_p, _out, _out], c_int),
        "convstore_apply_retention": ([convstore_p, c_char_p, convstore_progress_fn, c_void_p, _out, _out], c_int),
        "convstore_start_retention": ([convstore_p, c_int64, _out], c_int),
        "convstore_stop_retention": ([convstore_p, _out, _out], c_int),
        "convstore_retention_status": ([convstore_p, _out, _out], c_int),
        "convstore_erase_user": ([convstore_p, c_char_p, _out, _out], c_int),
        "convstore_list_erasures": ([convstore_p, _out, _out], c_int),
        "convstore_finish_erasures": ([convstore_p, _out, _out], c_int),
        "convstore_export_user": ([convstore_p, c_char_p, c_char_p, convstore_write_fn, convstore_progress_fn, c_void_p,
                                   _out, _out], c_int),
        "convstore_import_user": ([convstore_p, c_char_p, convstore_read_fn, convstore_progress_fn, c_void_p, _out, _out],
                                  c_int),
        "convstore_restore_to_point": ([c_char_p, c_char_p, c_char_p, convstore_progress_fn, c_void_p, _out, _out],
                                       c_int),
        # options handle
        "convstore_options_create": ([], c_void_p),
        "convstore_options_destroy": ([c_void_p], None),
        "convstore_options_set_json": ([c_void_p, c_char_p, _out], c_int),
        "convstore_options_set_budget_alert": ([c_void_p, convstore_budget_alert_fn, c_void_p], None),
        "convstore_options_set_progress": ([c_void_p, convstore_progress_fn, c_void_p], None),
        "convstore_open_with_options": ([c_char_p, c_void_p, POINTER(convstore_p), _out], c_int),
    }
    functions = {}
    for name, (argtypes, restype) in sigs.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:  # an older build of the same ABI version, from before the function was added
            raise LibraryNotFoundError(
                f"{lib._name} lacks {name}: it is older than this package (needs convstore {_PACKAGE_VERSION} or "
                "later); point CONVSTORE_LIBRARY at a matching libconvstore.so"
            ) from None
        fn.argtypes = argtypes
        fn.restype = restype
        functions[name] = fn
    return functions


lib = _load()
# The ABI first: a library of another ABI version may lack functions this package declares.
lib.convstore_abi_version.argtypes, lib.convstore_abi_version.restype = [], c_int
if lib.convstore_abi_version() != ABI_VERSION:
    raise LibraryNotFoundError(
        f"{lib._name} has ABI version {lib.convstore_abi_version()}, this package needs {ABI_VERSION}; "
        "point CONVSTORE_LIBRARY at a matching libconvstore.so"
    )
# Each C function becomes a module attribute of the same name (_ffi.convstore_open, ...), with its prototype set.
globals().update(_declare(lib))


_string_at = ctypes.string_at


def take_string(p: c_void_p) -> bytes | None:
    """Copies a library-allocated ``char*`` (held in a c_void_p) into bytes and frees it. NULL gives None."""
    addr = p.value
    if addr is None:
        return None
    try:
        return _string_at(addr)
    finally:
        convstore_free(addr)


def library_path() -> str:
    """The path (or soname) the library was loaded from."""
    return lib._name
