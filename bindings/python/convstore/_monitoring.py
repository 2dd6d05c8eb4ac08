"""The metrics, statistics and health methods of Store: a time series of measurements in the store, the store's
own statistics of its operations, and its health checks (docs/monitoring.md).

A mixin (kept apart from store.py so each file has one concern); every method is one C call around the records
documented in docs/monitoring.md.
"""

from __future__ import annotations

import math

from . import _ffi
from ._codec import Time, dumps, time_us
from .errors import InvalidArgumentError

__all__ = ["MonitoringMixin"]

_BUCKETS = ("none", "minute", "hour", "day")


def _point(type, name, value, unit, labels, at) -> dict:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError("value must be a number")
    if not math.isfinite(value):
        raise InvalidArgumentError("value must be a finite number")
    p = {"type": type, "name": name, "value": float(value)}
    if unit is not None:
        p["unit"] = unit
    if labels is not None:
        p["labels"] = labels
    if at is not None:
        p["at"] = time_us(at, "at")
    return p


class MonitoringMixin:
    """Metrics and statistics methods; mixed into Store (which provides _call and _do)."""

    def record_metric(self, type: str, name: str, value: float, *, unit: str | None = None,
                      labels: dict | None = None, at: Time | None = None) -> None:
        """Records one measurement (the seed's metrics row): type ("latency", "tokens", ...), name
        ("api.request_ms"), a finite value, a unit, flat labels ({"model": "gpt-4o", "region": "eu"}) and when it
        was measured (default now)."""
        self._do(_ffi.convstore_record_metric, dumps(_point(type, name, value, unit, labels, at)))

    def record_metrics(self, points) -> int:
        """Records many in one transaction (all or nothing): an iterable of dicts with the keys of record_metric
        ("type", "name", "value", "unit"?, "labels"?, "at"?), or of (type, name, value) tuples."""
        batch = []
        for p in points:
            if isinstance(p, dict):
                unknown = set(p) - {"type", "name", "value", "unit", "labels", "at"}
                if unknown:
                    raise InvalidArgumentError(f"unknown point field(s): {sorted(unknown)}")
                batch.append(_point(p.get("type"), p.get("name"), p.get("value"), p.get("unit"), p.get("labels"),
                                    p.get("at")))
            else:
                type, name, value = p
                batch.append(_point(type, name, value, None, None, None))
        return self._call(_ffi.convstore_record_metrics, dumps(batch))["recorded"]

    def query_metrics(self, name: str, *, start: Time, end: Time, type: str | None = None,
                      labels: dict | None = None, bucket: str = "none") -> dict:
        """Statistics of one metric over [start, end): {"name", "unit", "points", "buckets": [{"start", "count",
        "sum", "min", "max", "avg", "p50", "p95", "p99"}]}, per "minute", "hour" or "day" (UTC) or one bucket for
        the range ("none"). labels keeps the points holding every label given. Percentiles are exact (linear
        interpolation between the nearest ranks, as numpy.percentile)."""
        if bucket not in _BUCKETS:
            raise InvalidArgumentError(f"bucket must be one of {_BUCKETS}")
        q = {"name": name, "from": time_us(start, "start"), "to": time_us(end, "end"), "bucket": bucket}
        if type is not None:
            q["type"] = type
        if labels is not None:
            q["labels"] = labels
        return self._call(_ffi.convstore_query_metrics, dumps(q))

    def stats(self, *, saved: bool = True) -> dict:
        """The store's statistics, like PostgreSQL's pg_stat_statements: {"since", "operations": [{"name", "calls",
        "errors", "rows", "total_us", "mean_us", "min_us", "max_us", "stddev_us"}] (largest total first),
        "cache_hits", "cache_misses", "cache_writes", "wal_bytes", "checkpoints"}. Operation
        names are the C++ methods' in snake_case ("add_message"); this Store's calls count once each. saved=True adds
        what handles closed earlier saved in the file (a read-write handle saves its counters when it closes)."""
        if not isinstance(saved, bool):
            raise InvalidArgumentError("saved must be a bool")
        return self._call(_ffi.convstore_stats, dumps({"saved": saved}))

    def set_stats_enabled(self, enabled: bool) -> None:
        """Turns the counting of this handle's operations on (the default) or off; what was counted stays."""
        if not isinstance(enabled, bool):
            raise InvalidArgumentError("enabled must be a bool")
        self._do(_ffi.convstore_set_stats_enabled, 1 if enabled else 0)

    def reset_stats(self) -> None:
        """Zeroes this handle's counters and those saved in the file (a read-only store: its own only)."""
        self._do(_ffi.convstore_reset_stats)

    def check_health(self, *, quick_check: bool = True, **thresholds) -> dict:
        """The store's health for monitoring: {"level": "ok" | "warn" | "fail" (the worst check), "checked_at",
        "checks": [{"name", "level", "message", "value", "unit", "warn_at", "fail_at"}]} with the checks
        quick_check, wal_size, free_pages, journal_lag, archive_lag, sync_lag, disk_free, budgets and erasures.
        Thresholds are keyword arguments named as in docs/monitoring.md (wal_warn_bytes=..., budget_warn_fraction=...);
        an unknown name or a bad value raises InvalidArgumentError. quick_check=False skips SQLite's quick_check,
        which reads every page of the file. A store in trouble is a report with level "fail", not an exception."""
        if not isinstance(quick_check, bool):
            raise InvalidArgumentError("quick_check must be a bool")
        return self._call(_ffi.convstore_check_health, dumps({"quick_check": quick_check, **thresholds}))
