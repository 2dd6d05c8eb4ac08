"""Session-style history for agent frameworks, on a convstore conversation.

``AgentSession`` implements the OpenAI Agents SDK ``Session`` protocol (``get_items``, ``add_items``, ``pop_item``,
``clear_session``, all async) without importing the SDK; ``ChatMessageHistory`` is LangChain's chat-history shape
(``messages``, ``add_messages``, ``clear``) over plain dicts.

Where the items live: each item is one message of the session's conversation. The item itself, exactly as given,
is the message's ``raw`` document, which ``get_items`` returns; what convstore understands is also stored
first-class — the text and role of a message item, a ``function_call`` as a pending tool call of its message
(``call_id``, name, arguments), a ``function_call_output`` as a ``tool`` message naming that call (which completes
it), and token usage and cost when ``add_items`` is given the response's usage.

The blocking library calls run in a worker thread (``asyncio.to_thread``), as the SDK's own SQLite session does,
and the library releases the GIL, so the event loop is never blocked. Many sessions may share one file, from many
threads and processes; two processes opening the same new session id at once get one conversation (the
conversation's external id is ``agents-sdk:<session id>``, unique in the file, and creating it is get-or-create).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterable

from .errors import InvalidArgumentError
from .store import Store

__all__ = ["AgentSession", "ChatMessageHistory"]

_MESSAGE_ROLES = ("user", "assistant", "system", "developer")


def _text(content: Any) -> str:
    """The text of a message item's content: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, dict) and isinstance(p.get("refusal"), str):
                parts.append(p["refusal"])
        return "".join(parts)
    return ""


def _usage_dict(usage: Any) -> dict | None:
    """A response's usage as a dict: a dict as given, or the attributes of the SDK's Usage object."""
    if usage is None or isinstance(usage, dict):
        return usage
    out = {}
    for key in ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"):
        v = getattr(usage, key, None)
        if v is not None and not isinstance(v, (int, dict)):
            v = {k: getattr(v, k) for k in ("cached_tokens", "reasoning_tokens") if hasattr(v, k)}
        out[key] = v
    return out


def _usage_request(usage: dict, model: str | None) -> dict:
    """A response's usage (the Responses API's shape) as add_agent_items takes it."""
    out: dict[str, Any] = {}
    for key in ("input_tokens", "output_tokens"):
        if isinstance(usage.get(key), int):
            out[key] = usage[key]
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens")
    if isinstance(cached, int) and cached:
        out["cached_input_tokens"] = cached
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens")
    if isinstance(reasoning, int) and reasoning:
        out["reasoning_tokens"] = reasoning
    if model:
        out["model"] = model
    return out


def _item_of(message: dict) -> dict:
    raw = message.get("raw")
    return raw if raw is not None else {"role": message["role"], "content": message["content"]}


