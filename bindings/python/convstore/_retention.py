"""The retention methods of Store: how long the store keeps what it holds (docs/operations.md, "Retention").

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/c-api.md.
"""

from __future__ import annotations

import datetime
from ctypes import c_int64

from . import _ffi
from ._codec import dumps
from ._ops import _int, _progress_callback
from .errors import InvalidArgumentError

__all__ = ["RetentionMixin"]

_KINDS = ("conversations_idle_us", "api_usage_us", "metrics_us", "audit_us", "journal_us")


def _age_us(value, name: str):
    """An age as integer microseconds: an int, a datetime.timedelta, or None (keep forever)."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value // datetime.timedelta(microseconds=1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be integer microseconds, a datetime.timedelta or None")
    return value


def _policy(policy: dict) -> dict:
    if not isinstance(policy, dict):
        raise InvalidArgumentError("policy must be a dict of " + ", ".join(_KINDS))
    unknown = set(policy) - set(_KINDS)
    if unknown:
        raise InvalidArgumentError(f"unknown retention kind(s): {sorted(unknown)}")
    return {k: _age_us(policy.get(k), k) for k in _KINDS if k in policy}


class RetentionMixin:
    """Retention methods; mixed into Store (which provides _call and _do)."""

    def set_retention_policy(self, *, conversations_idle_us=None, api_usage_us=None, metrics_us=None,
                             audit_us=None, journal_us=None) -> None:
        """Stores the policy in the file (every process uses it). Each age is integer microseconds or a
        datetime.timedelta (1 second to 100 years); None keeps forever. conversations_idle_us removes whole
        conversations not updated for that long; journal_us is the change journal's age limit. What removed rows
        spent stays in every cost summary, budget and verify_rollups."""
        self._do(_ffi.convstore_set_retention_policy, dumps(_policy({
            "conversations_idle_us": conversations_idle_us, "api_usage_us": api_usage_us, "metrics_us": metrics_us,
            "audit_us": audit_us, "journal_us": journal_us})))

    def retention_policy(self) -> dict:
        """The stored policy: {"conversations_idle_us", "api_usage_us", "metrics_us", "audit_us", "journal_us"}, each
        microseconds or None (kept forever)."""
        return self._call(_ffi.convstore_get_retention_policy)

    def apply_retention(self, *, batch_rows: int = 1000, policy: dict | None = None, progress=None) -> dict:
        """Applies the stored policy (or `policy`, a dict of the same keys, for this run only) now, in write
        transactions of at most batch_rows rows; progress(kind, rows_done, -1) hears each batch. Returns
        {"started_at", "started_at_us", "conversations", "messages", "tool_calls", "tombstones", "api_usage",
        "metrics", "audit_entries", "journal_entries", "batches", "longest_batch_us", "duration_us"}."""
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int):
            raise InvalidArgumentError("batch_rows must be an integer")
        options: dict = {"batch_rows": batch_rows}
        if policy is not None:
            options["policy"] = _policy(policy)
        return self._call(_ffi.convstore_apply_retention, dumps(options), _progress_callback(progress), None)

    def start_retention(self, interval_us) -> None:
        """Applies the stored policy on a background thread of this store at once and then every interval
        (integer microseconds or a datetime.timedelta, at least one second) until stop_retention or close."""
        interval = _age_us(interval_us, "interval_us")
        if interval is None:
            raise InvalidArgumentError("interval_us is required")
        self._do(_ffi.convstore_start_retention, c_int64(_int(interval, "interval_us")))

    def stop_retention(self) -> dict:
        """Stops the thread (waiting for a run in progress); returns retention_status()."""
        return self._call(_ffi.convstore_stop_retention)

    def retention_status(self) -> dict:
        """{"running", "interval_us", "runs", "failed_runs", "last" (the last successful run's report or None),
        "last_error"}."""
        return self._call(_ffi.convstore_retention_status)
