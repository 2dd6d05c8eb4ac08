"""The cost-accounting methods of Store: prices, API usage, summaries, rollup checks, budgets, reservations.

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the
records documented in docs/c-api.md#costs. Money in results: "*_usd" floats for convenience, "*_nanousd" exact
integers. Money in arguments: "*_usd" as str / int / Decimal / float (rounded half-even to the nano-USD), or the
exact "*_nanousd" integers. Times: aware datetime, ISO-8601 strings with an offset, float seconds or integer microseconds (convstore.Time).
"""

from __future__ import annotations

import time

from . import _ffi
from ._codec import Money, Time, dumps, fix_money, money_field, request, time_us, time_us_int
from .errors import InvalidArgumentError

__all__ = ["CostMixin"]


def _usage_request(fields: dict) -> dict:
    r = request(**{k: v for k, v in fields.items() if k not in ("cost_usd", "cost_nanousd")})
    money_field(r, "cost", fields.get("cost_usd"), fields.get("cost_nanousd"))
    return r


def _filter(days, from_, to, user, team, model, conversation_id, source, utc_offset_minutes) -> dict:
    f = request(days=None if from_ is not None else days, user=user, team=team, model=model,
                conversation_id=conversation_id, source=source, utc_offset_minutes=utc_offset_minutes)
    if from_ is not None:
        f["from"] = time_us(from_, "from_")
    if to is not None:
        f["to"] = time_us(to, "to")
    return f


