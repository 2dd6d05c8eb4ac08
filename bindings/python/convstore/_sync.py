"""The sync methods of Store: streaming the store into PostgreSQL (docs/sync.md).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/sync.md.
"""

from __future__ import annotations

from . import _ffi
from ._codec import Money, dumps, fix_money, money_field, request
from .errors import InvalidArgumentError

__all__ = ["SyncMixin"]


def _sync_options(postgres, schema, interval_ms, batch_entries, label) -> bytes:
    if not isinstance(postgres, str) or not postgres:
        raise InvalidArgumentError("postgres must be a non-empty str: a libpq connection string or URI")
    o = {"postgres": postgres}
    for name, value in (("schema", schema), ("label", label)):
        if value is not None:
            if not isinstance(value, str):
                raise InvalidArgumentError(f"{name} must be a str")
            o[name] = value
    for name, value in (("interval_ms", interval_ms), ("batch_entries", batch_entries)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgumentError(f"{name} must be an integer")
            if not -(2**63) <= value < 2**63:
                raise InvalidArgumentError(f"{name} is out of the 64-bit integer range")
            o[name] = value
    return dumps(o)


class SyncMixin:
    """Sync methods; mixed into Store (which provides _call and _do)."""

    def sync_to_postgres(self, postgres: str, *, schema: str | None = None, batch_entries: int | None = None,
                         label: str | None = None) -> dict:
        """One sync round into PostgreSQL on the calling thread: creates (or checks) the tables in `schema`
        (default "public"), loads the whole store when PostgreSQL lacks its current history, then applies every
        journal entry committed so far, each batch in one PostgreSQL transaction with the store's position.

        postgres: a libpq connection string or URI ("postgresql://sync@db/agents"); keep passwords in ~/.pgpass or
        PGPASSWORD. Returns {"store_id", "loaded", "load_reason", "rows_loaded", "entries_applied",
        "changes_applied", "dead_letters", "position", "position_committed_at", "pending_entries", "lag_us"}.
        Raises UnavailableError when PostgreSQL cannot be reached, InvalidArgumentError for a bad connection string
        or a refused login, SchemaTooNewError for newer tables, ConflictError for tables convstore did not create
        or a journal that is off, BusyError while another process syncs this store into the same database."""
        return self._call(_ffi.convstore_sync_to_postgres,
                          _sync_options(postgres, schema, None, batch_entries, label))

    def start_sync(self, postgres: str, *, schema: str | None = None, interval_ms: int | None = None,
                   batch_entries: int | None = None, label: str | None = None) -> None:
        """Syncs on a background thread of this store every interval_ms (default 250; backing off up to 30 s
        after failures, so a restarted PostgreSQL is picked up again) until stop_sync or close."""
        self._do(_ffi.convstore_start_sync, _sync_options(postgres, schema, interval_ms, batch_entries, label))

    def stop_sync(self) -> dict:
        """Syncs what is left, stops the thread and returns the totals of its rounds."""
        return self._call(_ffi.convstore_stop_sync)

    def sync_status(self) -> dict:
        """{"running", "postgres", "rounds", "failed_rounds", "consecutive_failures", "last_error",
        "last_success_at", "totals"}."""
        return self._call(_ffi.convstore_sync_status)

    def use_global_budgets(self, postgres: str, *, schema: str | None = None, when_unreachable: str | None = None,
                           local_allowance_usd: Money | None = None, local_allowance_nanousd: int | None = None) -> None:
        """From now on this handle's reserve() also admits against the global budgets covering the call, atomically
        in PostgreSQL (BudgetExceededError naming the budget), and settle() / release() record there.
        when_unreachable: "refuse" (default: UnavailableError, the store's own reservation released) or
        "local_allowance" (admit up to the allowance in all while PostgreSQL cannot be reached; recorded in its
        ledger once it is back)."""
        if not isinstance(postgres, str) or not postgres:
            raise InvalidArgumentError("postgres must be a non-empty str: a libpq connection string or URI")
        o = request(postgres=postgres, schema=schema, when_unreachable=when_unreachable)
        money_field(o, "local_allowance", local_allowance_usd, local_allowance_nanousd)
        self._do(_ffi.convstore_use_global_budgets, dumps(o))

    def set_global_budget(self, name: str, scope: str, period: str, *, scope_key: str | None = None,
                          window_hours: int | None = None, hard_limit_usd: Money | None = None,
                          soft_limit_usd: Money | None = None, hard_limit_nanousd: int | None = None,
                          soft_limit_nanousd: int | None = None) -> None:
        """Creates or replaces a global budget (as set_budget; scope keys are the keys every store uses)."""
        b = request(name=name, scope=scope, scope_key=scope_key, period=period, window_hours=window_hours)
        money_field(b, "hard_limit", hard_limit_usd, hard_limit_nanousd)
        money_field(b, "soft_limit", soft_limit_usd, soft_limit_nanousd)
        self._do(_ffi.convstore_set_global_budget, dumps(b))

    def delete_global_budget(self, name: str) -> None:
        self._do(_ffi.convstore_delete_global_budget, self._arg(name))

    def global_budgets(self) -> list[dict]:
        """Every global budget with its window and the fleet's settled and reserved spend in it."""
        return fix_money(self._call(_ffi.convstore_global_budgets))
