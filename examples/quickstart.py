#!/usr/bin/env python3
"""The reference V1 `AIDatabase` example on convstore's Python binding.

Run from the repository root after building (./scripts/build.sh):

    CONVSTORE_LIBRARY=build/libconvstore.so PYTHONPATH=bindings/python /usr/bin/python3 examples/quickstart.py [path]

The first half uses the pythonic ``convstore.Store``; the second runs the reference class's own code unchanged on
``convstore.compat.AIDatabase``.
"""
import sys

import convstore
from convstore.compat import AIDatabase


def main(path: str) -> None:
    print(f"convstore {convstore.version()} example on {path}\n" + "=" * 60)
    with convstore.Store(path) as store:
        user = "engineer@company.com"
        conv = store.create_conversation(user, "BGP Route Analysis", metadata={"source": "cli", "version": "1.0"})
        print(f"\n1. Created conversation: {conv['id']}")
        m1 = store.add_message(conv["id"], "user", "Analyze this BGP config and identify potential issues")
        print(f"   Added user message: {m1['id']}")
        m2 = store.add_message(
            conv["id"], "assistant", "I found 3 issues: 1) Missing route-map on neighbor...",
            model="claude-sonnet-4-5", tokens_input=1250, tokens_output=890, cost_usd=0.015,
            request_id="example-answer-" + conv["id"])
        print(f"   Added assistant message: {m2['id']} (cost {m2['cost_usd']} USD, exactly {m2['cost_nanousd']} nano-USD)")

        full = store.get_conversation(conv["id"])
        print("\n2. Retrieved conversation:")
        print(f"   Title: {full['conversation']['title']}")
        print(f"   Messages: {full['message_count']}")

        page = store.list_conversations(user, limit=5)
        print("\n3. User's conversations:")
        for c in page["items"]:
            print(f"   {c['title']}: {c['message_count']} messages, ${c['total_cost_usd']:.3f} cost")

        store.set_budget("engineer-daily", "user", "day", scope_key=user, hard_limit_usd=5)
        try:
            r = store.reserve("quickstart-call-" + conv["id"], user, estimated_cost_usd="0.02")
            used = store.settle(r["request_id"], "claude-sonnet-4-5", tokens_input=900, tokens_output=300)
            print(f"\n   Budgeted call: reserved ${r['amount_usd']}, settled at ${used['cost_usd']} (catalog price)")
        except convstore.BudgetExceededError as e:
            print(f"\n   Budgeted call refused: {e}")

        hits = store.search_metadata({"source": "cli"}, where={"version": {"$in": ["1.0", "2.0"]}}, limit=5)
        plan = hits["plan"]  # "tail" while the store is small: rows not yet folded into the index, checked directly
        print(f"\n   Metadata search (plan: {plan['strategy']}, {plan['unindexed_checked']} row(s) checked directly): "
              + ", ".join(c["title"] for c in hits["items"]))

    print("\n4. The reference AIDatabase code, unchanged, on convstore:")
    db = AIDatabase(path)
    conv_id = db.create_conversation(user_id="engineer@company.com", title="OSPF flaps",
                                     metadata={"source": "cli"})
    db.add_message(conv_id, "user", "Why is area 0 flapping?")
    db.add_message(conv_id, "assistant", "Hello/dead timers differ.", model="claude-sonnet-4-5",
                   tokens_input=900, tokens_output=120, cost_usd=0.004)
    for c in db.get_user_conversations("engineer@company.com", limit=3):
        print(f"   {c['title']}: {c['message_count']} messages, ${c['total_cost'] or 0:.3f} cost")

    costs = db.get_cost_summary(user_id="engineer@company.com", days=7)
    print("\n5. Cost summary (last 7 days):")
    print(f"   Total messages: {costs['total_messages']}")
    print(f"   Total cost: ${costs['total_cost']:.3f}")
    print(f"   Avg cost/message: ${costs['avg_cost_per_message']:.4f}")
    for day in costs["daily_breakdown"][:3]:
        print(f"   {day['date']}: {day['message_count']} messages, ${day['total_cost'] or 0:.3f}")

    print("\n6. search_by_metadata({'source': 'cli'}):")
    for hit in db.search_by_metadata({"source": "cli"}, limit=3):
        print(f"   {hit['created_at']}  {hit['title']}  (source {hit['source']})")
    db.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "convstore-demo-py.db")