class _SessionConversation:
    """A session's conversation, found or created by its external id ``<prefix>:<session_id>``; owns the store
    when given a path (closed by ``close``), shares it when given a ``Store``."""

    _PREFIX = ""

    def __init__(self, store_or_path: Store | str, session_id: str, user: str):
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgumentError("session_id must be a non-empty string")
        self._owned = not isinstance(store_or_path, Store)
        self.store = Store(store_or_path) if self._owned else store_or_path
        try:
            conversation = self.store.create_conversation(user, title=session_id,
                                                          external_id=f"{self._PREFIX}:{session_id}")
        except BaseException:
            if self._owned:
                self.store.close()
            raise
        self.session_id = session_id
        self.conversation_id = conversation["id"]

    def close(self) -> None:
        """Closes the store when this object opened it (a shared Store is left open)."""
        if self._owned:
            self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AgentSession(_SessionConversation):
    """The Agents SDK ``Session`` protocol on a convstore conversation.

    ``AgentSession("id", "file.db")`` stands in for the SDK's ``SQLiteSession("id", "file.db")``. ``store_or_path``
    is a ``convstore.Store`` (shared, not closed here) or a path (a store opened and owned by the session).
    """

    _PREFIX = "agents-sdk"

    def __init__(self, store_or_path: Store | str, session_id: str, user: str = "agents-sdk", *,
                 model: str | None = None):
        super().__init__(store_or_path, session_id, user)
        self.model = model

    # ---- the Session protocol --------------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[dict]:
        """The session's items in order; with limit, the newest ``limit`` of them."""
        return await asyncio.to_thread(self.get_items_sync, limit)

    async def add_items(self, items: Iterable[dict], usage: Any = None, *, model: str | None = None) -> None:
        """Appends the items in one transaction. ``usage``: the response's usage (a dict or the SDK's Usage:
        input_tokens, output_tokens, their details), recorded once, on the first assistant item, with ``model``
        (default: the session's) so that it is priced and costs and budgets count it."""
        await asyncio.to_thread(self.add_items_sync, list(items), usage, model=model)

    async def pop_item(self) -> dict | None:
        """Removes and returns the newest item; None when the session is empty."""
        return await asyncio.to_thread(self.pop_item_sync)

    async def clear_session(self) -> None:
        """Removes every item (the spend they recorded stays counted)."""
        await asyncio.to_thread(self.clear_session_sync)

    # ---- the same, blocking ----------------------------------------------------------------------------------

    def get_items_sync(self, limit: int | None = None) -> list[dict]:
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise InvalidArgumentError("limit must be an int or None")
        if limit is not None and limit <= 0:
            return []
        if limit is not None and limit <= 1000:
            return self.store.get_items(self.conversation_id, limit)
        items = self.store.get_items(self.conversation_id)
        return items if limit is None else items[-limit:]

    def add_items_sync(self, items: list[dict], usage: Any = None, *, model: str | None = None) -> None:
        items = list(items)
        if not items:
            return
        for item in items:
            if not isinstance(item, dict):
                raise InvalidArgumentError(f"an item must be a dict, not {type(item).__name__}")
        usage = _usage_dict(usage)
        self.store.add_agent_items(self.conversation_id, items,
                                   _usage_request(usage, model or self.model) if usage else None)

    def pop_item_sync(self) -> dict | None:
        popped = self.store.pop_message(self.conversation_id)
        return None if popped is None else _item_of(popped)

    def clear_session_sync(self) -> None:
        self.store.clear_messages(self.conversation_id)


def _history_message(m: dict) -> dict:
    """The convstore message that stores one chat-history dict (kept whole as its raw item)."""
    if not isinstance(m, dict):
        raise InvalidArgumentError(f"a message must be a dict with role and content, not {type(m).__name__}")
    role = m.get("role") or {"human": "user", "ai": "assistant"}.get(m.get("type"), m.get("type"))
    content = m.get("content")
    if not isinstance(role, str) or not isinstance(content, (str, list)):
        raise InvalidArgumentError("a message needs a role (or LangChain type) and a str or list content")
    out: dict[str, Any] = {"role": role, "content": _text(content), "raw": m}
    calls = []
    for c in m.get("tool_calls") or []:  # LangChain's {"id", "name", "args"} or OpenAI's {"id", "function": ...}
        if not isinstance(c, dict):
            continue
        fn = c.get("function") if isinstance(c.get("function"), dict) else {}
        name = c.get("name") or fn.get("name") or "function"
        args = c.get("args", fn.get("arguments"))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                pass
        call = {"tool_name": str(name), "input": args if args is not None else {}, "status": "pending"}
        if c.get("id"):
            call["call_id"] = str(c["id"])
        calls.append(call)
    if calls:
        out["tool_calls"] = calls
    if role == "tool" and m.get("tool_call_id"):
        out["tool_call_id"] = str(m["tool_call_id"])
    return out


class ChatMessageHistory(_SessionConversation):
    """LangChain's chat-history shape (``messages``, ``add_messages``, ``clear``) over plain dicts.

    A message is a dict with "role" (user, assistant, system, developer, tool) or LangChain's "type" (human, ai,
    system, tool) and "content"; it comes back from ``messages`` as given (JSON-equal). An assistant message's
    "tool_calls" (LangChain's or OpenAI's form) become tool calls, and a tool message's "tool_call_id" links its
    result (which must name a call of this history). The conversation's external id is ``langchain:<session id>``.
    """

    _PREFIX = "langchain"

    def __init__(self, store_or_path: Store | str, session_id: str, user: str = "langchain"):
        super().__init__(store_or_path, session_id, user)

    @property
    def messages(self) -> list[dict]:
        """Every message, oldest first."""
        return self.store.get_items(self.conversation_id)

    def add_messages(self, messages: Iterable[dict]) -> None:
        """Appends the messages in one transaction."""
        batch = [_history_message(m) for m in messages]
        if batch:
            self.store.add_messages(self.conversation_id, batch)

    def add_message(self, message: dict) -> None:
        self.add_messages([message])

    def clear(self) -> None:
        """Removes every message (the spend they recorded stays counted)."""
        self.store.clear_messages(self.conversation_id)
