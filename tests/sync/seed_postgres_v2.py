# The seed chapter's "Version 2: PostgreSQL" class, verbatim (its imports and the class; its example usage left out),
# so the sync test runs it unchanged against the database convstore syncs into.
import psycopg2
from psycopg2.extras import RealDictCursor, Json
import uuid
from datetime import datetime, timedelta
from typing import List, Dict, Any, Optional

class PostgreSQLDatabase:
    """
    PostgreSQL database for AI conversations.

    Features:
    - Concurrent reads and writes
    - JSONB for flexible metadata (queryable)
    - Advanced indexing
    - ACID transactions

    Perfect for: Production applications at any scale
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 5432,
        database: str = "ai_system",
        user: str = "postgres",
        password: str = "your_password"
    ):
        self.conn_params = {
            "host": host,
            "port": port,
            "database": database,
            "user": user,
            "password": password,
            "cursor_factory": RealDictCursor
        }
        self.create_schema()

    def get_connection(self):
        """Get database connection."""
        return psycopg2.connect(**self.conn_params)

    def create_schema(self):
        """Create database schema with indexes."""
        conn = self.get_connection()
        cur = conn.cursor()

        # Enable UUID extension
        cur.execute("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"")

        # Conversations table
        cur.execute("""
            CREATE TABLE IF NOT EXISTS conversations (
                id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
                user_id VARCHAR(100) NOT NULL,
                title VARCHAR(500),
                created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
                updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
                metadata JSONB DEFAULT '{}'::jsonb,
                is_archived BOOLEAN DEFAULT FALSE
            )
        """)

        # Messages table
        cur.execute("""
            CREATE TABLE IF NOT EXISTS messages (
                id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
                conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                role VARCHAR(20) NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
                content TEXT NOT NULL,
                model VARCHAR(100),
                tokens_input INTEGER,
                tokens_output INTEGER,
                cost_usd DECIMAL(10, 6),
                created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
                metadata JSONB DEFAULT '{}'::jsonb
            )
        """)

        # Indexes for common queries
        cur.execute("""
            CREATE INDEX IF NOT EXISTS idx_conversations_user_id
            ON conversations(user_id)
        """)

        cur.execute("""
            CREATE INDEX IF NOT EXISTS idx_conversations_created_at
            ON conversations(created_at DESC)
        """)

        cur.execute("""
            CREATE INDEX IF NOT EXISTS idx_conversations_user_date
            ON conversations(user_id, created_at DESC)
        """)

        cur.execute("""
            CREATE INDEX IF NOT EXISTS idx_conversations_metadata
            ON conversations USING GIN (metadata)
        """)

        cur.execute("""
            CREATE INDEX IF NOT EXISTS idx_messages_conversation_id
            ON messages(conversation_id)
        """)

        cur.execute("""
            CREATE INDEX IF NOT EXISTS idx_messages_created_at
            ON messages(created_at DESC)
        """)

        # Updated_at trigger
        cur.execute("""
            CREATE OR REPLACE FUNCTION update_updated_at_column()
            RETURNS TRIGGER AS $$
            BEGIN
                NEW.updated_at = CURRENT_TIMESTAMP;
                RETURN NEW;
            END;
            $$ language 'plpgsql'
        """)

        cur.execute("""
            DROP TRIGGER IF EXISTS update_conversations_updated_at
            ON conversations
        """)

        cur.execute("""
            CREATE TRIGGER update_conversations_updated_at
                BEFORE UPDATE ON conversations
                FOR EACH ROW
                EXECUTE FUNCTION update_updated_at_column()
        """)

        conn.commit()
        cur.close()
        conn.close()

    def create_conversation(
        self,
        user_id: str,
        title: str,
        metadata: Optional[Dict] = None
    ) -> str:
        """Create a new conversation."""
        conn = self.get_connection()
        cur = conn.cursor()

        cur.execute("""
            INSERT INTO conversations (user_id, title, metadata)
            VALUES (%s, %s, %s)
            RETURNING id
        """, (user_id, title, Json(metadata or {})))

        conversation_id = cur.fetchone()['id']

        conn.commit()
        cur.close()
        conn.close()

        return str(conversation_id)

    def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        model: Optional[str] = None,
        tokens_input: Optional[int] = None,
        tokens_output: Optional[int] = None,
        cost_usd: Optional[float] = None,
        metadata: Optional[Dict] = None
    ) -> str:
        """Add a message to a conversation."""
        conn = self.get_connection()
        cur = conn.cursor()

        cur.execute("""
            INSERT INTO messages (
                conversation_id, role, content, model,
                tokens_input, tokens_output, cost_usd, metadata
            )
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING id
        """, (
            conversation_id,
            role,
            content,
            model,
            tokens_input,
            tokens_output,
            cost_usd,
            Json(metadata or {})
        ))

        message_id = cur.fetchone()['id']

        # Update conversation updated_at (trigger handles this automatically)

        conn.commit()
        cur.close()
        conn.close()

        return str(message_id)

    def get_conversation(self, conversation_id: str) -> Optional[Dict]:
        """Get conversation with all messages."""
        conn = self.get_connection()
        cur = conn.cursor()

        # Get conversation
        cur.execute("""
            SELECT * FROM conversations WHERE id = %s
        """, (conversation_id,))

        conv_row = cur.fetchone()
        if not conv_row:
            cur.close()
            conn.close()
            return None

        # Get messages
        cur.execute("""
            SELECT * FROM messages
            WHERE conversation_id = %s
            ORDER BY created_at ASC
        """, (conversation_id,))

        messages = cur.fetchall()

        cur.close()
        conn.close()

        return {
            "conversation": dict(conv_row),
            "messages": [dict(m) for m in messages],
            "message_count": len(messages)
        }

    def get_user_conversations(
        self,
        user_id: str,
        limit: int = 10
    ) -> List[Dict]:
        """Get recent conversations for a user."""
        conn = self.get_connection()
        cur = conn.cursor()

        cur.execute("""
            SELECT
                c.*,
                COUNT(m.id) as message_count,
                SUM(m.cost_usd) as total_cost
            FROM conversations c
            LEFT JOIN messages m ON c.id = m.conversation_id
            WHERE c.user_id = %s AND c.is_archived = FALSE
            GROUP BY c.id
            ORDER BY c.updated_at DESC
            LIMIT %s
        """, (user_id, limit))

        conversations = cur.fetchall()

        cur.close()
        conn.close()

        return [dict(c) for c in conversations]

    def search_by_metadata(
        self,
        metadata_filter: Dict,
        limit: int = 10
    ) -> List[Dict]:
        """Search conversations by JSONB metadata."""
        conn = self.get_connection()
        cur = conn.cursor()

        # Use @> operator for JSONB containment
        cur.execute("""
            SELECT id, title, metadata->>'source' as source, created_at
            FROM conversations
            WHERE metadata @> %s::jsonb
            ORDER BY created_at DESC
            LIMIT %s
        """, (Json(metadata_filter), limit))

        results = cur.fetchall()

        cur.close()
        conn.close()

        return [dict(r) for r in results]

    def get_cost_summary(
        self,
        user_id: Optional[str] = None,
        days: int = 7
    ) -> Dict[str, Any]:
        """Get cost summary for last N days."""
        conn = self.get_connection()
        cur = conn.cursor()

        query = """
            SELECT
                DATE(created_at) as date,
                COUNT(*) as message_count,
                SUM(tokens_input) as total_input_tokens,
                SUM(tokens_output) as total_output_tokens,
                SUM(cost_usd) as total_cost
            FROM messages
            WHERE created_at >= CURRENT_TIMESTAMP - INTERVAL '%s days'
        """

        params = [days]

        if user_id:
            query += """
                AND conversation_id IN (
                    SELECT id FROM conversations WHERE user_id = %s
                )
            """
            params.append(user_id)

        query += " GROUP BY DATE(created_at) ORDER BY date DESC"

        cur.execute(query, params)

        daily_costs = cur.fetchall()

        total_cost = sum(float(d['total_cost'] or 0) for d in daily_costs)
        total_messages = sum(d['message_count'] for d in daily_costs)

        cur.close()
        conn.close()

        return {
            "daily_breakdown": [dict(d) for d in daily_costs],
            "total_cost": total_cost,
            "total_messages": total_messages,
            "avg_cost_per_message": total_cost / total_messages if total_messages > 0 else 0
        }


