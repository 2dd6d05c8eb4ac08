"""Exceptions raised by convstore: one class per C result code (CONVSTORE_* in convstore.h).

Every exception is a :class:`ConvstoreError` carrying ``.code`` (the int result code) and ``.code_name``
(its stable lowercase name, e.g. ``"not_found"``). Use :func:`error_from_code` to turn a code and a message
into the matching exception.

Where a built-in exception means the same, the class also derives from it, so ordinary handlers work:
``InvalidArgumentError`` and ``TooLargeError`` are ``ValueError``, ``NotFoundError`` is a ``LookupError``,
``BusyError`` a ``TimeoutError``, ``StorageIOError`` an ``OSError``, ``ReadOnlyError`` a ``PermissionError``,
``UnavailableError`` a ``ConnectionError``, ``ClosedError`` and ``InternalError`` are ``RuntimeError``.
"""

from __future__ import annotations

__all__ = [
    "ConvstoreError",
    "InvalidArgumentError",
    "NotFoundError",
    "ConflictError",
    "BusyError",
    "StorageIOError",
    "CorruptionError",
    "ClosedError",
    "SchemaTooNewError",
    "TooLargeError",
    "InternalError",
    "BudgetExceededError",
    "ReadOnlyError",
    "UnavailableError",
    "error_from_code",
]


class ConvstoreError(Exception):
    """Base class of every convstore failure.

    Attributes:
        code: the C result code (an int, never 0).
        code_name: its stable lowercase name ("invalid_argument", "not_found", ...; "unknown" otherwise).
        message: the library's message.
    """

    code: int = -1
    code_name: str = "unknown"

    def __init__(self, message: str = "", code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None and code != type(self).code:
            self.code = code
            self.code_name = _NAMES.get(code, "unknown")

    def __str__(self) -> str:
        return f"{self.code_name}: {self.message}" if self.message else self.code_name


class InvalidArgumentError(ConvstoreError, ValueError):
    """Bad input (CONVSTORE_INVALID_ARGUMENT); nothing was written."""

    code, code_name = 1, "invalid_argument"


class NotFoundError(ConvstoreError, LookupError):
    """Unknown id or key (CONVSTORE_NOT_FOUND)."""

    code, code_name = 2, "not_found"


class ConflictError(ConvstoreError):
    """A conflicting write, e.g. a request_id already used in another conversation (CONVSTORE_CONFLICT)."""

    code, code_name = 3, "conflict"


class BusyError(ConvstoreError, TimeoutError):
    """The database stayed locked past the busy timeout (CONVSTORE_BUSY)."""

    code, code_name = 4, "busy"


class StorageIOError(ConvstoreError, OSError):
    """The OS refused an operation, or the disk is full (CONVSTORE_IO_ERROR)."""

    code, code_name = 5, "io_error"


class CorruptionError(ConvstoreError):
    """The file is not a healthy convstore database (CONVSTORE_CORRUPTION)."""

    code, code_name = 6, "corruption"


class ClosedError(ConvstoreError, RuntimeError):
    """The store was closed or shut down (CONVSTORE_CLOSED)."""

    code, code_name = 7, "closed"


class SchemaTooNewError(ConvstoreError):
    """The file was written by a newer convstore (CONVSTORE_SCHEMA_TOO_NEW)."""

    code, code_name = 8, "schema_too_new"


class TooLargeError(ConvstoreError, ValueError):
    """A value beyond a documented limit (CONVSTORE_TOO_LARGE)."""

    code, code_name = 9, "too_large"


class InternalError(ConvstoreError, RuntimeError):
    """A bug in convstore or out of memory (CONVSTORE_INTERNAL)."""

    code, code_name = 10, "internal"


class BudgetExceededError(ConvstoreError):
    """A reservation would take a scope past its hard budget; nothing was written (CONVSTORE_BUDGET_EXCEEDED)."""

    code, code_name = 11, "budget_exceeded"


class ReadOnlyError(ConvstoreError, PermissionError):
    """A write to a store opened read-only, or a file or directory this process may not write
    (CONVSTORE_READ_ONLY)."""

    code, code_name = 12, "read_only"


class UnavailableError(ConvstoreError, ConnectionError):
    """A server convstore works with (PostgreSQL) cannot be reached now; retrying later may succeed
    (CONVSTORE_UNAVAILABLE)."""

    code, code_name = 13, "unavailable"


_BY_CODE: dict[int, type[ConvstoreError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        ConflictError,
        BusyError,
        StorageIOError,
        CorruptionError,
        ClosedError,
        SchemaTooNewError,
        TooLargeError,
        InternalError,
        BudgetExceededError,
        ReadOnlyError,
        UnavailableError,
    )
}
_NAMES: dict[int, str] = {code: cls.code_name for code, cls in _BY_CODE.items()}


def error_from_code(code: int, message: str = "") -> ConvstoreError:
    """Returns (does not raise) the exception for a non-zero result code; unknown codes give a ConvstoreError."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return ConvstoreError(message, code)
    return cls(message)
