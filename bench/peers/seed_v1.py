"""The seed chapter's V1 AIDatabase class: its schema and its add_message, verbatim, on Python's sqlite3 with default
settings (rollback journal, synchronous=FULL): INSERT + UPDATE conversations + conn.commit() per message."""
import json
import sqlite3
import uuid


class V1Database:
    """The chapter's V1 AIDatabase: its schema and its add_message, on default sqlite3 settings."""

    def __init__(self, db_path):
        self.conn = sqlite3.connect(db_path, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        cursor = self.conn.cursor()
        cursor.execute("""
            CREATE TABLE IF NOT EXISTS conversations (
                id TEXT PRIMARY KEY, user_id TEXT NOT NULL, title TEXT,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                metadata TEXT, is_archived INTEGER DEFAULT 0)""")
        cursor.execute("""
            CREATE TABLE IF NOT EXISTS messages (
                id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
                content TEXT NOT NULL, model TEXT, tokens_input INTEGER, tokens_output INTEGER, cost_usd REAL,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, metadata TEXT,
                FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE)""")
        cursor.execute("CREATE INDEX IF NOT EXISTS idx_conversations_user ON conversations(user_id)")
        cursor.execute("CREATE INDEX IF NOT EXISTS idx_messages_conversation ON messages(conversation_id)")
        self.conn.commit()

    def create_conversation(self, user_id, title, metadata=None):
        conversation_id = str(uuid.uuid4())
        self.conn.cursor().execute(
            "INSERT INTO conversations (id, user_id, title, metadata) VALUES (?, ?, ?, ?)",
            (conversation_id, user_id, title, json.dumps(metadata or {})))
        self.conn.commit()
        return conversation_id

    def add_message(self, conversation_id, role, content, model=None, tokens_input=None, tokens_output=None,
                    cost_usd=None, metadata=None):
        message_id = str(uuid.uuid4())
        cursor = self.conn.cursor()
        cursor.execute("""
            INSERT INTO messages (
                id, conversation_id, role, content, model,
                tokens_input, tokens_output, cost_usd, metadata
            )
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """, (message_id, conversation_id, role, content, model, tokens_input, tokens_output, cost_usd,
              json.dumps(metadata or {})))
        cursor.execute("UPDATE conversations SET updated_at = CURRENT_TIMESTAMP WHERE id = ?", (conversation_id,))
        self.conn.commit()
        return message_id

    def recent(self, conversation_id, limit=20):
        rows = self.conn.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY created_at DESC, rowid DESC "
                                 "LIMIT ?", (conversation_id, limit)).fetchall()
        return [dict(r) for r in reversed(rows)]

    def close(self):
        self.conn.close()
