"""AIDatabase: the reference V1 sqlite3 class ("Version 1: SQLite"), backed by convstore.

A drop-in for code written against the reference class: the same constructor, method names, arguments and
return shapes (the dicts its sqlite3.Row results gave), so existing callers keep working while gaining
convstore's durability, exact money and safe concurrent use from many threads and processes.

Implemented: ``create_conversation``, ``add_message``, ``get_conversation``, ``get_user_conversations``,
``get_cost_summary``, ``search_by_metadata`` (from the reference design's PostgreSQL version), plus ``close()`` and use
as a context manager.

Shapes (as the original's rows):
  conversation: id, user_id, title, created_at, updated_at, metadata (a JSON *string*), is_archived (0/1)
  message:      id, conversation_id, role, content, model, tokens_input, tokens_output, cost_usd (float|None),
                created_at, metadata (a JSON string)
  search hit:   id, title, source (metadata->>'source': the text of that key's value, or None), created_at
  timestamps:   SQLite CURRENT_TIMESTAMP text, 'YYYY-MM-DD HH:MM:SS' in UTC.

Differences from the original, all deliberate:
  - the file is a convstore database, not the reference V1 schema (an old V1 file is refused with CorruptionError);
  - role "tool" is accepted as well as user/assistant/system; any other role raises InvalidArgumentError;
  - adding a message to an unknown conversation raises NotFoundError (the original inserted an orphan row,
    since sqlite3 does not enforce foreign keys by default); bad input raises instead of being stored;
  - metadata must be a JSON object (dict); its keys come back sorted;
  - total_cost in get_user_conversations is None only when the conversation has no messages (the original
    also gave None when every message's cost was NULL; convstore keeps an exact running total instead);
  - get_cost_summary reads rollups, so "the last N days" starts at the top of the hour N x 24 h ago (all
    users) or at the start of that UTC day (one user: per-user rollups are daily), where the original's window
    starts at that exact second; a day whose messages all have
    no cost shows total_cost 0.0 where the original showed None; totals are summed exactly in nano-USD and
    converted to float once.
"""

from __future__ import annotations

import json
import time
from typing import Callable, Dict, List, Optional, Sequence

from .errors import InvalidArgumentError, NotFoundError
from .store import Store

__all__ = ["AIDatabase"]

_dumps = json.dumps


def _jsonb_text(v) -> str:
    """A JSON value as PostgreSQL prints a jsonb (metadata->>'key' of a non-string): ", " and ": " separators,
    object keys shortest first, then bytewise (jsonb's storage order)."""
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{_dumps(k, ensure_ascii=False)}: {_jsonb_text(v[k])}" for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_jsonb_text(e) for e in v) + "]"
    return _dumps(v, ensure_ascii=False)


