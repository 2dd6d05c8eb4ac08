"""The cost engine from Python: prices, API usage, summaries (checked against plain SQL on the file), budgets,
reservations, alerts, compat.get_cost_summary, and bad input (an exception, nothing written)."""

import contextlib
import logging
import random
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

import convstore
from convstore import BudgetExceededError, InvalidArgumentError, NotFoundError
from convstore.compat import AIDatabase

NOW_US = time.time_ns() // 1000
DAY_US = 86_400_000_000


def raw(path, sql, *args):
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
        return c.execute(sql, args).fetchall()


def test_catalog_prices_messages_and_user_prices_override(store):
    prices = store.list_prices()
    assert len(prices) > 20 and all(p["origin"] == "catalog" and p["source_date"] for p in prices)
    c = store.create_conversation("ana")
    m = store.add_message(c["id"], "assistant", "x", model="gpt-4o", tokens_input=1000, tokens_output=500)
    assert m["cost_nanousd"] == 2_500_000 + 5_000_000 and m["price_id"] is not None
    assert store.resolve_price("gpt-4o")["input_per_mtok_nanousd"] == 2_500_000_000
    assert store.resolve_price("gpt-4o", at="2026-01-01T00:00:00Z")["model"] == "gpt-4o"
    cw = store.add_message(c["id"], "assistant", "x", model="claude-sonnet-4-5", tokens_cache_write=1_000_000)
    assert cw["tokens_cache_write"] == 1_000_000 and cw["cost_nanousd"] == 3_750_000_000
    p = store.add_price("gpt-4o", input_per_mtok_usd="1", output_per_mtok_usd="2", note="contract",
                        effective_from=0)
    assert p["origin"] == "user" and p["input_per_mtok_usd"] == 1.0
    m2 = store.add_message(c["id"], "assistant", "x", model="gpt-4o", tokens_input=1000, tokens_output=500)
    assert m2["cost_nanousd"] == 1_000_000 + 1_000_000
    # Repricing moves the first message to the user price; the conversation total follows.
    report = store.reprice("2000-01-01T00:00:00Z", NOW_US + DAY_US)
    assert report["messages_repriced"] == 1 and report["cost_delta_nanousd"] == 2_000_000 - 7_500_000
    assert store.get_conversation_info(c["id"])["total_cost_nanousd"] == 4_000_000 + 3_750_000_000
    assert store.verify_rollups()["differences"] == 0


def test_summaries_match_plain_sql_on_the_file(store, db_path):
    rng = random.Random(5)
    store.upsert_team("t1")
    store.upsert_user("u1", team="t1")
    convs = [store.create_conversation(f"u{i % 3}")["id"] for i in range(6)]
    for i in range(300):
        at = NOW_US - rng.randrange(0, 9 * DAY_US)
        store.add_message(rng.choice(convs), rng.choice(["user", "assistant"]), "m", model="acme",
                          tokens_input=rng.randrange(0, 900), tokens_output=rng.randrange(0, 400),
                          cost_nanousd=rng.randrange(0, 10**7), latency_us=rng.randrange(1, 10**6), created_at=at)
        if i % 3 == 0:
            store.record_api_usage(f"u{i % 3}", "acme", endpoint="/v1/chat", cost_nanousd=rng.randrange(10**6),
                                   status="error" if i % 9 == 0 else "success", recorded_at=at)
    s = store.cost_summary(days=7, source="message")
    want = raw(db_path,
               "SELECT date(created_at / 1000000, 'unixepoch') d, count(*), sum(tokens_input), sum(tokens_output),"
               " sum(cost_nanousd) FROM messages WHERE created_at >= ? AND created_at < ? GROUP BY d ORDER BY d DESC",
               s["from_us"], s["to_us"])
    got = [(d["date"], d["message_count"], d["total_input_tokens"], d["total_output_tokens"],
            d["total_cost_nanousd"]) for d in s["daily_breakdown"]]
    assert got == want
    assert s["total_cost_nanousd"] == sum(r[4] for r in want)
    team = store.cost_summary(days=30, team="t1", source="all")
    want_team = raw(db_path, "SELECT sum(c) FROM (SELECT cost_nanousd c FROM messages WHERE team_id = 1"
                             " UNION ALL SELECT cost_nanousd FROM api_usage WHERE team_id = 1)")[0][0]
    assert team["total_cost_nanousd"] == want_team
    groups = store.group_costs(["status"], source="api", days=30)
    want_groups = raw(db_path, "SELECT status, count(*), sum(cost_nanousd) FROM api_usage GROUP BY 1 ORDER BY 1")
    assert [(g["keys"]["status"], g["count"], g["cost_nanousd"]) for g in groups["groups"]] == want_groups
    stats = store.usage_stats(days=30)
    assert sum(u["calls"] for u in stats) == 300 + 100  # the default source is "all": messages and API calls
    assert all(u["p50_latency_us"] <= u["p95_latency_us"] <= u["p99_latency_us"] for u in stats)


