// The full-text index on disk, and its upkeep inside write transactions.
//
// Tables (schema migration 11):
//   message_words / message_trigrams, conversation_words / conversation_trigrams  FTS5 tables, one pair per target,
//       one tokenizer each ("unicode61 remove_diacritics 2" and "trigram"); only the store's tokenizer's table holds
//       rows. External content: their text is read from the views message_text_source and
//       conversation_text_source (id, content, scope), so no copy of the text is kept beside the rows. `scope`
//       holds the row's filter tokens — "<u{user}> <t{team}> <c{conversation}>" for a message, "<u{user}>" for a
//       conversation — so a user, team or conversation filter is an index intersection inside FTS5 rather than a
//       lookup per match. Every part of the scope is fixed when the row is written (a message's team is the one
//       it was attributed to), so the values the index was given can always be read again to remove them.
//   search_state(kind, indexed_upto, purge_pending)  rows with id <= indexed_upto are in the index; newer ones
//       are the tail, indexed later (CatchUp). purge_pending: text was removed from the index since its last full
//       merge, so older pages may still hold its tokens (Purge).
//   meta['text_tokenizer']  "words" (also when absent), "trigram" or "none".
// kind is the TextSearchTarget number (0 conversations, 1 messages).
//
// Why a tail: indexing a row in the transaction that writes it costs FTS5 a new segment per commit — about seven
// more WAL pages and three times the time of a single add_message. Folding rows in batches costs a fraction of
// that per row, off the writer's path. Edits and deletes of indexed rows change the index at once (the values
// indexed must be read back before the row changes).
//
// Why a purge: FTS5 removes a row by appending delete markers; the row's tokens stay in older segments until a
// merge rewrites them, and SQLite 3.40 has no secure-delete mode for FTS5. Purge merges every segment into one in
// steps of a bounded number of pages (each step the caller's own transaction); when a merge step finds nothing to
// merge, no removed token is left (secure_delete zeroes the freed pages).
//
// Not thread-safe: the functions run on the connection of the caller's transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "convstore/search.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::search {

inline constexpr TextSearchTarget kTargets[] = {TextSearchTarget::kConversations, TextSearchTarget::kMessages};

// Rows indexed per CatchUp step by the background indexer (bounds how long it holds the write lock).
inline constexpr int64_t kCatchUpStepRows = 256;
// Pages merged per Purge step.
inline constexpr int64_t kPurgeStepPages = 1000;

// The store's tokenizer (meta['text_tokenizer']).
Result<TextTokenizer> LoadTokenizer(sqlite::Connection& conn);

// The FTS5 table of a target under a tokenizer (kNone: none).
const char* TableOf(TextSearchTarget target, TextTokenizer tokenizer);

// Upkeep, inside the caller's write transaction.
// After inserting rows of `target`: rows at or below the watermark (SQLite reuses the largest id after it is
// deleted) are indexed at once; the others wait in the tail.
Status AfterInsert(sqlite::Connection& conn, TextSearchTarget target, const std::vector<int64_t>& ids);
// Before deleting or changing the text of rows of `target`: removes the indexed ones from the index.
Status BeforeRowsChange(sqlite::Connection& conn, TextSearchTarget target, const std::vector<int64_t>& ids);
// After changing the text of rows (BeforeRowsChange first): indexes the indexed ones again.
Status AfterRowsChange(sqlite::Connection& conn, TextSearchTarget target, const std::vector<int64_t>& ids);
// Before deleting a conversation: removes its title and its messages from the index.
Status BeforeConversationDelete(sqlite::Connection& conn, int64_t conversation_row_id);

// Rows written and not yet indexed, per target.
Result<int64_t> Pending(sqlite::Connection& conn, TextSearchTarget target);
// Whether any row of `target` waits in the tail (O(1), unlike Pending).
Result<bool> HasPending(sqlite::Connection& conn, TextSearchTarget target);
// Indexes up to `max_rows` rows of the tail of `target` (oldest first); returns how many.
Result<int64_t> CatchUp(sqlite::Connection& conn, TextSearchTarget target, int64_t max_rows);
// Whether a purge is owed for `target`.
Result<bool> PurgePending(sqlite::Connection& conn, TextSearchTarget target);
// One purge step for `target`: merges up to kPurgeStepPages pages. Returns true when nothing was left to merge (the
// purge is complete and recorded as such).
Result<bool> PurgeStep(sqlite::Connection& conn, TextSearchTarget target);

// Progress of a rebuild or backfill: rows done of total.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;
// Empties both targets' indexes and sets `tokenizer`; with `index_now` indexes every row (else they form the tail).
Status Reset(sqlite::Connection& conn, TextTokenizer tokenizer, bool index_now, const ProgressFn& progress);
// Compares the index with the rows (FTS5's integrity check against the content, after the tail is indexed by the
// caller); problems named, empty when it matches.
Result<std::vector<std::string>> Verify(sqlite::Connection& conn);
// The index's counts and size.
Result<SearchIndexStatus> IndexStatus(sqlite::Connection& conn);

// After a write transaction on `conn` failed (outside any transaction): makes FTS5 drop what it holds in memory for
// the index tables. When an allocation fails inside a statement FTS5 runs for itself while it indexes a row, SQLite
// rolls the whole transaction back under it, and FTS5 (3.40) keeps that row's pending terms in memory; the next
// transaction would write them into the index a second time. A transaction that touches each table and rolls back
// makes FTS5 discard them. Returns whether it ran to the end (if not, call it again before the next write).
bool DiscardUnsavedState(sqlite::Connection& conn);

}  // namespace convstore::search
