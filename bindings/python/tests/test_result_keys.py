"""docs/python.md's "Result keys" table is the truth: each result the docs name has exactly the keys listed, in order."""

import os
import re
import tempfile
from pathlib import Path

import pytest

import convstore

DOC = Path(__file__).resolve().parents[3] / "docs" / "python.md"


def documented() -> dict[str, list[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### Result keys"):]
    section = section[:section.index("\nRecords have the fields")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[1].startswith("`"):
            rows[cells[0]] = re.findall(r"`([^`]+)`", cells[1])
    return rows


@pytest.fixture
def results():
    s = convstore.Store()
    t = s.upsert_team("t", monthly_budget_usd=5)
    u = s.upsert_user("u", team="t")
    c = s.create_conversation("u", "x", metadata={"a": 1})
    m = s.add_message(c["id"], "assistant", "x", model="gpt-4o", tokens_input=5, tokens_output=3)
    cs = s.cost_summary()
    g = s.group_costs(["model"])
    s.record_api_usage("u", "gpt-4o", cost_usd=0.1)
    sm = s.search_metadata({"a": 1})
    out = {
        "team": [t, s.get_team("t")],
        "user": [u, s.get_user("u")],
        "conversation": [c, s.get_conversation_info(c["id"]), s.update_conversation(c["id"], title="y"),
                         s.list_conversations("u")["items"][0]],
        "added message": [m, s.add_messages(c["id"], [{"role": "user", "content": "q"}])[0]],
        "message": [s.get_context(c["id"], 100)[0], s.get_last_messages(c["id"], 1)[0],
                    s.get_conversation(c["id"])["messages"][0],
                    s.edit_message(s.add_message(c["id"], "user", "e")["id"], content="E"),
                    s.delete_message(s.add_message(c["id"], "user", "d")["id"]),
                    s.pop_message(c["id"])],
        "tool call": [s.add_tool_call(m["id"], "t"), s.list_tool_calls(m["id"])[0]],
        "API usage": [s.record_api_usage("u", "gpt-4o", cost_usd=0.1)],
        "price": [s.add_price("my", input_per_mtok_usd=1, output_per_mtok_usd=2), s.list_prices()[0],
                  s.resolve_price("gpt-4o")],
        "budget state": [s.set_budget("b", "global", "day", hard_limit_usd=10), s.get_budgets()[0]],
        "reservation": [s.reserve("r1", "u", 0.5)],
        "`get_conversation`": [s.get_conversation(c["id"])],
        "`list_conversations`": [s.list_conversations("u")],
        "`cost_summary`": [cs],
        "`cost_summary` daily_breakdown item": [cs["daily_breakdown"][0]],
        "`group_costs`": [g],
        "`group_costs` groups item": [g["groups"][0]],
        "`usage_stats` item": [s.usage_stats()[0]],
        "`team_spend`": [s.team_spend("t")],
        "`verify_rollups`, `rebuild_rollups`": [s.verify_rollups(), s.rebuild_rollups()],
        "`reprice`": [s.reprice("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")],
        "`search_metadata`": [sm],
        "plan": [sm["plan"], s.explain_metadata({"a": 1})],
        "plan postings item": [sm["plan"]["postings"][0]],
        "`verify_metadata_index`": [s.verify_metadata_index(), s.rebuild_metadata_index()],
        "journal entry": s.read_journal(0, limit=3),
        "journal change": [ch for e in s.read_journal(0, limit=5) for ch in e["changes"]],
        "`journal_status`": [s.journal_status()],
        "`prune_journal`": [s.prune_journal()],
        "`stats`": [s.stats(), s.stats(saved=False)],
        "`stats` operations item": [s.stats()["operations"][0]],
        "`cost_report`": [s.cost_report(), s.cost_report(days=30, top=1)],
        "`cost_report` latency_by_model item": s.cost_report()["latency_by_model"],
        "`check_health`": [s.check_health(), s.check_health(quick_check=False)],
        "`check_health` checks item": s.check_health()["checks"],
    }
    s.set_journal_consumer("reader", 1)
    out["`journal_status` consumers item"] = [s.journal_status()["consumers"][0]]
    with tempfile.TemporaryDirectory() as tmp:
        b = s.backup(os.path.join(tmp, "b.db"))
        v = convstore.verify_backup(os.path.join(tmp, "b.db"))
        r = convstore.restore_backup(os.path.join(tmp, "b.db"), os.path.join(tmp, "r.db"))
    out["`backup`"] = [b]
    out["`convstore.verify_backup`"] = [v]
    out["`convstore.restore_backup`"] = [r]
    out["backup manifest"] = [b["manifest"], v["manifest"], r["manifest"]]
    out["reservation"].append(s.release("r1"))
    s.reserve("r2", "u", 0.5)
    out["API usage"].append(s.settle("r2", "gpt-4o", cost_usd=0.25))
    out["budget state"].append(out["reservation"][0]["budgets"][0])
    return out


def test_every_documented_result_has_exactly_its_keys(results):
    rows = documented()
    assert rows, "docs/python.md has no Result keys table"
    for label, records in results.items():
        [row] = [k for k in rows if k == label or k.startswith(label + ":") or k.startswith(label + ",")]
        for r in records:
            assert list(r.keys()) == rows[row], f"{row}: {list(r.keys())}"
    assert len(rows) == len(results), "a documented result is not checked"