def test_budgets_reserve_settle_release_and_alerts(tmp_path):
    alerts = []
    with convstore.Store(str(tmp_path / "b.db"), on_budget_alert=alerts.append) as s:
        s.upsert_team("netops", monthly_budget_usd=100)
        s.upsert_user("ana", team="netops")
        b = s.set_budget("netops-day", "team", "day", scope_key="netops", hard_limit_usd="1", soft_limit_usd="0.5")
        assert b["spent_nanousd"] == 0 and b["hard_limit_usd"] == 1.0
        r = s.reserve("call-1", "ana", 0.6)
        assert r["state"] == "open" and r["amount_nanousd"] == 600_000_000
        with pytest.raises(BudgetExceededError):
            s.reserve("call-2", "ana", "0.5")
        assert s.reserve("call-1", "ana", 0.6)["amount_nanousd"] == 600_000_000  # a retry
        u = s.settle("call-1", "gpt-4o", cost_usd="0.55", latency_us=2000)
        assert u["request_id"] == "call-1" and u["team"] == "netops"
        assert [a["limit"] for a in alerts] == ["soft"] and alerts[0]["budget"] == "netops-day"
        assert s.settle("call-1", "gpt-4o", cost_usd="0.55")["id"] == u["id"]
        over = s.get_budgets(0.5)
        assert len(over) == 1 and over[0]["over_soft"] and over[0]["spent_nanousd"] == 550_000_000
        s.reserve("call-3", "ana", estimated_cost_nanousd=1)
        assert s.release("call-3")["state"] == "released"
        view = s.team_spend("netops")
        assert view["month_to_date_nanousd"] == 550_000_000 and view["monthly_budget_usd"] == 100.0
        s.delete_budget("netops-day")
        with pytest.raises(NotFoundError):
            s.delete_budget("netops-day")


def test_the_default_summary_counts_what_budgets_count(store):
    """Messages and calls recorded by reserve/settle (or record_api_usage) are both spend: the default summary over a
    budget's window equals the budget's spent, and source="message" is the messages alone."""
    store.upsert_user("ana")
    cid = store.create_conversation("ana")["id"]
    store.add_message(cid, "assistant", "x", cost_usd="0.25")
    b = store.set_budget("day", "global", "day", hard_limit_usd="10")
    store.reserve("call-1", "ana", "1")
    store.settle("call-1", "gpt-4o", cost_usd="0.5")
    store.record_api_usage("ana", "gpt-4o", cost_usd="0.125")
    spent = store.get_budgets()[0]["spent_nanousd"]
    s = store.cost_summary(from_=b["window_from_us"], to=b["window_to_us"])
    assert s["total_cost_nanousd"] == spent == 875_000_000
    assert s["total_messages"] == 3  # rows counted: one message and two API calls
    assert store.cost_summary(from_=b["window_from_us"], to=b["window_to_us"],
                              source="message")["total_cost_nanousd"] == 250_000_000
    user = store.cost_summary(from_=b["window_from_us"], to=b["window_to_us"], user="ana")
    assert user["total_cost_nanousd"] == spent


