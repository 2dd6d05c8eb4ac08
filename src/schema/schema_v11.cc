// Migration 11: the full-text index (convstore/search.h, docs/search.md; its layout in src/search/text_index.h).
// Its C++ step indexes every message and conversation title already in the file, reporting progress; it writes
// only the tables this migration creates, so opening an older file takes no backup for it.
#include "schema/versions.h"
#include "search/text_index.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV11 = R"sql(
-- What the full-text index reads: each row's text and its filter tokens (user, team, conversation), fixed when
-- the row is written.
CREATE VIEW message_text_source AS
  SELECT m.id AS id, m.content AS content,
         '<u' || c.user_id || '> <t' || ifnull(m.team_id, 0) || '> <c' || m.conversation_id || '>' AS scope
  FROM messages m JOIN conversations c ON c.id = m.conversation_id;
CREATE VIEW conversation_text_source AS
  SELECT id, title AS content, '<u' || user_id || '>' AS scope FROM conversations;

-- One table per target and tokenizer; only the store's tokenizer's tables hold rows (meta 'text_tokenizer').
CREATE VIRTUAL TABLE message_words USING fts5(content, scope, content='message_text_source', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE message_trigrams USING fts5(content, scope, content='message_text_source', content_rowid='id',
  tokenize='trigram');
CREATE VIRTUAL TABLE conversation_words USING fts5(content, scope, content='conversation_text_source',
  content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE conversation_trigrams USING fts5(content, scope, content='conversation_text_source',
  content_rowid='id', tokenize='trigram');

-- kind: 0 conversation titles, 1 messages. Rows with id <= indexed_upto are indexed; purge_pending: removed text
-- may still lie in older pages of the index until it is merged.
CREATE TABLE search_state (
  kind INTEGER PRIMARY KEY,
  indexed_upto INTEGER NOT NULL,
  purge_pending INTEGER NOT NULL DEFAULT 0
);
INSERT INTO search_state(kind, indexed_upto) VALUES (0, 0), (1, 0);
)sql";

Status AfterSchemaV11(sqlite::Connection& conn, const MigrationContext& context) {
  return search::Reset(conn, TextTokenizer::kWords, /*index_now=*/true, context.progress);
}

}  // namespace

// The backfill writes only the index's own tables: no backup is needed before it.
Migration SchemaV11() { return {11, "full-text index", kSchemaV11, AfterSchemaV11, /*fills_new_tables_only=*/true}; }

}  // namespace convstore::schema
