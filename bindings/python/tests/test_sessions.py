"""convstore.sessions: the Agents SDK Session protocol (AgentSession) and LangChain's chat history shape
(ChatMessageHistory) on convstore conversations."""

import asyncio
import multiprocessing
import os
import sys
import threading

import pytest

import convstore
from convstore.errors import InvalidArgumentError, NotFoundError
from convstore.sessions import AgentSession, ChatMessageHistory

MODEL = "gpt-4o"
USAGE = {"input_tokens": 1200, "output_tokens": 85, "input_tokens_details": {"cached_tokens": 0},
         "output_tokens_details": {"reasoning_tokens": 0}}


def turn(tag: str, n: int) -> list[dict]:
    """One realistic agent turn: user, reasoning, function_call, function_call_output, assistant message, and an
    item type convstore does not know."""
    call_id = f"call_{tag}_{n}"
    return [
        {"role": "user", "content": f"{tag} question {n}: is r{n} up?"},
        {"type": "reasoning", "id": f"rs_{tag}_{n}", "summary": [{"type": "summary_text", "text": "check the router"}],
         "encrypted_content": "gAAAA" + "x" * 40},
        {"type": "function_call", "id": f"fc_{tag}_{n}", "call_id": call_id, "name": "show_bgp",
         "arguments": f'{{"device": "r{n}", "detail": true}}', "status": "completed"},
        {"type": "function_call_output", "call_id": call_id, "output": f'{{"state": "up", "n": {n}}}'},
        {"type": "message", "id": f"msg_{tag}_{n}", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": f"r{n} is up.", "annotations": []}]},
        {"type": "future_item_kind", "payload": {"nested": [1, 2.5, None, True, "é"]}, "n": n, "tag": tag},
    ]


def price_of(store, usage) -> int:
    p = store.resolve_price(MODEL)
    return (usage["input_tokens"] * p["input_per_mtok_nanousd"] + usage["output_tokens"] * p["output_per_mtok_nanousd"]
            + 500_000) // 1_000_000


def test_items_round_trip_exactly_and_become_first_class(tmp_path):
    path = str(tmp_path / "agents.db")
    with AgentSession(path, "user-42", model=MODEL) as session:
        items = turn("a", 1)
        asyncio.run(session.add_items(items, usage=USAGE))
        assert asyncio.run(session.get_items()) == items
        assert asyncio.run(session.get_items(limit=2)) == items[-2:]
        assert asyncio.run(session.get_items(limit=0)) == []
        assert asyncio.run(session.get_items(limit=5000)) == items

        # What convstore understands is first-class: text and role, the call and its result, the usage.
        s = session.store
        messages = s.get_conversation(session.conversation_id)["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "assistant", "tool", "assistant", "assistant"]
        assert messages[0]["content"] == "a question 1: is r1 up?"
        assert messages[4]["content"] == "r1 is up."
        [call] = s.list_tool_calls(messages[2]["id"])
        assert (call["tool_name"], call["call_id"], call["input"]) == ("show_bgp", "call_a_1", {"device": "r1",
                                                                                                "detail": True})
        assert call["status"] == "success" and call["output"] == {"state": "up", "n": 1}
        assert messages[3]["tool_call_id"] == "call_a_1"
        assert messages[1]["tokens_input"] == 1200 and messages[1]["model"] == MODEL
        summary = s.cost_summary(days=1)
        assert summary["total_cost_nanousd"] == price_of(s, USAGE) > 0

        # pop returns the newest item; clear empties the session but the spend stays.
        assert asyncio.run(session.pop_item()) == items[-1]
        assert asyncio.run(session.get_items()) == items[:-1]
        asyncio.run(session.clear_session())
        assert asyncio.run(session.get_items()) == []
        assert asyncio.run(session.pop_item()) is None
        assert s.cost_summary(days=1)["total_cost_nanousd"] == price_of(s, USAGE)


def test_a_session_id_names_one_conversation(tmp_path):
    path = str(tmp_path / "agents.db")
    with convstore.Store(path) as s:
        a = AgentSession(s, "same")
        b = AgentSession(s, "same")
        assert a.conversation_id == b.conversation_id
        asyncio.run(a.add_items([{"role": "user", "content": "hi"}]))
        assert asyncio.run(b.get_items()) == [{"role": "user", "content": "hi"}]
        assert AgentSession(s, "other").conversation_id != a.conversation_id
        with pytest.raises(InvalidArgumentError):
            AgentSession(s, "")
        with pytest.raises(InvalidArgumentError):
            asyncio.run(a.add_items(["not a dict"]))
        with pytest.raises(InvalidArgumentError):
            asyncio.run(a.add_items([{"role": "user", "content": "x"}], usage=USAGE))  # no assistant item
        with pytest.raises(NotFoundError):  # an output whose call this session never saw
            asyncio.run(a.add_items([{"type": "function_call_output", "call_id": "nope", "output": "x"}]))
        assert asyncio.run(a.get_items()) == [{"role": "user", "content": "hi"}]  # refused batches wrote nothing


def test_the_event_loop_is_not_blocked(tmp_path):
    # While a session call runs in its worker thread, the loop keeps running other tasks.
    path = str(tmp_path / "agents.db")

    async def main():
        with AgentSession(path, "loop") as session:
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            t = asyncio.create_task(ticker())
            for n in range(20):
                await session.add_items(turn("loop", n))
            items = await session.get_items()
            t.cancel()
            return len(items), ticks

    count, ticks = asyncio.run(main())
    assert count == 120 and ticks > 20


def _writer(path: str, proc: int, sessions: int, turns: int, start) -> None:
    """One process: one asyncio task per session, each adding `turns` turns (one add_items call each)."""
    start.wait()

    async def task(session_no: int):
        session = AgentSession(path, f"session-{session_no}", model=MODEL)
        try:
            for n in range(turns):
                await session.add_items(turn(f"p{proc}s{session_no}", n), usage=USAGE)
        finally:
            session.close()

    async def main():
        await asyncio.gather(*(task(k) for k in range(sessions)))

    asyncio.run(main())


def test_eight_tasks_on_four_sessions_in_two_processes(tmp_path):
    path = str(tmp_path / "fleet.db")
    turns = int(os.environ.get("CONVSTORE_SESSION_TURNS", "12"))
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(path, p, 4, turns, start)) for p in range(2)]
    for p in procs:
        p.start()
    start.set()  # both processes open the same four new session ids at once
    for p in procs:
        p.join(300)
        assert p.exitcode == 0

    with convstore.Store(path) as s:
        conversations = s.list_conversations("agents-sdk", limit=100)["items"]
        assert sorted(c["external_id"] for c in conversations) == [f"agents-sdk:session-{k}" for k in range(4)]
        for k in range(4):
            items = asyncio.run(AgentSession(s, f"session-{k}").get_items())
            assert len(items) == 2 * turns * 6
            for proc in range(2):  # each writer's turns come back exactly, in order, each turn contiguous
                tag = f"p{proc}s{k}"
                mine = [i for i in items if tag in repr(i)]
                assert mine == [item for n in range(turns) for item in turn(tag, n)]
            for start_at in range(0, len(items), 6):
                assert items[start_at]["role"] == "user" and items[start_at + 5]["type"] == "future_item_kind"
        total = s.cost_summary(days=1)
        assert total["total_cost_nanousd"] == 8 * turns * price_of(s, USAGE)
        group = s.group_costs(["model"], days=1)["groups"]
        assert [(g["tokens_input"], g["tokens_output"]) for g in group if g["keys"] == {"model": MODEL}] == [
            (8 * turns * 1200, 8 * turns * 85)]
        assert s.verify_rollups()["differences"] == 0


