#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above it or of a sibling engine.

The layers, bottom to top (docs/architecture.md draws them):

  util        status macros, validation, JSON, time, UTF-8, UUIDs, fork safety, logging
  sqlite      connections, statements, the reader pool, the write queue
  records     the rows of users, teams, conversations, messages, tool calls and API usage
  cost        prices, rollups, budgets, cost reports            (engines: each sees records,
  metadata    the metadata index and its search                   never another engine)
  sessions    agent frameworks' items as messages, history import
  ops         the change journal, backups, restores, the archive
  sync        PostgreSQL: its schema, the initial load, applying journal entries
  portability a user's rows as the records of a user export, and back
  search      the full-text index, its queries and ranking
  schema      each schema version's SQL and C++ step, the migration runner, the schema check
  api         the store implementation: every public entry point
  bindings/c  the C ABI over the public C++ API

A file may include headers of its own folder, of any layer below its own, and the public headers
(include/convstore, bindings/c/include). Usage: check_layers.py [ROOT]  (ROOT defaults to the repository).
"""
import pathlib
import re
import sys

# folder -> (rank, the folders it may include besides its own and lower ranks' folders)
LAYERS = {
    "src/util": 0,
    "src/sqlite": 1,
    "src/records": 2,
    "src/cost": 3,
    "src/metadata": 3,
    "src/sessions": 3,
    "src/ops": 3,
    "src/sync": 3,
    "src/portability": 3,
    "src/search": 3,
    "src/schema": 4,
    "src/api": 5,
    "bindings/c": 6,
}
# Include prefixes of each folder as written in #include "..." lines.
PREFIX = {
    "util/": "src/util", "sqlite/": "src/sqlite", "records/": "src/records", "cost/": "src/cost",
    "metadata/": "src/metadata", "sessions/": "src/sessions", "ops/": "src/ops", "sync/": "src/sync", "portability/": "src/portability", "search/": "src/search", "schema/": "src/schema", "api/": "src/api",
}
# The C binding reaches the library only through the public C++ API (plus util's helpers).
ONLY = {"bindings/c": {"src/util"}}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(rel: str):
    for folder in sorted(LAYERS, key=len, reverse=True):
        if rel.startswith(folder + "/") and "/include/" not in rel[len(folder):]:
            return folder
    return None


def target_of(include: str, including_folder: str):
    for prefix, folder in PREFIX.items():
        if include.startswith(prefix):
            return folder
    if "/" not in include:  # a header next to the including file
        return including_folder
    return None  # public headers (convstore/...) and generated ones


def check(root: pathlib.Path) -> list:
    problems = []
    for path in sorted(list(root.glob("src/**/*")) + list(root.glob("bindings/c/*"))):
        if path.suffix not in (".h", ".cc", ".cpp", ".c") or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        folder = folder_of(rel)
        if folder is None:
            problems.append(f"{rel}: not in a known layer (add its folder to scripts/check_layers.py)")
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for line_no, m in ((text.count("\n", 0, m.start()) + 1, m) for m in INCLUDE.finditer(text)):
            target = target_of(m.group(1), folder)
            if target is None or target == folder:
                continue
            allowed = (target in ONLY[folder]) if folder in ONLY else LAYERS[target] < LAYERS[folder]
            if not allowed:
                how = "a sibling engine" if LAYERS[target] == LAYERS[folder] else "a layer above it"
                problems.append(f"{rel}:{line_no}: includes \"{m.group(1)}\" of {how} ({target})")
    return problems


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    problems = check(root)
    for p in problems:
        print(f"layer violation: {p}", file=sys.stderr)
    if problems:
        print("data flows down only: see the layers in docs/architecture.md", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
