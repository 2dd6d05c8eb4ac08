"""Import of other tools' history: Agents SDK SQLiteSession files and the reference design's V1 AIDatabase files.
The foreign file is left untouched; an import interrupted or repeated finishes without duplicates."""

import asyncio
import hashlib
import json
import sqlite3

import pytest

import convstore
from convstore.errors import InvalidArgumentError, NotFoundError, StorageIOError
from convstore.sessions import AgentSession


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def sdk_file(path, sessions):
    """A file as the Agents SDK's SQLiteSession writes it (its schema and statements)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE agent_sessions (session_id TEXT PRIMARY KEY, created_at TIMESTAMP DEFAULT"
                " CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
    con.execute("CREATE TABLE agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,"
                " message_data TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY"
                " (session_id) REFERENCES agent_sessions (session_id) ON DELETE CASCADE)")
    for sid, items in sessions.items():
        con.execute("INSERT OR IGNORE INTO agent_sessions (session_id) VALUES (?)", (sid,))
        con.executemany("INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
                        [(sid, i if isinstance(i, str) else json.dumps(i)) for i in items])
    con.commit()
    con.close()


ITEMS = [
    {"role": "user", "content": "Is r1 up?"},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "ask the router"}]},
    {"type": "function_call", "call_id": "call_1", "name": "show_bgp", "arguments": "{\"device\": \"r1\"}"},
    {"type": "function_call_output", "call_id": "call_1", "output": "{\"state\": \"up\"}"},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "r1 is up."}]},
    {"type": "function_call_output", "call_id": "call_trimmed_away", "output": "orphan"},
]


def test_agents_sdk_sessions_import_and_open_as_agent_sessions(tmp_path):
    src = tmp_path / "sdk.db"
    sdk_file(src, {"user-42": ITEMS, "user-7": [{"role": "user", "content": "hi"}, "{not json"]})
    before = digest(src)
    with convstore.Store(str(tmp_path / "cs.db")) as s:
        report = s.import_history(str(src), "agents-sdk")
        assert report == {"conversations": 2, "messages": 7, "skipped_conversations": 0, "skipped_rows": 1}
        assert asyncio.run(AgentSession(s, "user-42").get_items()) == ITEMS
        assert asyncio.run(AgentSession(s, "user-7").get_items()) == [{"role": "user", "content": "hi"}]
        conv = AgentSession(s, "user-42").conversation_id
        msgs = s.get_conversation(conv)["messages"]
        [call] = s.list_tool_calls(msgs[2]["id"])
        assert call["call_id"] == "call_1" and call["status"] == "success" and call["output"] == {"state": "up"}
        assert msgs[3]["tool_call_id"] == "call_1" and msgs[5]["tool_call_id"] is None  # its call is not in the file
        assert msgs[0]["created_at_us"] > 0
        # again: nothing twice
        assert s.import_history(str(src), "agents-sdk") == {"conversations": 0, "messages": 0,
                                                            "skipped_conversations": 2, "skipped_rows": 1}
        assert len(s.get_conversation(conv)["messages"]) == 6
    assert digest(src) == before  # the foreign file is untouched


def v1_file(path):
    """A file of the reference design's V1 AIDatabase (its schema and statements)."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE conversations (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, title TEXT,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            metadata TEXT, is_archived INTEGER DEFAULT 0);
        CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')), content TEXT NOT NULL, model TEXT,
            tokens_input INTEGER, tokens_output INTEGER, cost_usd REAL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            metadata TEXT, FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE);
    """)
    con.execute("INSERT INTO conversations (id, user_id, title, metadata, created_at) VALUES (?, ?, ?, ?, ?)",
                ("c-1", "engineer@company.com", "BGP Route Analysis", json.dumps({"source": "cli"}),
                 "2026-01-05 10:00:00"))
    con.execute("INSERT INTO conversations (id, user_id, title, metadata, is_archived) VALUES (?, ?, ?, ?, 1)",
                ("c-2", "ops@company.com", "old", "{}"))
    rows = [("m-1", "c-1", "user", "Analyze this BGP config", None, None, None, None, "2026-01-05 10:00:01"),
            ("m-2", "c-1", "assistant", "I found 3 issues", "claude-3-opus", 1250, 890, 0.015, "2026-01-05 10:00:09")]
    for r in rows:
        con.execute("INSERT INTO messages (id, conversation_id, role, content, model, tokens_input, tokens_output,"
                    " cost_usd, created_at, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')", r)
    con.commit()
    con.close()


def test_v1_aidatabase_files_import_with_their_costs(tmp_path):
    src = tmp_path / "ai_system.db"
    v1_file(src)
    before = digest(src)
    with convstore.Store(str(tmp_path / "cs.db")) as s:
        assert s.import_history(str(src), "aidatabase-v1") == {"conversations": 2, "messages": 2,
                                                              "skipped_conversations": 0, "skipped_rows": 0}
        page = s.list_conversations("engineer@company.com")["items"]
        assert [(c["title"], c["external_id"], c["metadata"], c["message_count"]) for c in page] == [
            ("BGP Route Analysis", "aidatabase-v1:c-1", {"source": "cli"}, 2)]
        assert page[0]["created_at"] == "2026-01-05T10:00:00.000000Z"
        assert page[0]["total_cost_nanousd"] == 15_000_000
        msgs = s.get_conversation(page[0]["id"])["messages"]
        assert [(m["role"], m["content"], m["tokens_input"]) for m in msgs] == [
            ("user", "Analyze this BGP config", None), ("assistant", "I found 3 issues", 1250)]
        assert s.list_conversations("ops@company.com", include_archived=True)["items"][0]["archived"] is True
        assert s.cost_summary(from_="2026-01-01T00:00:00Z", to="2026-02-01T00:00:00Z")["total_cost_nanousd"] == \
            15_000_000
    assert digest(src) == before


def test_import_refuses_what_it_cannot_read_and_writes_nothing(tmp_path):
    sdk = tmp_path / "sdk.db"
    sdk_file(sdk, {"a": [{"role": "user", "content": "x"}]})
    with convstore.Store(str(tmp_path / "cs.db")) as s:
        with pytest.raises(InvalidArgumentError, match="V1 AIDatabase"):
            s.import_history(str(sdk), "aidatabase-v1")
        with pytest.raises(InvalidArgumentError, match="format"):
            s.import_history(str(sdk), "langchain")
        with pytest.raises((StorageIOError, NotFoundError, InvalidArgumentError)):
            s.import_history(str(tmp_path / "missing.db"), "agents-sdk")
        with pytest.raises(InvalidArgumentError):
            s.import_history("", "agents-sdk")
        with pytest.raises(InvalidArgumentError):
            s.import_history(str(sdk), "agents-sdk", user="a\0b")
        assert s.list_conversations("agents-sdk")["items"] == []
        assert s.import_history(str(sdk), "agents-sdk", user="migrated")["conversations"] == 1
        assert s.list_conversations("migrated")["items"][0]["external_id"] == "agents-sdk:a"
