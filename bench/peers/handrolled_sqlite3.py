"""The conversation store an agent developer writes by hand on Python's sqlite3: two tables, WAL,
synchronous=NORMAL, one transaction per message that inserts the row (json.dumps of its metadata) and updates the
conversation's counters; messages in insertion order (rowid). No idempotency, no pricing, no index on metadata: the floor convstore is compared with."""
import json
import sqlite3
import time
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, metadata TEXT,
    message_count INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0,
    cost_nanousd INTEGER NOT NULL DEFAULT 0, updated_at INTEGER);
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id),
    role TEXT NOT NULL, content TEXT NOT NULL, model TEXT, tokens_input INTEGER, tokens_output INTEGER,
    cost_nanousd INTEGER, metadata TEXT, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id);
"""


class HandRolledStore:
    def __init__(self, path: str, synchronous: str = "NORMAL"):
        self.con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute(f"PRAGMA synchronous={synchronous}")
        self.con.executescript(SCHEMA)

    def create_conversation(self, user_id: str, title: str, metadata=None) -> str:
        cid = str(uuid.uuid4())
        self.con.execute("INSERT INTO conversations(id, user_id, title, metadata) VALUES (?, ?, ?, ?)",
                         (cid, user_id, title, json.dumps(metadata or {})))
        return cid

    def add_message(self, cid: str, role: str, content: str, model=None, tokens_input=0, tokens_output=0,
                    cost_nanousd=0, metadata=None) -> str:
        mid = str(uuid.uuid4())
        now = int(time.time() * 1e6)
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (mid, cid, role, content, model, tokens_input, tokens_output, cost_nanousd,
                         json.dumps(metadata or {}), now))
            con.execute("UPDATE conversations SET message_count = message_count + 1, tokens = tokens + ?, "
                        "cost_nanousd = cost_nanousd + ?, updated_at = ? WHERE id = ?",
                        (tokens_input + tokens_output, cost_nanousd, now, cid))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return mid

    def recent(self, cid: str, limit: int = 20) -> list:
        rows = self.con.execute("SELECT id, role, content, metadata FROM messages WHERE conversation_id = ? "
                                "ORDER BY rowid DESC LIMIT ?", (cid, limit)).fetchall()
        return [{"id": r[0], "role": r[1], "content": r[2], "metadata": json.loads(r[3])} for r in reversed(rows)]

    def close(self):
        self.con.close()
