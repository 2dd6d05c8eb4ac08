"""The sync methods' argument checks and errors, without a PostgreSQL (tests/sync/ runs the sync against one)."""

import pytest

import convstore

NOWHERE = "host=/nonexistent-convstore-dir port=1 connect_timeout=1"


@pytest.mark.parametrize("kwargs", [
    {"postgres": ""}, {"postgres": 5}, {"postgres": None}, {"postgres": "x", "schema": 1},
    {"postgres": "x", "batch_entries": True}, {"postgres": "x", "batch_entries": "10"},
    {"postgres": "x", "batch_entries": 0}, {"postgres": "x", "batch_entries": 2**63},
    {"postgres": "x", "label": b"bytes"}, {"postgres": "x", "schema": ""},
    {"postgres": "postgresql://%zz@/x"}, {"postgres": "nonsense_keyword=1"},
])
def test_bad_options_are_refused_and_write_nothing(store, kwargs):
    before = store.journal_status()["last_seq"]
    postgres = kwargs.pop("postgres")
    with pytest.raises(convstore.InvalidArgumentError):
        store.sync_to_postgres(postgres, **kwargs)
    with pytest.raises(convstore.InvalidArgumentError):
        store.start_sync(postgres, **kwargs)
    assert store.journal_status()["last_seq"] == before
    assert not store.sync_status()["running"]


def test_bad_interval_is_refused(store):
    for interval in (0, 3_600_001, True, 1.5):
        with pytest.raises(convstore.InvalidArgumentError):
            store.start_sync(NOWHERE, interval_ms=interval)


def test_an_unreachable_server_is_unavailable_and_writes_nothing(store):
    before = store.journal_status()["last_seq"]
    with pytest.raises(convstore.UnavailableError) as e:
        store.sync_to_postgres(NOWHERE)
    assert isinstance(e.value, ConnectionError)
    assert e.value.code_name == "unavailable"
    assert store.journal_status()["last_seq"] == before


def test_background_sync_reports_failures_and_stops(store):
    store.start_sync(NOWHERE, interval_ms=10)
    with pytest.raises(convstore.ConflictError):
        store.start_sync(NOWHERE)
    status = store.sync_status()
    assert status["running"]
    with pytest.raises(convstore.UnavailableError):
        store.stop_sync()  # the last round's error
    assert not store.sync_status()["running"]
    with pytest.raises(convstore.NotFoundError):
        store.stop_sync()


def test_an_in_memory_store_cannot_be_synced():
    with convstore.Store(":memory:") as s:
        with pytest.raises(convstore.InvalidArgumentError):
            s.sync_to_postgres(NOWHERE)