def test_threads_share_sessions(tmp_path):
    path = str(tmp_path / "threads.db")
    with convstore.Store(path) as s:
        errors = []

        def work(k):
            try:
                session = AgentSession(s, f"t-{k % 2}")
                for n in range(10):
                    session.add_items_sync(turn(f"t{k}", n))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for k in range(2):
            assert len(AgentSession(s, f"t-{k}").get_items_sync()) == 2 * 10 * 6


def test_chat_message_history(tmp_path):
    path = str(tmp_path / "lc.db")
    with ChatMessageHistory(path, "chat-1") as h:
        msgs = [
            {"role": "system", "content": "be brief"},
            {"type": "human", "content": "weather in Oslo?"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "tc1", "name": "weather",
                                                                  "args": {"city": "Oslo"}}]},
            {"role": "tool", "content": "3C", "tool_call_id": "tc1"},
            {"type": "ai", "content": [{"type": "text", "text": "3C and clear."}], "id": "run-1"},
        ]
        h.add_messages(msgs[:2])
        h.add_messages(msgs[2:])
        assert h.messages == msgs
        conv = h.store.get_conversation(h.conversation_id)["messages"]
        assert [m["role"] for m in conv] == ["system", "user", "assistant", "tool", "assistant"]
        assert conv[4]["content"] == "3C and clear."
        [call] = h.store.list_tool_calls(conv[2]["id"])
        assert call["status"] == "success" and call["output"] == "3C"
        with pytest.raises(InvalidArgumentError):
            h.add_messages([{"content": "no role"}])
        assert len(h.messages) == 5
        h.clear()
        assert h.messages == []
    with ChatMessageHistory(path, "chat-1") as again:  # the same history, reopened
        again.add_message({"role": "user", "content": "hello again"})
        assert again.messages == [{"role": "user", "content": "hello again"}]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
