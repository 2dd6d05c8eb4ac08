"""Metrics from Python: batches and single points, hourly buckets equal to numpy over the same values (numpy's
default percentile is the linear interpolation convstore uses), label filters, bad input refused with nothing
written."""

import random
import time

import numpy as np
import pytest

import convstore

T0 = 1_796_000_000_000_000
HOUR = 3_600_000_000


def test_hourly_buckets_equal_numpy(store):
    rnd = random.Random(11)
    points, by_hour = [], {}
    for i in range(3000):
        at = T0 + rnd.randrange(4 * HOUR)
        model = "m1" if i % 4 else "m2"
        v = rnd.uniform(1, 500)
        points.append({"type": "latency", "name": "api.ms", "value": v, "unit": "ms",
                       "labels": {"model": model, "ok": True}, "at": at})
        if model == "m1":
            by_hour.setdefault(at // HOUR * HOUR, []).append(v)
    assert store.record_metrics(points) == 3000
    series = store.query_metrics("api.ms", start=T0, end=T0 + 4 * HOUR, labels={"model": "m1"}, bucket="hour")
    assert series["unit"] == "ms" and series["points"] == sum(len(v) for v in by_hour.values())
    assert [b["start_us"] for b in series["buckets"]] == sorted(by_hour)
    for b in series["buckets"]:
        values = np.array(by_hour[b["start_us"]])
        assert b["count"] == len(values)
        assert b["sum"] == pytest.approx(values.sum(), rel=1e-12)
        assert b["min"] == values.min() and b["max"] == values.max()
        for q in (50, 95, 99):
            assert b[f"p{q}"] == pytest.approx(np.percentile(values, q), rel=1e-12)
    assert store.query_metrics("api.ms", start=T0, end=T0 + 4 * HOUR, labels={"ok": False})["points"] == 0


def test_single_points_and_tuples(store):
    store.record_metric("gauge", "queue.depth", 4, labels={"queue": "a"})
    assert store.record_metrics([("gauge", "queue.depth", 6)]) == 1
    now = int(time.time() * 1_000_000)
    series = store.query_metrics("queue.depth", start=now - HOUR, end=now + HOUR)
    assert series["buckets"][0]["avg"] == 5 and series["points"] == 2


@pytest.mark.parametrize("point", [
    {"type": "", "name": "n", "value": 1}, {"type": "t", "name": "has space", "value": 1},
    {"type": "t", "name": "n", "value": float("nan")}, {"type": "t", "name": "n", "value": "1"},
    {"type": "t", "name": "n", "value": True}, {"type": "t", "name": "n", "value": 1, "labels": {"a": [1]}},
    {"type": "t", "name": "n", "value": 1, "at": 5}, {"type": "t", "name": "n", "value": 1, "colour": "red"},
])
def test_bad_points_are_refused_and_write_nothing(store, point):
    good = {"type": "t", "name": "n", "value": 1, "at": T0}
    with pytest.raises(convstore.InvalidArgumentError):
        store.record_metrics([good, point])
    assert store.query_metrics("n", start=T0, end=T0 + 1)["points"] == 0


def test_bad_queries(store):
    for kwargs in ({"start": T0, "end": T0}, {"start": T0, "end": T0 + 1, "bucket": "week"},
                   {"start": T0, "end": T0 + 1, "labels": {"a": None}}):
        with pytest.raises(convstore.InvalidArgumentError):
            store.query_metrics("n", **kwargs)
