"""Vector search from Python: results equal a brute-force reference computed with numpy (cosine, dot, L2; int8 with
rescoring), filters before ranking, vectors given as lists, array.array and numpy arrays (float32 without a copy,
float64 converted), deleted vectors never returned, hybrid fusion, bad input refused with nothing written."""

import array
import os
import sqlite3

import numpy as np
import pytest

import convstore
from convstore.errors import ConflictError, InvalidArgumentError, NotFoundError

DIM = 16


def corpus(store, n=300, metric="cosine", quantization="none", seed=1):
    rng = np.random.default_rng(seed)
    store.create_embedding_space("s", DIM, metric=metric, quantization=quantization)
    convs = [store.create_conversation(f"user{i % 4}")["id"] for i in range(8)]
    ids, users, roles = [], [], []
    for i in range(n):
        c = i % 8
        role = "assistant" if i % 3 == 0 else "user"
        ids.append(store.add_message(convs[c], role, f"message {i}", metadata={"n": i % 5})["id"])
        users.append(f"user{c % 4}")
        roles.append(role)
    centres = rng.normal(size=(4, DIM)).astype(np.float32)
    vectors = (centres[rng.integers(0, 4, n)] + 0.3 * rng.normal(size=(n, DIM))).astype(np.float32)
    store.put_embeddings("s", ids, vectors)  # a 2-D numpy array, float32: passed as is
    return ids, users, roles, vectors


def reference(vectors, q, metric, k, keep=None):
    v = vectors.astype(np.float64)
    q = np.asarray(q, dtype=np.float64)
    if metric == "cosine":
        scores = v @ q / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    elif metric == "dot":
        scores = v @ q
    else:
        scores = -np.linalg.norm(v - q, axis=1)
    order = sorted(range(len(v)), key=lambda i: (-scores[i], -i))
    if keep is not None:
        order = [i for i in order if keep(i)]
    return order[:k], scores


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_results_equal_numpy_brute_force(store, metric):
    ids, _, _, vectors = corpus(store, metric=metric)
    rng = np.random.default_rng(9)
    for _ in range(5):
        q = rng.normal(size=DIM).astype(np.float32)
        got = store.search_vectors("s", q, k=10)
        want, scores = reference(vectors, q, metric, 10)
        assert [h["message_id"] for h in got["hits"]] == [ids[i] for i in want]
        for h, i in zip(got["hits"], want):
            assert h["score"] == pytest.approx(scores[i], abs=1e-5)


def test_filters_apply_before_ranking(store):
    ids, users, roles, vectors = corpus(store, n=400)
    q = np.ones(DIM, dtype=np.float32)
    for kwargs, keep in (({"user": "user2"}, lambda i: users[i] == "user2"),
                         ({"role": "assistant"}, lambda i: roles[i] == "assistant"),
                         ({"user": "user1", "metadata_contains": {"n": 3}},
                          lambda i: users[i] == "user1" and i % 5 == 3)):
        got = store.search_vectors("s", q, k=20, **kwargs)
        want, _ = reference(vectors, q, "cosine", 20, keep)
        assert [h["message_id"] for h in got["hits"]] == [ids[i] for i in want]
        assert got["candidates"] == sum(1 for i in range(len(ids)) if keep(i))


def test_int8_recall(store):
    ids, _, _, vectors = corpus(store, n=500, quantization="int8")
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(20):
        q = rng.normal(size=DIM).astype(np.float32)
        got = store.search_vectors("s", q, k=10)
        assert got["plan"] == "exact int8 + rescore"
        want, _ = reference(vectors, q, "cosine", 10)
        found += len({h["message_id"] for h in got["hits"]} & {ids[i] for i in want})
    assert found / 200 >= 0.99