def _ts(us: int) -> str:
    """Integer µs since the epoch -> SQLite CURRENT_TIMESTAMP text ('YYYY-MM-DD HH:MM:SS', UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(us // 1_000_000))


def _conversation_row(c: dict) -> dict:
    return {
        "id": c["id"],
        "user_id": c["user"],
        "title": c["title"],
        "created_at": _ts(c["created_at_us"]),
        "updated_at": _ts(c["updated_at_us"]),
        "metadata": _dumps(c["metadata"]),
        "is_archived": 1 if c["archived"] else 0,
    }


def _message_row(m: dict) -> dict:
    return {
        "id": m["id"],
        "conversation_id": m["conversation_id"],
        "role": m["role"],
        "content": m["content"],
        "model": m["model"] or None,
        "tokens_input": m["tokens_input"],
        "tokens_output": m["tokens_output"],
        "cost_usd": m["cost_usd"],
        "created_at": _ts(m["created_at_us"]),
        "metadata": _dumps(m["metadata"]),
    }


class AIDatabase:
    """SQLite database for AI conversations (the reference V1 API on convstore).

    Safe to share between threads; several processes may open the same file.
    """

    def __init__(self, db_path: str = "ai_system.db", **store_options):
        """Opens (creating if needed) the store at db_path. store_options go to convstore.Store."""
        self.db_path = db_path
        self.store = Store(db_path, **store_options)

    def close(self) -> None:
        """Closes the database; idempotent. Later calls raise ClosedError."""
        self.store.close()

    def __enter__(self) -> "AIDatabase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def create_conversation(self, user_id: str, title: str, metadata: Optional[Dict] = None) -> str:
        """Create a new conversation; returns its id."""
        return self.store.create_conversation(user_id, title, metadata=metadata or {})["id"]

    def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        model: Optional[str] = None,
        tokens_input: Optional[int] = None,
        tokens_output: Optional[int] = None,
        cost_usd: Optional[float] = None,
        metadata: Optional[Dict] = None,
    ) -> str:
        """Add a message to a conversation; returns its id."""
        return self.store.add_message(
            conversation_id, role, content, model=model, tokens_input=tokens_input,
            tokens_output=tokens_output, cost_usd=cost_usd, metadata=metadata,
        )["id"]

    # ---- semantic search (the enterprise chapter's semantic_search.py) ------------------------------------

    def set_embedding_function(self, embed: Callable[[str], Sequence[float]], dimension: int,
                               space: str = "semantic") -> None:
        """Registers the function that turns text into an embedding of ``dimension`` floats (the caller's model:
        convstore computes none) and the embedding space (cosine) it fills, created if needed."""
        if not callable(embed):
            raise InvalidArgumentError("embed must be callable")
        self.store.create_embedding_space(space, dimension, metric="cosine")
        self._embed, self._space = embed, space

    def _embedding_of(self, text: str):
        embed = getattr(self, "_embed", None)
        if embed is None:
            raise InvalidArgumentError("no embedding function: call set_embedding_function first")
        return embed(text)

    def store_message_with_embedding(self, conversation_id: str, role: str, content: str,
                                     model: Optional[str] = None) -> str:
        """Stores a message and the embedding of its content; returns the message id."""
        vector = self._embedding_of(content)  # before the message: a failing model writes nothing
        message_id = self.add_message(conversation_id, role, content, model=model)
        self.store.put_embedding(self._space, message_id, vector)
        return message_id

    def semantic_search(self, query_text: str, limit: int = 5) -> List[Dict]:
        """Messages most similar to query_text (cosine over the registered space), most similar first:
        [{"message_id", "content", "conversation_id", "conversation_title", "similarity"}] — the reference
        design's result, computed exactly (no approximate index)."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise InvalidArgumentError("limit must be an integer >= 0")
        if limit == 0:
            return []
        query = self._embedding_of(query_text)
        hits = self.store.search_vectors(self._space, query, k=min(limit, 1000))["hits"]
        return [{"message_id": h["message_id"], "content": h["content"], "conversation_id": h["conversation_id"],
                 "conversation_title": h["conversation_title"], "similarity": h["score"]} for h in hits]

    def get_conversation(self, conversation_id: str) -> Optional[Dict]:
        """Conversation with all messages: {"conversation", "messages", "message_count"}; None if unknown."""
        if not conversation_id or not isinstance(conversation_id, str):
            return None  # what the original's SELECT gave for an id that cannot exist
        try:
            r = self.store.get_conversation(conversation_id)
        except NotFoundError:
            return None
        messages = [_message_row(m) for m in r["messages"]]
        return {
            "conversation": _conversation_row(r["conversation"]),
            "messages": messages,
            "message_count": len(messages),
        }

    def get_user_conversations(self, user_id: str, limit: int = 10) -> List[Dict]:
        """Recent (not archived) conversations of a user, newest updated first, with message_count and
        total_cost. An unknown user gives []; a negative limit means no limit (as SQLite's LIMIT)."""
        rows: List[Dict] = []
        if limit == 0 or not user_id or not isinstance(user_id, str):
            return rows
        cursor = None
        while True:
            want = 1000 if limit < 0 else min(1000, limit - len(rows))
            try:
                page = self.store.list_conversations(user_id, limit=want, cursor=cursor)
            except NotFoundError:
                return rows
            for c in page["items"]:
                row = _conversation_row(c)
                n = c["message_count"]
                row["message_count"] = n
                row["total_cost"] = c["total_cost_usd"] if n else None
                rows.append(row)
            cursor = page["next_cursor"]
            if cursor is None or (limit > 0 and len(rows) >= limit):
                return rows

    def search_by_metadata(self, metadata_filter: Dict, limit: int = 10) -> List[Dict]:
        """Conversations whose metadata @> metadata_filter (PostgreSQL jsonb containment, exactly), newest
        created first: [{"id", "title", "source", "created_at"}]. source is metadata->>'source' (a string value
        as is, any other value as its JSON text, None when absent or null). A negative limit raises
        InvalidArgumentError (as PostgreSQL's LIMIT does)."""
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise InvalidArgumentError("limit must be an integer")
        if limit < 0:
            raise InvalidArgumentError("LIMIT must not be negative")
        rows: List[Dict] = []
        cursor = None
        while len(rows) < limit:
            page = self.store.search_metadata(metadata_filter, limit=min(limit - len(rows), 1000), cursor=cursor)
            for c in page["items"]:
                source = c["metadata"].get("source")
                rows.append({
                    "id": c["id"],
                    "title": c["title"],
                    "source": source if source is None or isinstance(source, str) else _jsonb_text(source),
                    "created_at": _ts(c["created_at_us"]),
                })
            cursor = page["next_cursor"]
            if cursor is None:
                break
        return rows

    def get_cost_summary(self, user_id: Optional[str] = None, days: int = 7) -> Dict:
        """Cost summary for the last N days: {"daily_breakdown": [{"date", "message_count",
        "total_input_tokens", "total_output_tokens", "total_cost"}] (newest first), "total_cost",
        "total_messages", "avg_cost_per_message"}. An unknown user, or days <= 0, gives the empty summary."""
        empty = {"daily_breakdown": [], "total_cost": 0, "total_messages": 0, "avg_cost_per_message": 0}
        if not isinstance(days, int) or isinstance(days, bool):
            raise InvalidArgumentError("days must be an integer")
        if days <= 0:
            return empty
        try:
            # Summaries cover at most 3,660 days (ten years): a longer window is clamped to that.
            s = self.store.cost_summary(days=min(days, 3660), user=user_id or None, source="message")
        except NotFoundError:
            return empty
        daily = [
            {
                "date": d["date"],
                "message_count": d["message_count"],
                "total_input_tokens": d["total_input_tokens"],
                "total_output_tokens": d["total_output_tokens"],
                "total_cost": d["total_cost_usd"],
            }
            for d in s["daily_breakdown"]
        ]
        total_cost = s["total_cost_usd"]
        total_messages = s["total_messages"]
        return {
            "daily_breakdown": daily,
            "total_cost": total_cost,
            "total_messages": total_messages,
            "avg_cost_per_message": total_cost / total_messages if total_messages > 0 else 0,
        }
