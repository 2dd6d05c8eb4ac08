"""Shared fixtures. Makes the in-tree package importable; the library is found by convstore._ffi (the suite sets
CONVSTORE_LIBRARY to the library it built)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import convstore  # noqa: E402


@pytest.fixture
def db_path(tmp_path):
    """Path of a not-yet-existing store file in a fresh temp dir."""
    return str(tmp_path / "store.db")


@pytest.fixture
def store(db_path):
    """A Store on a temp file, closed after the test."""
    with convstore.Store(db_path) as s:
        yield s


@pytest.fixture(params=["file", "memory"])
def any_store(request, tmp_path):
    """A Store on a temp file, then on :memory:."""
    path = str(tmp_path / "any.db") if request.param == "file" else ":memory:"
    with convstore.Store(path) as s:
        yield s


def message_count(store, conversation_id):
    """message_count as stored, and the number of messages actually readable (they must agree)."""
    r = store.get_conversation(conversation_id)
    assert r["message_count"] == len(r["messages"]) == r["conversation"]["message_count"]
    return r["message_count"]
