"""convstore: durable AI-agent conversation storage in one local SQLite file (Python binding over the C ABI).

    from convstore import Store
    with Store("agent.db") as s:
        conv = s.create_conversation("engineer@company.com", "BGP Route Analysis")
        s.add_message(conv["id"], "user", "Analyze this BGP config")

``AIDatabase`` (convstore.compat) is a drop-in for the reference V1 sqlite3 class.
The shared library is found via CONVSTORE_LIBRARY, next to this package, at the prefix cmake --install put it
in, or by the dynamic loader (see convstore._ffi). Its log lines go to the logging logger "convstore".
"""

from . import _ffi, _logging, errors
from .errors import *  # noqa: F401,F403  (every exception class, listed in errors.__all__)
from ._codec import parse_time
from .store import Store
from ._audit import audit_keypair
from ._ops import (check_store, inspect_store, list_archive, list_backups, prune_archive, prune_backups,
                   restore_backup, restore_to_point, verify_backup)

__version__ = _ffi._PACKAGE_VERSION

_logging.install()

__all__ = ["Store", "AIDatabase", "parse_time", "verify_backup", "restore_backup", "list_archive", "restore_to_point", "inspect_store", "check_store", "list_backups", "prune_backups", "prune_archive", "audit_keypair", "version", "version_number", "abi_version", "__version__", *errors.__all__]


def version() -> str:
    """Version string of the loaded shared library (e.g. "0.1.0")."""
    return _ffi.convstore_version().decode()


def version_number() -> int:
    """Version of the loaded shared library as major * 1000000 + minor * 1000 + patch (0.1.0 is 1000)."""
    return _ffi.convstore_version_number()


def abi_version() -> int:
    """ABI version of the loaded shared library (this package requires _ffi.ABI_VERSION)."""
    return _ffi.convstore_abi_version()


def __getattr__(name):
    if name == "AIDatabase":  # imported lazily: most users never need the compat layer
        from .compat import AIDatabase

        return AIDatabase
    raise AttributeError(f"module 'convstore' has no attribute {name!r}")
