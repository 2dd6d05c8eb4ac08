"""What convstore's users would otherwise write, as small classes on Python's sqlite3, for side-by-side benchmarks:

    handrolled_sqlite3.HandRolledStore   an agent developer's own two tables (WAL, synchronous=NORMAL)
    agents_sdk_session.SdkSQLiteSession  the OpenAI Agents SDK's SQLiteSession schema and statements
    seed_v1.V1Database                   the seed chapter's V1 AIDatabase class, verbatim, on default settings

Each has the same shape of call for one message: one durable transaction that inserts it and touches its
conversation, and a read of a conversation's newest messages.
"""
