"""The OpenAI Agents SDK's SQLiteSession: its schema and statements on one connection (its file-database path),
re-implemented so that the SDK need not be installed. One transaction per add_items, as the SDK does."""
import asyncio
import json
import sqlite3
import threading


class SdkSQLiteSession:
    """The Agents SDK SQLiteSession's schema and statements on one connection (its file-database path)."""

    def __init__(self, session_id: str, db_path: str, synchronous: str):
        self.session_id = session_id
        self._lock = threading.Lock()
        self.conn = sqlite3.connect(db_path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute("""CREATE TABLE IF NOT EXISTS agent_sessions (session_id TEXT PRIMARY KEY,
            created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)""")
        self.conn.execute("""CREATE TABLE IF NOT EXISTS agent_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL, message_data TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
            FOREIGN KEY (session_id) REFERENCES agent_sessions (session_id) ON DELETE CASCADE)""")
        self.conn.execute("CREATE INDEX IF NOT EXISTS idx_agent_messages_session_id ON agent_messages "
                          "(session_id, id)")
        self.conn.commit()

    def add_items_sync(self, items):
        with self._lock:
            self.conn.execute("INSERT OR IGNORE INTO agent_sessions (session_id) VALUES (?)", (self.session_id,))
            self.conn.executemany("INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
                                  [(self.session_id, json.dumps(i)) for i in items])
            self.conn.execute("UPDATE agent_sessions SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?",
                              (self.session_id,))
            self.conn.commit()

    def get_items_sync(self, limit=None):
        with self._lock:
            rows = self.conn.execute("SELECT message_data FROM agent_messages WHERE session_id = ? "
                                     "ORDER BY id DESC LIMIT ?", (self.session_id, limit)).fetchall()
        out = []
        for (data,) in reversed(rows):
            try:
                out.append(json.loads(data))
            except json.JSONDecodeError:
                continue
        return out

    async def add_items(self, items):
        await asyncio.to_thread(self.add_items_sync, items)

    async def get_items(self, limit=None):
        return await asyncio.to_thread(self.get_items_sync, limit)

    def close(self):
        self.conn.close()