class CostMixin:
    """Cost engine methods; mixed into Store (which provides _call, _do and _arg)."""

    # ---- prices -----------------------------------------------------------------------------------------

    def add_price(self, model: str, *, input_per_mtok_usd: Money | None = None,
                  output_per_mtok_usd: Money | None = None, input_per_mtok_nanousd: int | None = None,
                  output_per_mtok_nanousd: int | None = None, cached_input_per_mtok_usd: Money | None = None,
                  cache_write_per_mtok_usd: Money | None = None, reasoning_per_mtok_usd: Money | None = None,
                  pattern: bool = False, effective_from: Time | None = None, source_date: str | None = None,
                  note: str | None = None) -> dict:
        """Adds a user price per million tokens (overrides the shipped catalog for that model). Returns it.

        pattern=True makes `model` a GLOB pattern ("claude-sonnet-4-5*"). Existing costs change only through
        reprice().
        """
        p = request(model=model, pattern=pattern, effective_from=effective_from, source_date=source_date,
                    note=note)
        money_field(p, "input_per_mtok", input_per_mtok_usd, input_per_mtok_nanousd)
        money_field(p, "output_per_mtok", output_per_mtok_usd, output_per_mtok_nanousd)
        money_field(p, "cached_input_per_mtok", cached_input_per_mtok_usd, None)
        money_field(p, "cache_write_per_mtok", cache_write_per_mtok_usd, None)
        money_field(p, "reasoning_per_mtok", reasoning_per_mtok_usd, None)
        return fix_money(self._call(_ffi.convstore_add_price, dumps(p)))

    def list_prices(self) -> list[dict]:
        """Every price, shipped catalog ("origin": "catalog") and user ("user")."""
        return fix_money(self._call(_ffi.convstore_list_prices))

    def resolve_price(self, model: str, at: Time | None = None) -> dict:
        """The price in effect for model at `at` (default now); NotFoundError when none applies."""
        at_us = time_us_int(at, "at") if at is not None else time.time_ns() // 1000
        if not -(2**63) <= at_us < 2**63:
            raise InvalidArgumentError(f"at is {at_us}; it is outside the range of a 64-bit integer")
        return fix_money(self._call(_ffi.convstore_resolve_price, self._arg(model), at_us))

    def reprice(self, from_: Time, to: Time) -> dict:
        """Recomputes catalog-priced costs recorded in [from_, to); counters and rollups follow."""
        return fix_money(self._call(_ffi.convstore_reprice, dumps({"from": time_us(from_, "from_"), "to": time_us(to, "to")})))

    # ---- API usage ----------------------------------------------------------------------------------------

    def record_api_usage(self, user: str, model: str, *, team: str | None = None,
                         conversation_id: str | None = None, endpoint: str | None = None,
                         tokens_input: int | None = None, tokens_output: int | None = None,
                         tokens_cached_input: int | None = None, tokens_cache_write: int | None = None,
                         tokens_reasoning: int | None = None, cost_usd: Money | None = None,
                         cost_nanousd: int | None = None, latency_us: int | None = None, status: str | None = None,
                         error_code: str | None = None, error_message: str | None = None,
                         metadata: dict | None = None, request_id: str | None = None,
                         recorded_at: Time | None = None) -> dict:
        """Records one API call (the reference design's api_usage row). Without a cost, it is priced from the catalog.

        team defaults to the user's team ("" for none). A request_id seen before returns the first record.
        """
        fields = dict(locals())
        del fields["self"]
        return fix_money(self._call(_ffi.convstore_record_api_usage, dumps(_usage_request(fields))))

    # ---- summaries ----------------------------------------------------------------------------------------

    def cost_summary(self, *, days: int = 7, from_: Time | None = None, to: Time | None = None,
                     user: str | None = None, team: str | None = None, model: str | None = None,
                     conversation_id: str | None = None, source: str | None = None,
                     utc_offset_minutes: int | None = None) -> dict:
        """The reference design's cost summary: daily_breakdown (newest first), total_cost, total_messages, ...

        source: "all" (default: messages and API usage, what budgets count), "message" or "api". Read from the rollups: O(days), whatever the store size.
        """
        f = _filter(days, from_, to, user, team, model, conversation_id, source, utc_offset_minutes)
        return fix_money(self._call(_ffi.convstore_cost_summary, dumps(f)))

    def group_costs(self, group_by: list[str], *, days: int = 7, from_: Time | None = None, to: Time | None = None,
                    user: str | None = None, team: str | None = None, model: str | None = None,
                    conversation_id: str | None = None, source: str | None = None,
                    utc_offset_minutes: int | None = None) -> dict:
        """Totals grouped by 1..4 of day, week, month, user, team, model, role, endpoint, status, source."""
        if isinstance(group_by, str):
            group_by = [group_by]
        q = _filter(days, from_, to, user, team, model, conversation_id, source, utc_offset_minutes)
        q["group_by"] = list(group_by)
        return fix_money(self._call(_ffi.convstore_group_costs, dumps(q)))

    def usage_stats(self, *, days: int = 7, from_: Time | None = None, to: Time | None = None,
                    user: str | None = None, team: str | None = None, model: str | None = None,
                    source: str | None = None, utc_offset_minutes: int | None = None) -> list[dict]:
        """Per user x model: calls, errors, tokens, cost, avg and p50/p95/p99 latency (µs)."""
        f = _filter(days, from_, to, user, team, model, None, source, utc_offset_minutes)
        return fix_money(self._call(_ffi.convstore_usage_stats, dumps(f)))

    def team_spend(self, team: str, lookback_days: int = 30) -> dict:
        """Month-to-date spend against the team's monthly budget, with month-end, monthly and annual projections."""
        if not isinstance(lookback_days, int) or not -(2**31) <= lookback_days < 2**31:
            raise InvalidArgumentError("lookback_days must be an integer")
        return fix_money(self._call(_ffi.convstore_team_spend, self._arg(team), lookback_days))

    def cost_report(self, *, top: int = 10, lookback_days: int = 30, days: int = 7, from_: Time | None = None,
                    to: Time | None = None, user: str | None = None, team: str | None = None,
                    model: str | None = None, source: str | None = None,
                    utc_offset_minutes: int | None = None) -> dict:
        """Everything a cost report shows, from one snapshot (docs/costs.md, "Cost report"): "summary" (as
        cost_summary), "daily_by_model" (as group_costs(["day", "model"])), "models" (largest total first),
        "top_users" and "top_teams" (the largest `top` groups by cost), "users_with_spend", "teams_with_spend",
        "team_budgets" (as team_spend, for every team with a monthly budget or spend this month) and
        "latency_by_model" (calls, avg and p50/p95/p99 latency in µs per model)."""
        f = _filter(days, from_, to, user, team, model, None, source, utc_offset_minutes)
        for name, value in (("top", top), ("lookback_days", lookback_days)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgumentError(f"{name} must be an integer")
        f["top"] = top
        f["lookback_days"] = lookback_days
        return fix_money(self._call(_ffi.convstore_cost_report, dumps(f)))

    def verify_rollups(self) -> dict:
        """Recomputes the rollups from the raw rows and reports differences (nothing is changed)."""
        return self._call(_ffi.convstore_verify_rollups)

    def rebuild_rollups(self) -> dict:
        """Recomputes the rollups from the raw rows and replaces them, in one transaction."""
        return self._call(_ffi.convstore_rebuild_rollups)

    # ---- budgets ------------------------------------------------------------------------------------------

    def set_budget(self, name: str, scope: str, period: str, *, scope_key: str | None = None,
                   window_hours: int | None = None, hard_limit_usd: Money | None = None,
                   soft_limit_usd: Money | None = None, hard_limit_nanousd: int | None = None,
                   soft_limit_nanousd: int | None = None) -> dict:
        """Creates or updates a budget: scope "global" | "team" | "user", period "day" | "week" | "month" |
        "rolling" (window_hours). Returns its current state."""
        b = request(name=name, scope=scope, scope_key=scope_key, period=period, window_hours=window_hours)
        money_field(b, "hard_limit", hard_limit_usd, hard_limit_nanousd)
        money_field(b, "soft_limit", soft_limit_usd, soft_limit_nanousd)
        return fix_money(self._call(_ffi.convstore_set_budget, dumps(b)))

    def delete_budget(self, name: str) -> None:
        self._do(_ffi.convstore_delete_budget, self._arg(name))

    def get_budgets(self, min_used_fraction: float = 0.0) -> list[dict]:
        """Budgets with (spent + reserved) / limit >= min_used_fraction (0: all): the alerts query."""
        try:
            fraction = float(min_used_fraction)
        except (TypeError, ValueError):
            raise InvalidArgumentError("min_used_fraction must be a number") from None
        return fix_money(self._call(_ffi.convstore_get_budgets, fraction))

    def reserve(self, request_id: str, user: str, estimated_cost_usd: Money | None = None, *,
                estimated_cost_nanousd: int | None = None, ttl_us: int | None = None) -> dict:
        """Admits a call estimated at estimated_cost or raises BudgetExceededError (nothing written)."""
        r = request(request_id=request_id, user=user, ttl_us=ttl_us)
        money_field(r, "estimated_cost", estimated_cost_usd, estimated_cost_nanousd)
        return fix_money(self._call(_ffi.convstore_reserve, dumps(r)))

    def settle(self, request_id: str, model: str, *, user: str | None = None, team: str | None = None,
               conversation_id: str | None = None, endpoint: str | None = None, tokens_input: int | None = None,
               tokens_output: int | None = None, tokens_cached_input: int | None = None,
               tokens_cache_write: int | None = None, tokens_reasoning: int | None = None,
               cost_usd: Money | None = None, cost_nanousd: int | None = None, latency_us: int | None = None,
               status: str | None = None, error_code: str | None = None, error_message: str | None = None,
               metadata: dict | None = None, recorded_at: Time | None = None) -> dict:
        """Records the reserved call's actual usage and closes the reservation. Returns the usage record."""
        fields = dict(locals())
        del fields["self"], fields["request_id"]
        body = dumps(_usage_request(fields))
        return fix_money(self._call(_ffi.convstore_settle, self._arg(request_id), body))

    def release(self, request_id: str) -> dict:
        """Closes an open reservation without usage (the call was not made)."""
        return fix_money(self._call(_ffi.convstore_release, self._arg(request_id)))
