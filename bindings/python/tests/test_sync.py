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


GLOBAL_BUDGET = {"name": "b", "scope": "global", "period": "day", "hard_limit_usd": "1"}


def test_global_budget_calls_before_use_say_so(store):
    with pytest.raises(convstore.InvalidArgumentError, match="UseGlobalBudgets"):
        store.set_global_budget(**GLOBAL_BUDGET)
    with pytest.raises(convstore.InvalidArgumentError):
        store.delete_global_budget("b")
    with pytest.raises(convstore.InvalidArgumentError):
        store.global_budgets()


@pytest.mark.parametrize("kwargs", [
    {"postgres": ""}, {"postgres": 5}, {"postgres": None}, {"postgres": "x", "schema": ""},
    {"postgres": "x", "when_unreachable": "pray"}, {"postgres": "x", "when_unreachable": 1},
    {"postgres": "x", "local_allowance_usd": "-1"}, {"postgres": "x", "local_allowance_usd": "1000000001"},
    {"postgres": "x", "local_allowance_nanousd": 1.5},
    {"postgres": "x", "local_allowance_usd": "1", "local_allowance_nanousd": 1},
    {"postgres": "postgresql://%zz@/x"}, {"postgres": "nonsense_keyword=1"},
])
def test_bad_global_budget_options_are_refused(store, kwargs):
    postgres = kwargs.pop("postgres")
    with pytest.raises(convstore.InvalidArgumentError):
        store.use_global_budgets(postgres, **kwargs)
    with pytest.raises(convstore.InvalidArgumentError):  # still not in use
        store.global_budgets()


def test_an_unreachable_server_refuses_reservations_and_releases_the_local_one(store):
    store.upsert_user("u@x")
    store.set_budget("local", "global", "day", hard_limit_usd="1")
    store.use_global_budgets(NOWHERE)
    with pytest.raises(convstore.UnavailableError):
        store.set_global_budget(**GLOBAL_BUDGET)
    with pytest.raises(convstore.UnavailableError):
        store.reserve("r1", "u@x", estimated_cost_usd="0.6")
    # The store's own reservation was released: its whole budget is still there for a later admission.
    assert store.get_budgets()[0]["reserved_nanousd"] == 0


def test_an_unreachable_server_admits_within_the_local_allowance(store):
    store.upsert_user("u@x")
    store.use_global_budgets(NOWHERE, when_unreachable="local_allowance", local_allowance_usd="0.50")
    store.reserve("r1", "u@x", estimated_cost_usd="0.30")
    store.reserve("r2", "u@x", estimated_cost_usd="0.20")
    with pytest.raises(convstore.UnavailableError):
        store.reserve("r3", "u@x", estimated_cost_usd="0.01")
    store.release("r1")  # recorded later, once PostgreSQL is back
