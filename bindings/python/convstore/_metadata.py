"""The metadata-search methods of Store: search, explain, verify, rebuild and excluded paths.

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/metadata.md. Containment follows PostgreSQL's jsonb ``@>`` exactly; ``where`` maps paths
("a.b" or a JSON Pointer "/a.b") to a value (equality) or to operators ``$eq $ne $gt $gte $lt $lte $in $exists``.
"""

from __future__ import annotations

from . import _ffi
from ._codec import Time, dumps, fix_conversation, fix_message, fix_money, request, time_us
from .errors import InvalidArgumentError

__all__ = ["MetadataMixin"]

_TARGETS = ("conversations", "messages", "api_usage")
_MISSING = object()


def _query(target, contains, where, user, conversation_id, from_, to, archived, limit, cursor, scan_limit) -> dict:
    if target not in _TARGETS:
        raise InvalidArgumentError(f"target must be one of {', '.join(_TARGETS)}")
    q = request(target=target, user=user, conversation_id=conversation_id, archived=archived, limit=limit,
                cursor=cursor, scan_limit=scan_limit)
    if contains is not _MISSING:
        q["contains"] = contains  # None is JSON null, which no metadata object contains (as in PostgreSQL)
    if where is not None:
        if not isinstance(where, dict):
            raise InvalidArgumentError("where must be a dict of path -> condition")
        q["where"] = where
    if from_ is not None:
        q["from"] = time_us(from_, "from_")
    if to is not None:
        q["to"] = time_us(to, "to")
    return q


def _fix_items(result: dict) -> dict:
    target = result["target"]
    fix = fix_conversation if target == "conversations" else fix_message if target == "messages" else fix_money
    result["items"] = [fix(item) for item in result["items"]]
    return result


class MetadataMixin:
    """Metadata search methods; mixed into Store (which provides _call)."""

    def search_metadata(self, contains: dict | None = _MISSING, *, where: dict | None = None,
                        target: str = "conversations", user: str | None = None, conversation_id: str | None = None,
                        from_: Time | None = None, to: Time | None = None,
                        archived: bool | None = None, limit: int = 10, cursor: str | None = None,
                        scan_limit: int | None = None) -> dict:
        """Rows whose metadata @> ``contains`` and satisfies every ``where`` condition, newest first.

        Returns {"target", "items": [records], "next_cursor": str | None, "plan": {...}} where plan says which
        posting lists were used, how many candidates were read and verified (see explain_metadata).
        """
        q = _query(target, contains, where, user, conversation_id, from_, to, archived, limit, cursor, scan_limit)
        return _fix_items(self._call(_ffi.convstore_search_metadata, dumps(q)))

    def explain_metadata(self, contains: dict | None = _MISSING, *, where: dict | None = None,
                         target: str = "conversations", user: str | None = None, conversation_id: str | None = None,
                         from_: Time | None = None, to: Time | None = None,
                         archived: bool | None = None, limit: int = 10, cursor: str | None = None,
                         scan_limit: int | None = None) -> dict:
        """Runs the search and returns its plan: {"strategy": "index" | "scan" | "tail" | "empty", "postings":
        [{"path", "value", "count", "role"}], "candidates", "probe_rejected", "verified", "matched",
        "unindexed_checked", "scan_truncated", "notes"}."""
        q = _query(target, contains, where, user, conversation_id, from_, to, archived, limit, cursor, scan_limit)
        return self._call(_ffi.convstore_explain_metadata, dumps(q))

    def verify_metadata_index(self) -> dict:
        """Recomputes the postings from the documents and compares; {"consistent": bool, "missing", "extra",
        "wrong_counts", "documents", "postings", ...}. Read-only."""
        return self._call(_ffi.convstore_verify_metadata_index)

    def rebuild_metadata_index(self) -> dict:
        """Drops and rebuilds the metadata index in one transaction; returns its sizes."""
        return self._call(_ffi.convstore_rebuild_metadata_index)

    def set_metadata_excluded_paths(self, paths: list[str]) -> dict:
        """Leaves these paths (and everything below) out of the index and rebuilds it; [] indexes everything."""
        if isinstance(paths, (str, bytes)) or not all(isinstance(p, str) for p in paths):
            raise InvalidArgumentError("paths must be a list of strings")
        return self._call(_ffi.convstore_set_metadata_excluded_paths, dumps(list(paths)))