def test_racing_reservations_never_exceed_the_hard_limit(store):
    store.upsert_team("t")
    for i in range(4):
        store.upsert_user(f"u{i}", team="t")
    store.set_budget("t-month", "team", "month", scope_key="t", hard_limit_nanousd=1000)
    admitted = []

    def worker(t):
        for i in range(40):
            try:
                store.reserve(f"r-{t}-{i}", f"u{t % 4}", estimated_cost_nanousd=9)
                admitted.append(1)
            except BudgetExceededError:
                pass

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 1000 // 9


def test_compat_get_cost_summary_matches_the_chapter_query(tmp_path):
    path = str(tmp_path / "ai_system.db")
    with AIDatabase(path) as db:
        conv = db.create_conversation("engineer@company.com", "BGP")
        other = db.create_conversation("someone@else.com", "DNS")
        db.add_message(conv, "user", "Analyze this BGP config")
        db.add_message(conv, "assistant", "I found 3 issues", model="claude-sonnet-4-5", tokens_input=1250,
                       tokens_output=890, cost_usd=0.015)
        db.add_message(other, "assistant", "ok", tokens_input=10, tokens_output=5, cost_usd=0.001)
        summary = db.get_cost_summary(user_id="engineer@company.com", days=7)
        assert summary["total_messages"] == 2
        assert summary["total_cost"] == pytest.approx(0.015)
        assert summary["avg_cost_per_message"] == pytest.approx(0.0075)
        day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        assert summary["daily_breakdown"] == [{"date": day, "message_count": 2, "total_input_tokens": 1250,
                                               "total_output_tokens": 890, "total_cost": 0.015}]
        everyone = db.get_cost_summary(days=7)
        assert everyone["total_messages"] == 3 and everyone["total_cost"] == pytest.approx(0.016)
        assert db.get_cost_summary(user_id="nobody")["daily_breakdown"] == []
        assert db.get_cost_summary(days=0)["total_messages"] == 0
        assert db.get_cost_summary(days=100000)["total_messages"] == 3
        # The chapter's own query, on this file's rows (µs and nano-USD), gives the same numbers.
        chapter = raw(path, "SELECT date(created_at / 1000000, 'unixepoch'), COUNT(*), SUM(tokens_input),"
                            " SUM(tokens_output), SUM(cost_nanousd) FROM messages WHERE created_at >= ?"
                            " GROUP BY 1 ORDER BY 1 DESC", NOW_US - 7 * DAY_US)
        assert chapter == [(day, 3, 1260, 895, 16_000_000)]
        with pytest.raises(InvalidArgumentError):
            db.get_cost_summary(days="7")


