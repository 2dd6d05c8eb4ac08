"""The cost report from Python: the same numbers as cost_summary / group_costs / team_spend, the top-N cut, money
as floats beside exact nano-dollars, bad arguments refused."""

import datetime

import pytest

import convstore


@pytest.fixture
def spent(store):
    store.upsert_team("netops", monthly_budget_usd="40")
    store.upsert_user("ana", team="netops")
    store.upsert_user("bo")
    now = datetime.datetime.now(datetime.timezone.utc)
    for day in range(3):
        for user, model, cost in (("ana", "gpt-4o", "1.25"), ("bo", "claude", "0.5")):
            store.record_api_usage(user, model, cost_usd=cost, latency_us=1000 * (day + 1),
                                   recorded_at=now - datetime.timedelta(days=day))
    return store


def test_the_report_matches_the_separate_calls(spent):
    r = spent.cost_report(days=7, top=1)
    midnight = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    summary = spent.cost_summary(from_=midnight - datetime.timedelta(days=6))
    assert r["summary"]["total_cost_nanousd"] == summary["total_cost_nanousd"] == 5_250_000_000
    assert r["summary"]["total_cost_usd"] == pytest.approx(5.25)
    assert r["models"] == ["gpt-4o", "claude"]
    assert [g["keys"]["user"] for g in r["top_users"]] == ["ana"] and r["users_with_spend"] == 2
    assert r["team_budgets"][0]["team"] == "netops"
    assert r["team_budgets"][0]["month_to_date_nanousd"] == spent.team_spend("netops")["month_to_date_nanousd"]
    lat = {l["model"]: l for l in r["latency_by_model"]}
    assert lat["gpt-4o"]["calls"] == 3 and lat["gpt-4o"]["p50_latency_us"] <= lat["gpt-4o"]["p95_latency_us"]
    assert sum(g["cost_nanousd"] for g in r["daily_by_model"]["groups"]) == summary["total_cost_nanousd"]
    assert spent.cost_report(team="netops")["summary"]["total_cost_nanousd"] == 3_750_000_000


@pytest.mark.parametrize("kwargs", [{"top": 0}, {"top": 1001}, {"top": True}, {"top": "5"}, {"lookback_days": 0},
                                    {"days": 0}, {"source": "both"}])
def test_bad_arguments_are_refused(spent, kwargs):
    with pytest.raises(convstore.InvalidArgumentError):
        spent.cost_report(**kwargs)
