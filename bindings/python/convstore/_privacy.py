"""The erasure methods of Store: erasing a person from the store (docs/privacy.md).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/c-api.md.
"""

from __future__ import annotations

from . import _ffi

__all__ = ["PrivacyMixin"]


class PrivacyMixin:
    """Erasure methods; mixed into Store (which provides _call and _arg)."""

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