def test_bad_input_raises_and_writes_nothing(store, db_path):
    store.upsert_user("ana")

    def counts():
        return raw(db_path, "SELECT (SELECT count(*) FROM prices), (SELECT count(*) FROM api_usage),"
                            " (SELECT count(*) FROM budgets), (SELECT count(*) FROM budget_reservations)")

    before = counts()
    bad = [
        (InvalidArgumentError, lambda: store.add_price("", input_per_mtok_usd=1, output_per_mtok_usd=1)),
        (InvalidArgumentError, lambda: store.add_price("m", input_per_mtok_usd=1)),
        (InvalidArgumentError, lambda: store.add_price("m", input_per_mtok_usd=float("nan"), output_per_mtok_usd=1)),
        (InvalidArgumentError, lambda: store.add_price("m", input_per_mtok_usd="-1", output_per_mtok_usd=1)),
        (InvalidArgumentError, lambda: store.resolve_price("gpt-4o", at="yesterday")),
        (InvalidArgumentError, lambda: store.cost_summary(from_=0, to=NOW_US)),  # more than 3,660 days
        (NotFoundError, lambda: store.resolve_price("no-such-model")),
        (InvalidArgumentError, lambda: store.reprice(10, 5)),
        (InvalidArgumentError, lambda: store.record_api_usage("ana", "")),
        (InvalidArgumentError, lambda: store.record_api_usage("ana", "m", status="maybe")),
        (InvalidArgumentError, lambda: store.record_api_usage("ana", "m", tokens_input=-1)),
        (InvalidArgumentError, lambda: store.record_api_usage("ana", "m", cost_usd=1, cost_nanousd=1)),
        (InvalidArgumentError, lambda: store.record_api_usage("ana", "m", metadata=[1])),
        (NotFoundError, lambda: store.record_api_usage("ana", "m", team="nope")),
        (InvalidArgumentError, lambda: store.cost_summary(days=0)),
        (InvalidArgumentError, lambda: store.cost_summary(source="everything")),
        (InvalidArgumentError, lambda: store.group_costs(["planet"])),
        (InvalidArgumentError, lambda: store.group_costs([])),
        (InvalidArgumentError, lambda: store.usage_stats(utc_offset_minutes=5000)),
        (InvalidArgumentError, lambda: store.team_spend("")),
        (NotFoundError, lambda: store.team_spend("nobody")),
        (InvalidArgumentError, lambda: store.set_budget("b", "planet", "day", hard_limit_usd=1)),
        (InvalidArgumentError, lambda: store.set_budget("b", "global", "day")),
        (NotFoundError, lambda: store.set_budget("b", "user", "day", scope_key="nobody", hard_limit_usd=1)),
        (InvalidArgumentError, lambda: store.get_budgets(-1)),
        (InvalidArgumentError, lambda: store.get_budgets("lots")),
        (InvalidArgumentError, lambda: store.reserve("", "ana", 1)),
        (InvalidArgumentError, lambda: store.reserve("r", "ana")),
        (InvalidArgumentError, lambda: store.reserve("r", "ana", -1)),
        (NotFoundError, lambda: store.reserve("r", "nobody", 1)),
        (NotFoundError, lambda: store.settle("nothing", "m")),
        (InvalidArgumentError, lambda: store.settle("r\0x", "m")),
        (NotFoundError, lambda: store.release("nothing")),
        (NotFoundError, lambda: store.delete_budget("nothing")),
    ]
    for exc, call in bad:
        with pytest.raises(exc):
            call()
    assert counts() == before


def test_alert_callback_does_not_keep_the_store_alive(tmp_path):
    import gc
    import weakref

    class Owner:
        def __init__(self):
            self.alerts = []
            self.store = convstore.Store(str(tmp_path / "owner.db"), on_budget_alert=self.on_alert)

        def on_alert(self, alert):
            self.alerts.append(alert)

    owner = Owner()
    owner.store.upsert_user("ana")
    owner.store.set_budget("g", "global", "day", hard_limit_nanousd=10)
    owner.store.record_api_usage("ana", "m", cost_nanousd=11)
    assert [a["limit"] for a in owner.alerts] == ["hard"]
    ref = weakref.ref(owner.store)
    del owner
    gc.collect()
    assert ref() is None


def test_datetime_arguments(store):
    store.record_api_usage("ana", "m", cost_usd=1, recorded_at=datetime.now(timezone.utc) - timedelta(days=2))
    assert store.cost_summary(source="api", from_=datetime.now(timezone.utc) - timedelta(days=3))["total_cost_nanousd"] == 10**9


def test_an_exception_in_the_alert_callback_is_logged_and_the_write_stands(tmp_path, caplog):
    def failing(alert):
        raise RuntimeError(f"pager down for {alert['budget']}")

    with convstore.Store(str(tmp_path / "cb.db"), on_budget_alert=failing) as s:
        s.upsert_user("ana")
        s.set_budget("tiny", "user", "day", scope_key="ana", soft_limit_usd="0.01")
        c = s.create_conversation("ana")
        with caplog.at_level(logging.ERROR, logger="convstore"):
            m = s.add_message(c["id"], "assistant", "hi", cost_usd="0.02")
        assert s.get_conversation(c["id"])["messages"][0]["id"] == m["id"]
        records = [r for r in caplog.records if r.name == "convstore"]
        assert len(records) == 1 and "on_budget_alert" in records[0].getMessage()
        assert records[0].exc_info and "pager down for tiny" in str(records[0].exc_info[1])
