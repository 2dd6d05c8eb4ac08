"""The vector search methods of Store: embedding spaces, their vectors, nearest neighbours and hybrid search
(docs/search.md, "Vectors").

Vectors cross the C ABI as float32 arrays. Anything with the buffer protocol — ``array.array('f')``, a numpy array,
a ``memoryview`` — is passed without a copy when it already holds contiguous float32; other numbers (a list, numpy
float64) are converted first. A mixin (kept apart from store.py so each file has one concern).
"""

from __future__ import annotations

import array
from ctypes import byref, c_float, c_int, c_int64, c_void_p

from . import _ffi
from ._codec import Time, c_string, dumps
from ._search import add_filter
from .errors import InvalidArgumentError

__all__ = ["VectorMixin"]

_TARGETS = ("messages", "conversations")
_METRICS = ("cosine", "dot", "l2")
_QUANTIZATIONS = ("none", "int8")


def _numpy_float32(obj):
    """A C-contiguous float32 numpy array of obj when obj is a numpy array, else None."""
    if type(obj).__module__.split(".")[0] != "numpy":
        return None
    import numpy  # the caller passed one: numpy is there

    return numpy.ascontiguousarray(obj, dtype=numpy.float32)


def _floats(obj, what: str):
    """(ctypes float array, shape) for a vector or a matrix of them; the array keeps its source alive."""
    as_numpy = _numpy_float32(obj)
    if as_numpy is not None:
        obj = as_numpy
    if as_numpy is not None or isinstance(obj, (array.array, memoryview, bytes, bytearray)):
        view = memoryview(obj)
        if view.format in ("f", "<f", "=f") and view.c_contiguous:
            n = view.nbytes // 4
            if n == 0:
                raise InvalidArgumentError(f"{what} is empty")
            shape = tuple(view.shape) if view.ndim else (n,)
            floats = (c_float * n).from_buffer_copy(view) if view.readonly else (c_float * n).from_buffer(view)
            return floats, shape
        obj = view.tolist()
    try:
        items = list(obj)
    except TypeError:
        raise InvalidArgumentError(f"{what} must be a sequence of numbers or a buffer of float32") from None
    flat = array.array("f")
    try:
        if items and not isinstance(items[0], (int, float)):  # one row per item
            width = None
            for row in items:
                row_np = _numpy_float32(row)
                row = row_np.tolist() if row_np is not None else list(row)
                if width is not None and len(row) != width:
                    raise InvalidArgumentError(f"{what}: rows of different lengths ({width} and {len(row)})")
                width = len(row)
                flat.extend(float(x) for x in row)
            shape = (len(items), width or 0)
        else:
            flat.extend(float(x) for x in items)
            shape = (len(flat),)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgumentError(f"{what} must hold numbers") from None
    if len(flat) == 0:
        raise InvalidArgumentError(f"{what} is empty")
    return (c_float * len(flat)).from_buffer(flat), shape


