#!/usr/bin/env python3
"""Where a single add_message's WAL frames go: the pages each call writes, counted by the b-tree (table or index)
that owns them, so the write path's page cost can be taken apart and compared.

    CONVSTORE_LIBRARY=build/libconvstore.so /usr/bin/python3 bench/wal_pages_by_btree.py \\
        [--calls 400] [--exclusive] [--metadata] [--dir DIR] [--json]

A store (default options, but no background checkpoints or indexing: every frame of the measured calls stays in
the WAL, and the full-text index's pages, written behind the callers, are left out) gets 100 conversations of 10
users and 2,000 warm-up messages of 400 bytes, is emptied into its file (optimize), then takes --calls single
add_message calls (tokens, a model; with --metadata an agent's metadata document). A copy of the WAL taken before
close is read frame by frame; each frame's page number is attributed with SQLite's dbstat table of the file after
close (the b-tree that owns the page; a pointer-map page of incremental auto-vacuum, which dbstat does not list,
counts as "(pointer map, or freed)"; page 1, which holds the file's header, as "sqlite_schema").
"""
import argparse
import collections
import json
import os
import shutil
import sqlite3
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
os.environ.setdefault("CONVSTORE_LIBRARY", os.path.join(HERE, "..", "build", "libconvstore.so"))

import convstore  # noqa: E402

METADATA = {"attempt": 1, "run": {"agent": "netops-triage", "step": 7}, "source": "cli", "tags": ["bgp", "prod"],
            "tool": "bgp_diff", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}


def wal_salts(path):
    """The salts in the header of the WAL file at `path`: they change whenever the WAL starts again."""
    with open(path, "rb") as f:
        return f.read(32)[16:24]


def wal_frames(path):
    """The page number of every frame of the WAL file at `path` that belongs to its current generation (a frame
    whose salts are not the header's is left over from before the WAL last started again)."""
    with open(path, "rb") as f:
        wal = f.read()
    page_size = struct.unpack(">I", wal[8:12])[0]
    salts = wal[16:24]
    pages, offset = [], 32
    while offset + 24 + page_size <= len(wal) and wal[offset + 8:offset + 16] == salts:
        pages.append(struct.unpack(">I", wal[offset:offset + 4])[0])
        offset += 24 + page_size
    return pages


def measure(directory, calls, exclusive, metadata):
    path = os.path.join(directory, "pages.db")
    content = ("the bgp session flaps every hour on the edge router " * 8)[:400]
    options = {"exclusive": True} if exclusive else {}
    store = convstore.Store(path, background_checkpoints=False, background_indexing=False, **options)
    convs = [store.create_conversation(f"user{i % 10}@example.com", f"c{i}")["id"] for i in range(100)]
    for i in range(2000):
        store.add_message(convs[i % 100], "user", content, model="gpt-4o", tokens_input=200, tokens_output=100)
    store.optimize()  # every frame so far copied into the file, the WAL emptied
    extra = {"metadata": METADATA} if metadata else {}
    salts = None
    for i in range(calls):
        store.add_message(convs[i % 100], "assistant" if i % 2 else "user", content, model="gpt-4o",
                          tokens_input=200 + i % 50, tokens_output=100, **extra)
        if salts is None:
            salts = wal_salts(path + "-wal")
    wal_copy = os.path.join(directory, "measured-wal")
    shutil.copyfile(path + "-wal", wal_copy)
    if wal_salts(wal_copy) != salts:
        # The commit that reached the inline checkpoint's threshold (4,000 frames) copied the WAL into the file and
        # the WAL started again: its frames no longer hold every measured call.
        store.close()
        raise SystemExit(f"the WAL started again during the {calls} calls (an inline checkpoint): "
                         "measure fewer --calls")
    store.close()  # the last connection: the WAL is copied into the file, whose pages then say whose each frame was
    owner = {}
    raw = sqlite3.connect(path)
    for name, page in raw.execute("SELECT name, pageno FROM dbstat"):
        owner[page] = name
    raw.close()
    frames = wal_frames(wal_copy)
    counts = collections.Counter(owner.get(page, "(pointer map, or freed)") for page in frames)
    return len(frames), counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400,
                        help="single add_message calls measured (the WAL must hold them all: at most about 450)")
    parser.add_argument("--exclusive", action="store_true", help="open the store with exclusive=True")
    parser.add_argument("--metadata", action="store_true", help="each message carries a metadata document")
    parser.add_argument("--dir", default=None, help="where the scratch store goes (default: $TMPDIR)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        total, counts = measure(directory, args.calls, args.exclusive, args.metadata)
    per_call = {name: n / args.calls for name, n in counts.most_common()}
    if args.json:
        print(json.dumps({"calls": args.calls, "frames_per_call": total / args.calls, "by_btree": per_call}))
        return
    print(f"{total / args.calls:.2f} WAL frames per add_message ({args.calls} calls)")
    for name, n in per_call.items():
        print(f"  {n:5.2f}  {name}")


if __name__ == "__main__":
    main()