def test_every_kind_of_vector_argument(store):
    c = store.create_conversation("ana")["id"]
    m = store.add_message(c, "user", "x")["id"]
    store.create_embedding_space("v", 3, metric="l2")
    for vector in ([1, 2, 3], (1.0, 2.0, 3.0), array.array("f", [1, 2, 3]), array.array("d", [1, 2, 3]),
                   np.array([1, 2, 3], dtype=np.float32), np.array([1, 2, 3], dtype=np.float64),
                   np.array([1, 2, 3], dtype=np.int32), memoryview(array.array("f", [1, 2, 3]))):
        store.put_embedding("v", m, vector)
        assert list(store.get_embedding("v", m)) == [1.0, 2.0, 3.0]
        hit = store.search_vectors("v", vector, k=1)["hits"][0]
        assert hit["message_id"] == m and hit["distance"] == pytest.approx(0)
    store.put_embeddings("v", [m], [np.array([4, 5, 6], dtype=np.float32)])  # a list of numpy rows
    assert list(store.get_embedding("v", m)) == [4.0, 5.0, 6.0]
    assert store.delete_embedding("v", m) is True
    assert store.get_embedding("v", m) is None
    assert store.delete_embedding("v", m) is False


def test_deleted_vectors_are_never_returned(db_path):
    with convstore.Store(db_path) as s:
        ids, _, _, vectors = corpus(s, n=60, metric="l2")
        assert s.search_vectors("s", vectors[5], k=1)["hits"][0]["message_id"] == ids[5]
        s.delete_message(ids[5])
        assert s.search_vectors("s", vectors[5], k=1)["hits"][0]["message_id"] != ids[5]
        raw = sqlite3.connect(db_path)
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("DELETE FROM messages WHERE uid = ?", (ids[6],))
        raw.commit()
        raw.close()
        assert s.search_vectors("s", vectors[6], k=1)["hits"][0]["message_id"] != ids[6]
        with convstore.Store(db_path) as other:
            other.delete_embedding("s", ids[7])
        assert s.search_vectors("s", vectors[7], k=1)["hits"][0]["message_id"] != ids[7]


def test_hybrid(store):
    store.create_embedding_space("h", 2)
    c = store.create_conversation("ana")["id"]
    a = store.add_message(c, "user", "bgp flap on edge")["id"]
    b = store.add_message(c, "user", "invoice question")["id"]
    store.put_embeddings("h", [a, b], [[0, 1], [1, 0]])
    got = store.search_hybrid("bgp", "h", [1, 0], limit=5)
    assert [h["message_id"] for h in got["hits"]] == [a, b]  # a: text rank 1 and vector rank 2; b: vector rank 1
    assert got["hits"][0]["text_rank"] == 1 and got["hits"][0]["vector_rank"] == 2
    assert got["hits"][0]["score"] == pytest.approx(1 / 61 + 1 / 62)
    assert got["hits"][1]["snippet"] is None and got["hits"][1]["text_rank"] is None