class VectorMixin:
    """Vector search methods; mixed into Store (which provides _call, _do and _h)."""

    def create_embedding_space(self, name: str, dimension: int, *, target: str = "messages",
                               metric: str = "cosine", quantization: str = "none") -> dict:
        """Creates a space of vectors of ``dimension`` floats for messages or conversations (the same spec again
        returns the space; another spec raises ConflictError). metric: "cosine", "dot" or "l2"; quantization
        "int8" scans an int8 copy first and rescores its best candidates exactly."""
        if target not in _TARGETS:
            raise InvalidArgumentError(f"target must be one of {_TARGETS}")
        if metric not in _METRICS:
            raise InvalidArgumentError(f"metric must be one of {_METRICS}")
        if quantization not in _QUANTIZATIONS:
            raise InvalidArgumentError(f"quantization must be one of {_QUANTIZATIONS}")
        spec = {"name": name, "dimension": dimension, "target": target, "metric": metric,
                "quantization": quantization}
        return self._call(_ffi.convstore_create_embedding_space, dumps(spec))

    def embedding_spaces(self) -> list:
        """Every space: {"name", "target", "dimension", "metric", "quantization", "vectors", "created_at",
        "created_at_us", "memory_bytes", "index" (its approximate index's setting, or None)}, by name."""
        return self._call(_ffi.convstore_list_embedding_spaces)["spaces"]

    def drop_embedding_space(self, name: str) -> None:
        """Drops the space and all its vectors (NotFoundError for an unknown name)."""
        self._do(_ffi.convstore_drop_embedding_space, c_string(name, "name"))

    def put_embeddings(self, space: str, ids, vectors) -> None:
        """Stores one vector per id (message ids, or conversation ids in a conversation space), replacing earlier
        ones, all or nothing. ``vectors``: a sequence of vectors, or a 2-D float array (numpy, or a buffer of
        len(ids) * dimension float32)."""
        ids = list(ids)
        if not ids:
            raise InvalidArgumentError("no ids given")
        floats, shape = _floats(vectors, "vectors")
        total = len(floats)
        if total % len(ids) != 0 or (len(shape) == 2 and shape[0] != len(ids)):
            raise InvalidArgumentError(f"{len(ids)} ids and vectors of shape {tuple(shape)}")
        self._do(_ffi.convstore_put_embeddings, c_string(space, "space"), dumps(ids), floats,
                 c_int64(total // len(ids)))

    def put_embedding(self, space: str, id: str, vector) -> None:
        """Stores one row's vector (put_embeddings with one row)."""
        floats, _ = _floats(vector, "vector")
        self._do(_ffi.convstore_put_embeddings, c_string(space, "space"), dumps([id]), floats, c_int64(len(floats)))

    def delete_embedding(self, space: str, id: str) -> bool:
        """Removes a row's vector; False when it had none."""
        deleted = c_int(0)
        self._do(_ffi.convstore_delete_embedding, c_string(space, "space"), c_string(id, "id"), byref(deleted))
        return bool(deleted.value)

    def get_embedding(self, space: str, id: str):
        """The row's vector as stored (an array.array of float32), or None."""
        out = c_void_p()
        dim = c_int64(0)
        self._do(_ffi.convstore_get_embedding, c_string(space, "space"), c_string(id, "id"), byref(out), byref(dim))
        if not out.value:
            return None
        try:
            values = (c_float * dim.value).from_address(out.value)
            return array.array("f", values)
        finally:
            _ffi.convstore_free(out.value)

    def set_vector_memory_budget(self, nbytes: int) -> None:
        """The most this handle's in-memory copies of embedding spaces may hold (default 4 GiB); a space that does
        not fit is searched from the file, exactly but slower; 0 keeps no copies."""
        if not isinstance(nbytes, int) or isinstance(nbytes, bool) or not 0 <= nbytes < 2**63:
            raise InvalidArgumentError("the budget must be an integer number of bytes >= 0")
        self._do(_ffi.convstore_set_vector_memory_budget, c_int64(nbytes))

    def create_vector_index(self, space: str, *, m: int = 16, ef_construction: int = 200,
                            ef_search: int = 64) -> dict:
        """Gives the space an approximate nearest-neighbour index (HNSW) and builds this handle's with every core
        (on a space whose index has this setting already, builds this handle's if it has none). In memory only,
        kept current with every write; unfiltered searches use it unless they ask ``exact``. m: links per node
        (2..100); ef_construction: m..10000; ef_search: the search's candidate list (1..10000). TooLargeError when
        the copy and the index would not fit in the vector memory budget.

        Returns {"space", "index": {"kind", "m", "ef_construction", "ef_search"}, "vectors", "memory_bytes",
        "build_seconds", "recall_at_10" (against the exact search over "recall_queries" of the space's own vectors;
        None under 11 vectors), "recall_queries"}."""
        spec = {"kind": "hnsw", "m": m, "ef_construction": ef_construction, "ef_search": ef_search}
        return self._call(_ffi.convstore_create_vector_index, c_string(space, "space"), dumps(spec))

    def drop_vector_index(self, space: str) -> bool:
        """Removes the space's approximate index; False when it had none."""
        dropped = c_int(0)
        self._do(_ffi.convstore_drop_vector_index, c_string(space, "space"), byref(dropped))
        return bool(dropped.value)

    def search_vectors(self, space: str, vector, *, k: int = 10, user: str | None = None, team: str | None = None,
                       conversation_id: str | None = None, role: str | None = None, model: str | None = None,
                       from_: Time | None = None, to: Time | None = None, metadata_contains=None,
                       metadata_where: dict | None = None, rescore_factor: int = 10, exact: bool = False,
                       ef_search: int | None = None) -> dict:
        """The k nearest neighbours of ``vector`` in the space, closest first; the filters (as in search_text)
        apply before ranking, so k hits come back whenever k rows with a vector match. Exact, unless the space has
        an approximate index (create_vector_index), the search is unfiltered and ``exact`` is False: then the
        index's candidates, scored exactly (plan "hnsw"); ``ef_search`` overrides the index's candidate list.

        Returns {"hits": [{"message_id" (None in a conversation space), "conversation_id", "conversation_title",
        "user", "role", "model", "content", "created_at", "created_at_us", "score" (higher is closer),
        "distance"}], "plan", "candidates"}."""
        floats, shape = _floats(vector, "vector")
        if len(shape) != 1:
            raise InvalidArgumentError("vector must be one-dimensional")
        if not isinstance(exact, bool):
            raise InvalidArgumentError("exact must be a bool")
        q = {"space": space, "k": k, "rescore_factor": rescore_factor, "exact": exact}
        if ef_search is not None:
            q["ef_search"] = ef_search
        add_filter(q, user, team, conversation_id, role, model, from_, to, metadata_contains, metadata_where)
        return self._call(_ffi.convstore_search_vectors, dumps(q), floats, c_int64(len(floats)))

    def search_hybrid(self, text: str, space: str, vector, *, limit: int = 10, candidates: int = 100,
                      text_weight: float = 1.0, vector_weight: float = 1.0, rrf_k: int = 60,
                      syntax: str = "plain", target: str = "messages", user: str | None = None,
                      team: str | None = None, conversation_id: str | None = None, role: str | None = None,
                      model: str | None = None, from_: Time | None = None, to: Time | None = None,
                      metadata_contains=None, metadata_where: dict | None = None) -> dict:
        """Full-text and vector search fused by reciprocal rank fusion: each row scores
        text_weight / (rrf_k + its text rank) + vector_weight / (rrf_k + its vector rank) over the ``candidates``
        best of each list (the filters apply to both). Returns {"hits": [{the row's fields, "score",
        "text_rank", "vector_rank", "snippet", "vector_score"}], "unindexed"}."""
        floats, shape = _floats(vector, "vector")
        if len(shape) != 1:
            raise InvalidArgumentError("vector must be one-dimensional")
        t = {"text": text, "syntax": syntax, "target": target}
        add_filter(t, user, team, conversation_id, role, model, from_, to, metadata_contains, metadata_where)
        q = {"text": t, "space": space, "limit": limit, "candidates": candidates, "text_weight": text_weight,
             "vector_weight": vector_weight, "rrf_k": rrf_k}
        return self._call(_ffi.convstore_search_hybrid, dumps(q), floats, c_int64(len(floats)))
