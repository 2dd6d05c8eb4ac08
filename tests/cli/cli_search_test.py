"""`convstore search` and `convstore search-index`: hits with filters, snippets and JSON; titles; FTS5 query syntax
and a malformed query refused (exit 1, nothing written); the index's status, catch-up, purge, rebuild, verify (exit 3
when the index disagrees with the rows) and tokenizer; bad arguments refused."""
import json
import os
import sqlite3
import tempfile

from cli_support import check, finish, run

import convstore

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        s.upsert_team("netops", "Network operations")
        s.upsert_user("ana@example.com", team="netops")
        a = s.create_conversation("ana@example.com", "BGP flaps on edge routers")
        b = s.create_conversation("bo@example.com", "Billing question")
        s.add_message(a["id"], "user", "our BGP sessions flap every hour", model="gpt-4o")
        s.add_message(a["id"], "assistant", "BGP flaps usually come from hold timers", model="gpt-4o")
        s.add_message(b["id"], "user", "why did BGP show up on my invoice?", model="gpt-4o-mini")
        s.catch_up_search_index()

    r = run("search", db, "bgp flaps")
    check(r.returncode == 0 and r.stdout.startswith("1 hit") and "[flaps]" in r.stdout,
          f"search: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("search", db, "bgp", "--json", "--limit", "10")
    hits = json.loads(r.stdout)["hits"] if r.returncode == 0 else []
    check(len(hits) == 3 and all("[BGP]" in h["snippet"] for h in hits), f"search --json: {r.stdout!r} {r.stderr!r}")
    r = run("search", db, "bgp", "--json", "--user", "bo@example.com")
    hits = json.loads(r.stdout)["hits"] if r.returncode == 0 else []
    check([h["conversation_id"] for h in hits] == [b["id"]], f"--user: {r.stdout!r}")
    r = run("search", db, "bgp", "--json", "--team", "netops", "--role", "assistant")
    hits = json.loads(r.stdout)["hits"] if r.returncode == 0 else []
    check(len(hits) == 1 and hits[0]["role"] == "assistant", f"--team --role: {r.stdout!r} {r.stderr!r}")
    r = run("search", db, "bgp", "--json", "--model", "gpt-4o-mini")
    check(r.returncode == 0 and len(json.loads(r.stdout)["hits"]) == 1, f"--model: {r.stdout!r}")
    r = run("search", db, "flaps", "--titles", "--json")
    hits = json.loads(r.stdout)["hits"] if r.returncode == 0 else []
    check(len(hits) == 1 and hits[0]["message_id"] is None and hits[0]["conversation_id"] == a["id"],
          f"--titles: {r.stdout!r} {r.stderr!r}")
    r = run("search", db, '"hold timers" OR invoice', "--query", "--json")
    check(r.returncode == 0 and len(json.loads(r.stdout)["hits"]) == 2, f"--query: {r.stdout!r} {r.stderr!r}")
    r = run("search", db, "(unbalanced", "--query")
    check(r.returncode == 1 and "invalid" in r.stderr.lower(), f"malformed query: {r.returncode} {r.stderr!r}")
    r = run("search", db, "(unbalanced")  # plain text: any text is accepted
    check(r.returncode == 0 and r.stdout.startswith("0 hits"), f"plain text: {r.stdout!r} {r.stderr!r}")

    r = run("search-index", db, "status", "--json")
    status = json.loads(r.stdout) if r.returncode == 0 else {}
    check(status.get("tokenizer") == "words" and status.get("messages_indexed") == 3
          and status.get("conversations_indexed") == 2, f"status: {r.stdout!r} {r.stderr!r}")
    r = run("search-index", db, "status")
    check(r.returncode == 0 and "tokenizer words" in r.stdout, f"status text: {r.stdout!r}")
    for action in ("catch-up", "purge", "rebuild", "verify"):
        r = run("search-index", db, action)
        check(r.returncode == 0 and r.stdout.startswith(action + ":"), f"{action}: {r.returncode} {r.stdout!r} {r.stderr!r}")
    r = run("search-index", db, "tokenizer", "trigram", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["status"]["tokenizer"] == "trigram", f"tokenizer: {r.stdout!r}")
    r = run("search", db, "nvoic", "--json")  # a substring, with trigrams
    check(r.returncode == 0 and len(json.loads(r.stdout)["hits"]) == 1, f"trigram search: {r.stdout!r} {r.stderr!r}")

    # Another program edits a row behind the index's back: verify reports it (exit 3), rebuild repairs it.
    raw = sqlite3.connect(db)
    raw.execute("UPDATE messages SET content = 'rewritten behind its back' WHERE content LIKE '%invoice%'")
    raw.commit()
    raw.close()
    r = run("search-index", db, "verify")
    check(r.returncode == 3 and "problem:" in r.stdout, f"verify after a foreign edit: {r.returncode} {r.stdout!r}")
    r = run("search-index", db, "rebuild")
    check(r.returncode == 0, f"rebuild: {r.stdout!r} {r.stderr!r}")
    r = run("search-index", db, "verify")
    check(r.returncode == 0, f"verify after rebuild: {r.returncode} {r.stdout!r}")

    # Bad arguments: refused with a message, nothing written.
    raw = sqlite3.connect(db)
    before = raw.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    raw.close()
    for args, code in ((["search", db, "x", "--limit", "0"], 1), (["search", db, "x", "--role", "robot"], 1),
                       (["search", db, "x", "--from", "yesterday"], 1), (["search", db, "x", "--metadata", "{"], 2),
                       (["search-index", db, "tokenizer"], 2), (["search-index", db, "tokenizer", "bigram"], 1),
                       (["search-index", db, "explode"], 2), (["search", os.path.join(d, "missing.db"), "x"], 2)):
        r = run(*args)
        check(r.returncode == code and r.stderr, f"{args}: {r.returncode} {r.stderr!r}")
    raw = sqlite3.connect(db)
    check(raw.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before, "nothing bad was written")
    raw.close()

# Embedding spaces and vector / hybrid search from a shell.
with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    with convstore.Store(db) as s:
        c = s.create_conversation("ana@example.com", "vectors")
        a = s.add_message(c["id"], "user", "bgp flap on the edge")["id"]
        b = s.add_message(c["id"], "user", "invoice question")["id"]
    r = run("embeddings", db, "create", "e", "--dimension", "3", "--metric", "l2", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["metric"] == "l2", f"embeddings create: {r.stdout!r} {r.stderr!r}")
    with convstore.Store(db) as s:
        s.put_embeddings("e", [a, b], [[1, 0, 0], [0, 1, 0]])
    r = run("embeddings", db, "list")
    check(r.returncode == 0 and "e " in r.stdout and "2 vectors" in r.stdout, f"embeddings list: {r.stdout!r}")
    r = run("search", db, "--space", "e", "--vector", "[0.9, 0.1, 0]", "--limit", "1", "--json")
    hits = json.loads(r.stdout)["hits"] if r.returncode == 0 else []
    check([h["message_id"] for h in hits] == [a], f"vector search: {r.stdout!r} {r.stderr!r}")
    vec = os.path.join(d, "q.json")
    with open(vec, "w") as f:
        f.write("[0, 1, 0]")
    r = run("search", db, "bgp", "--space", "e", "--vector", "@" + vec, "--json")
    hits = json.loads(r.stdout)["hits"] if r.returncode == 0 else []
    check(len(hits) == 2 and hits[0]["text_rank"] == 1 and hits[0]["vector_rank"] == 2, f"hybrid: {r.stdout!r} {r.stderr!r}")
    r = run("search", db, "--space", "e", "--vector", "[1, 2]")
    check(r.returncode == 1 and "dimension" in r.stderr, f"wrong dimension: {r.returncode} {r.stderr!r}")
    for args in (["search", db], ["search", db, "--vector", "[1,2,3]"], ["search", db, "--space", "e", "--vector", "x"],
                 ["search", db, "--space", "e", "--vector", "@" + os.path.join(d, "missing")],
                 ["embeddings", db, "drop"], ["embeddings", db, "explode"]):
        r = run(*args)
        check(r.returncode == 2 and r.stderr, f"{args}: {r.returncode} {r.stderr!r}")
    # The approximate index: built once by the command (recall reported), its setting kept, used by searches.
    r = run("embeddings", db, "index", "e", "--m", "8", "--ef-search", "20")
    check(r.returncode == 0 and "index of e (hnsw, m 8" in r.stdout and "2 vectors" in r.stdout,
          f"embeddings index: {r.stdout!r} {r.stderr!r}")
    r = run("embeddings", db, "list", "--json")
    spaces = json.loads(r.stdout)["spaces"] if r.returncode == 0 else []
    check(spaces and spaces[0]["index"] == {"kind": "hnsw", "m": 8, "ef_construction": 200, "ef_search": 20},
          f"the index setting: {r.stdout!r}")
    r = run("search", db, "--space", "e", "--vector", "[0.9, 0.1, 0]", "--limit", "1")
    check(r.returncode == 0 and "(hnsw)" in r.stdout and a in r.stdout, f"search through the index: {r.stdout!r}")
    r = run("search", db, "--space", "e", "--vector", "[0.9, 0.1, 0]", "--limit", "1", "--exact")
    check(r.returncode == 0 and "(exact)" in r.stdout, f"search --exact: {r.stdout!r}")
    r = run("embeddings", db, "index", "e", "--m", "1")
    check(r.returncode == 1 and "invalid_argument" in r.stderr, f"index --m 1: {r.returncode} {r.stderr!r}")
    r = run("embeddings", db, "drop-index", "e")
    check(r.returncode == 0 and "dropped the index of e" in r.stdout, f"drop-index: {r.stdout!r} {r.stderr!r}")
    r = run("embeddings", db, "drop-index", "e")
    check(r.returncode == 0 and "had no index" in r.stdout, f"drop-index again: {r.stdout!r} {r.stderr!r}")
    r = run("embeddings", db, "create", "e", "--dimension", "4")
    check(r.returncode == 1 and "conflict" in r.stderr, f"create a conflicting space: {r.returncode} {r.stderr!r}")
    r = run("embeddings", db, "drop", "e")
    check(r.returncode == 0 and "dropped" in r.stdout, f"embeddings drop: {r.stdout!r} {r.stderr!r}")
    r = run("embeddings", db, "drop", "e")
    check(r.returncode == 1 and "not_found" in r.stderr, f"drop again: {r.returncode} {r.stderr!r}")

finish("cli search test")