def test_bad_input_is_refused_and_writes_nothing(store):
    c = store.create_conversation("ana")["id"]
    m = store.add_message(c, "user", "x")["id"]
    store.create_embedding_space("b", 3)
    with pytest.raises(ConflictError):
        store.create_embedding_space("b", 4)
    for bad in ([1, 2], [1, float("nan"), 3], [0, 0, 0], ["a", "b", "c"], [], "abc", None):
        with pytest.raises(InvalidArgumentError):
            store.put_embedding("b", m, bad)
    with pytest.raises(InvalidArgumentError):
        store.put_embeddings("b", [m, m], [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(InvalidArgumentError):
        store.put_embeddings("b", [m], [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(NotFoundError):
        store.put_embedding("nope", m, [1, 2, 3])
    with pytest.raises(NotFoundError):
        store.put_embedding("b", "no-such-message", [1, 2, 3])
    with pytest.raises(InvalidArgumentError):
        store.search_vectors("b", [1, 2], k=1)
    with pytest.raises(InvalidArgumentError):
        store.search_vectors("b", [1, 2, 3], k=0)
    with pytest.raises(InvalidArgumentError):
        store.search_vectors("b", [[1, 2, 3]])
    with pytest.raises(InvalidArgumentError):
        store.create_embedding_space("c", 3, metric="hamming")
    assert store.embedding_spaces()[0]["vectors"] == 0
    store.drop_embedding_space("b")
    assert store.embedding_spaces() == []
    with pytest.raises(NotFoundError):
        store.drop_embedding_space("b")


def test_memory_budget(db_path):
    with convstore.Store(db_path) as s:
        ids, _, _, vectors = corpus(s, n=50, metric="l2")
        in_memory = s.search_vectors("s", vectors[3], k=5)
    with convstore.Store(db_path, vector_memory_budget_bytes=0) as s:
        streamed = s.search_vectors("s", vectors[3], k=5)
        assert streamed["plan"] == "exact (streamed)"
        assert [h["message_id"] for h in streamed["hits"]] == [h["message_id"] for h in in_memory["hits"]]
        s.set_vector_memory_budget(1 << 30)
        assert s.search_vectors("s", vectors[3], k=5)["plan"] == "exact"
        assert s.embedding_spaces()[0]["memory_bytes"] > 0
        with pytest.raises(InvalidArgumentError):
            s.set_vector_memory_budget(-1)
    with pytest.raises(InvalidArgumentError):
        convstore.Store(db_path, vector_memory_budget_bytes=-1)


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_approximate_index_recall_and_exact_fallbacks(store, metric):
    ids, users, _, vectors = corpus(store, n=500, metric=metric)
    info = store.create_vector_index("s", m=12, ef_construction=100, ef_search=80)
    assert info["space"] == "s" and info["index"] == {"kind": "hnsw", "m": 12, "ef_construction": 100,
                                                      "ef_search": 80}
    assert info["vectors"] == 500 and info["memory_bytes"] > 500 * DIM * 4
    assert info["recall_queries"] == 100 and 0.9 <= info["recall_at_10"] <= 1.0
    assert store.embedding_spaces()[0]["index"]["m"] == 12
    rng = np.random.default_rng(4)
    found = 0
    for _ in range(10):
        q = rng.normal(size=DIM).astype(np.float32)
        got = store.search_vectors("s", q, k=10)
        assert got["plan"] == "hnsw" and len(got["hits"]) == 10
        want, scores = reference(vectors, q, metric, 10)
        found += len({h["message_id"] for h in got["hits"]} & {ids[i] for i in want})
        exact = store.search_vectors("s", q, k=10, exact=True)
        assert exact["plan"] == "exact" and [h["message_id"] for h in exact["hits"]] == [ids[i] for i in want]
        filtered = store.search_vectors("s", q, k=5, user="user1")
        assert filtered["plan"] == "exact"
        assert [h["message_id"] for h in filtered["hits"]] == \
            [ids[i] for i in reference(vectors, q, metric, 5, keep=lambda i: users[i] == "user1")[0]]
    # The inner product is no metric (a vector is not its own nearest neighbour): a graph finds fewer of the true
    # top 10 for it than for cosine or L2 at the same settings.
    assert found / 100 >= (0.8 if metric == "dot" else 0.9)
    # A deleted vector never comes back, even from the graph.
    store.delete_embedding("s", ids[7])
    got = store.search_vectors("s", vectors[7], k=500, ef_search=600)
    assert ids[7] not in {h["message_id"] for h in got["hits"]} and len(got["hits"]) == 499
    assert store.drop_vector_index("s") is True
    assert store.drop_vector_index("s") is False
    assert store.search_vectors("s", vectors[3], k=1)["plan"] == "exact"
    assert store.embedding_spaces()[0]["index"] is None


def test_bad_index_requests_are_refused_and_write_nothing(store, db_path):
    corpus(store, n=20)
    for kwargs in ({"m": 1}, {"m": 101}, {"m": "16"}, {"m": 16, "ef_construction": 4}, {"ef_search": 0},
                   {"ef_search": 10001}, {"m": True}):
        with pytest.raises(InvalidArgumentError):
            store.create_vector_index("s", **kwargs)
    with pytest.raises(NotFoundError):
        store.create_vector_index("nope")
    with pytest.raises(NotFoundError):
        store.drop_vector_index("nope")
    with pytest.raises(InvalidArgumentError):
        store.search_vectors("s", [1.0] * DIM, ef_search=0 - 1)
    with pytest.raises(InvalidArgumentError):
        store.search_vectors("s", [1.0] * DIM, exact="yes")
    store.set_vector_memory_budget(100)
    with pytest.raises(convstore.TooLargeError):
        store.create_vector_index("s")
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT count(*) FROM meta WHERE key LIKE 'vector_index.%'").fetchone()[0] == 0
