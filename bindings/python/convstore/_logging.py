"""The library's log lines, delivered to Python's ``logging`` (logger ``"convstore"``).

Installed when the package is imported: ``convstore_set_log_handler`` points the library's (process-wide) log
output at :func:`_forward`, which logs each line on the ``convstore`` logger at the matching level, so an
application configures, filters or silences them like any other library's. Which lines the library produces is
set per store with ``Store(..., log_level=...)`` (default ``"warn"``). At interpreter exit the handler is removed
again, so a store closed later (by a C++ static destructor, say) writes to standard error instead of calling into
a finished interpreter.
"""

from __future__ import annotations

import atexit
import logging

from . import _ffi

TRACE = 5  # below logging.DEBUG: the library's trace level
logging.addLevelName(TRACE, "TRACE")
_LEVELS = {
    _ffi.CONVSTORE_LOG_TRACE: TRACE,
    _ffi.CONVSTORE_LOG_DEBUG: logging.DEBUG,
    _ffi.CONVSTORE_LOG_INFO: logging.INFO,
    _ffi.CONVSTORE_LOG_WARN: logging.WARNING,
    _ffi.CONVSTORE_LOG_ERROR: logging.ERROR,
}

_logger = logging.getLogger("convstore")


def _forward(_user_data, level: int, message: bytes) -> None:
    try:
        _logger.log(_LEVELS.get(level, logging.ERROR), "%s", message.decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001  (a failing log handler must not fail the store call that logged)
        pass


_handler = _ffi.convstore_log_fn(_forward)  # kept referenced for as long as the library may call it


def install() -> None:
    """Sends the library's log lines to the ``convstore`` logger (done on import)."""
    _ffi.convstore_set_log_handler(_handler, None)


def uninstall() -> None:
    """Sends the library's log lines to standard error again."""
    _ffi.convstore_set_log_handler(_ffi.convstore_log_fn(), None)  # a NULL function pointer


atexit.register(uninstall)
