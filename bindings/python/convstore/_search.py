"""The full-text search methods of Store: messages by their content and conversations by their title, ranked by
bm25, with filters applied before the limit (docs/search.md).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/search.md.
"""

from __future__ import annotations

from . import _ffi
from ._codec import Time, c_string, dumps, time_us
from .errors import InvalidArgumentError

__all__ = ["SearchMixin"]

_SYNTAXES = ("plain", "query")
_TARGETS = ("messages", "conversations")
_TOKENIZERS = ("words", "trigram", "none")


def add_filter(q: dict, user, team, conversation_id, role, model, from_, to, metadata_contains, metadata_where):
    """Adds a search filter's fields that are given to the request ``q`` (full-text and vector searches)."""
    for k, v in (("user", user), ("team", team), ("conversation_id", conversation_id), ("role", role),
                 ("model", model), ("metadata_where", metadata_where)):
        if v is not None:
            q[k] = v
    if metadata_contains is not None:
        q["metadata_contains"] = metadata_contains
    if from_ is not None:
        q["from"] = time_us(from_, "from_")
    if to is not None:
        q["to"] = time_us(to, "to")


class SearchMixin:
    """Full-text search methods; mixed into Store (which provides _call and _do)."""

    def search_text(self, text: str, *, syntax: str = "plain", target: str = "messages", user: str | None = None,
                    team: str | None = None, conversation_id: str | None = None, role: str | None = None,
                    model: str | None = None, from_: Time | None = None, to: Time | None = None,
                    metadata_contains=None, metadata_where: dict | None = None, limit: int = 10,
                    snippet_tokens: int = 16, highlight: tuple[str, str] = ("[", "]"), ellipsis: str = "…",
                    wait_for_index: bool = True) -> dict:
        """Messages (or, with target="conversations", conversations by title) matching ``text``, best first.

        syntax="plain" (the default) takes any text: every word must appear, nothing is read as syntax;
        syntax="query" is FTS5's syntax ("a phrase", prefix*, AND / OR / NOT, NEAR(a b, 5)), and a malformed query
        raises InvalidArgumentError. Filters (user, team, conversation_id, role, model, from_/to on created_at,
        metadata_contains / metadata_where as in search_metadata) apply before the limit, so ``limit`` hits come
        back whenever that many match; an unknown user, team or conversation finds nothing.

        Returns {"hits": [{"message_id" (None for a conversation), "conversation_id", "conversation_title", "user",
        "role", "model", "content", "snippet", "score" (bm25, higher is better), "created_at", "created_at_us"}],
        "unindexed": rows written but not yet searchable (0 unless wait_for_index=False or the store is read-only)}.
        """
        if syntax not in _SYNTAXES:
            raise InvalidArgumentError(f"syntax must be one of {_SYNTAXES}")
        if target not in _TARGETS:
            raise InvalidArgumentError(f"target must be one of {_TARGETS}")
        if not isinstance(wait_for_index, bool):
            raise InvalidArgumentError("wait_for_index must be a bool")
        if not (isinstance(highlight, (tuple, list)) and len(highlight) == 2):
            raise InvalidArgumentError("highlight must be a pair of strings (start, end)")
        q = {"text": text, "syntax": syntax, "target": target, "limit": limit, "snippet_tokens": snippet_tokens,
             "highlight_start": highlight[0], "highlight_end": highlight[1], "ellipsis": ellipsis,
             "wait_for_index": wait_for_index}
        add_filter(q, user, team, conversation_id, role, model, from_, to, metadata_contains, metadata_where)
        return self._call(_ffi.convstore_search_text, dumps(q))

    def search_status(self) -> dict:
        """{"tokenizer", "messages_indexed", "messages_pending", "conversations_indexed", "conversations_pending",
        "purge_pending", "index_bytes"}."""
        return self._call(_ffi.convstore_search_status)

    def catch_up_search_index(self) -> dict:
        """Indexes every row not yet indexed, now (a background thread does it shortly after each write anyway).
        Returns {"status", "rows_indexed", "purge_steps", "ok", "problems"}."""
        return self._call(_ffi.convstore_catch_up_search_index)

    def purge_search_index(self) -> dict:
        """Merges the index until no removed text (deleted or edited messages, erased users) is left in its pages."""
        return self._call(_ffi.convstore_purge_search_index)

    def rebuild_search_index(self) -> dict:
        """Empties the index and indexes every row again (after another program changed the rows, say)."""
        return self._call(_ffi.convstore_rebuild_search_index)

    def verify_search_index(self) -> dict:
        """Compares the index with the rows: {"ok": bool, "problems": [str], ...}. A read-write store."""
        return self._call(_ffi.convstore_verify_search_index)

    def set_background_indexing(self, enabled: bool) -> None:
        """This handle's background indexer on (the default) or off; off, searches still index what is pending
        before they run, and catch_up_search_index / purge_search_index do it on demand."""
        if not isinstance(enabled, bool):
            raise InvalidArgumentError("enabled must be a bool")
        self._do(_ffi.convstore_set_background_indexing, 1 if enabled else 0)

    def set_text_tokenizer(self, tokenizer: str) -> dict:
        """"words" (the default: whole words, case and accents folded), "trigram" (substrings, any script) or
        "none" (no index); rebuilds the index with it. The choice is the file's."""
        if tokenizer not in _TOKENIZERS:
            raise InvalidArgumentError(f"tokenizer must be one of {_TOKENIZERS}")
        return self._call(_ffi.convstore_set_text_tokenizer, c_string(tokenizer, "tokenizer"))
