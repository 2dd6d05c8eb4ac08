// convstore/search.h: finding past conversations by their words — full-text search over message content and
// conversation titles (SQLite's FTS5: bm25 ranking, snippets, phrase / prefix / boolean syntax or plain text) with
// the filters an agent store needs (user, team, conversation, role, model, time, metadata) applied before the
// limit, so `limit` hits come back whenever that many match. docs/search.md.
//
// The index is kept in the same file. Inserts are indexed shortly after they commit, off the caller's path (a
// background indexer on every read-write handle); a search on a read-write handle first indexes what is left, so it
// sees every committed row. Edits and deletes (retention and erasure included) update the index in their own
// transaction, and the text they remove is purged from the index's pages in bounded steps afterwards.
//
// Thread-safe as the store is.
#ifndef CONVSTORE_SEARCH_H_
#define CONVSTORE_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

// How text is split into what a search matches, chosen per store (SetTextTokenizer).
enum class TextTokenizer {
  kWords = 0,    // words: Unicode letters and digits, case and diacritics folded ("cafe" finds "Café"); the default
  kTrigram = 1,  // every three characters: substring search, any script (CJK); queries need 3 characters or more
  kNone = 2,     // no full-text index (nothing indexed, searches fail with kInvalidArgument saying so)
};

// How the query text is read.
enum class TextSyntax {
  kPlain = 0,  // any text: split at white space, every word must appear (a word is matched as given, never as syntax)
  kQuery = 1,  // FTS5's query syntax: "phrases", prefix*, AND / OR / NOT, NEAR(...), ^initial; a malformed query
               // is kInvalidArgument
};

// What a search finds.
enum class TextSearchTarget {
  kMessages = 0,       // messages, by their content
  kConversations = 1,  // conversations, by their title
};

// Filters, all optional and combined with AND; applied before ranking and the limit.
struct SearchFilter {
  std::string user_key{};             // the conversation's user; unknown: nothing matches
  std::string team_key{};             // messages: the team the message was attributed to; conversations: the
                                      // user's team now; unknown: nothing matches
  std::string conversation_id{};      // one conversation; unknown: nothing matches
  std::string role{};                 // messages only: user, assistant, system or tool
  std::string model{};                // messages: the message's model; conversations: the conversation's
  std::optional<Micros> from{};       // created_at >= from
  std::optional<Micros> to{};         // created_at < to
  std::string metadata_contains_json{};  // the row's metadata contains this (MetadataQuery::contains_json rules)
  std::string metadata_where_json{};     // path conditions on the row's metadata (MetadataQuery::where_json rules)
};

struct TextSearchQuery {
  std::string text{};                  // required: 1 byte to 4 KiB of UTF-8
  TextSyntax syntax = TextSyntax::kPlain;
  TextSearchTarget target = TextSearchTarget::kMessages;
  SearchFilter filter{};
  int limit = 10;                      // 1..1000
  // Snippets: the best window of `snippet_tokens` tokens (1..64) around the matches, each match between the two
  // markers (at most 32 bytes each), cut text shown by the ellipsis.
  int snippet_tokens = 16;
  std::string highlight_start = "[";
  std::string highlight_end = "]";
  std::string ellipsis = "…";
  // true: index what is not indexed yet before searching (a read-write handle; exact). false: search what is
  // indexed now and report the rest in TextSearchResult::unindexed.
  bool wait_for_index = true;
};

struct TextSearchHit {
  std::string message_id{};            // "" for a conversation hit
  std::string conversation_id{};
  std::string conversation_title{};
  std::string user_key{};
  std::string role{};                  // "" for a conversation hit
  std::string model{};
  std::string content{};               // the message's content, or the conversation's title
  std::string snippet{};
  double score = 0;                    // bm25 (FTS5's formula, k1 1.2, b 0.75), higher is better
  Micros created_at = 0;
};

struct TextSearchResult {
  std::vector<TextSearchHit> hits{};   // best first; ties by newest row first
  // Rows of the target written but not yet indexed when the search ran (0 after wait_for_index on a read-write
  // handle); they are not among the hits.
  int64_t unindexed = 0;
};

// The index's state.
struct SearchIndexStatus {
  TextTokenizer tokenizer = TextTokenizer::kWords;
  int64_t messages_indexed = 0;        // rows in the index
  int64_t messages_pending = 0;        // written, not yet indexed
  int64_t conversations_indexed = 0;
  int64_t conversations_pending = 0;
  // Text removed (deletes, edits, retention, erasure) whose tokens still lie in older pages of the index until the
  // purge merges them away (the background indexer does it in bounded steps; PurgeSearchIndex does it now).
  bool purge_pending = false;
  int64_t index_bytes = 0;             // the index's pages, in bytes
};

// What a rebuild, verify, catch-up or purge did.
struct SearchIndexReport {
  SearchIndexStatus status{};
  int64_t rows_indexed = 0;            // rows indexed (rebuild, tokenizer: every row; catch-up: by this call)
  int64_t purge_steps = 0;             // merge steps this call ran
  bool ok = true;                      // verify: the index equals what the rows imply
  std::vector<std::string> problems{};
};

class CONVSTORE_EXPORT Search {
 public:
  // Full-text search (see TextSearchQuery). kInvalidArgument for bad input (a malformed query in kQuery syntax
  // included), and kInvalidArgument too when the store's tokenizer is kNone.
  Result<TextSearchResult> SearchText(const TextSearchQuery& query);
  Result<SearchIndexStatus> GetSearchStatus();
  // Indexes every row written and not yet indexed, now.
  Result<SearchIndexReport> CatchUpSearchIndex();
  // Merges the index until no removed text remains in its pages (bounded steps, each its own transaction).
  Result<SearchIndexReport> PurgeSearchIndex();
  // Drops and rebuilds the index from the rows (after another program changed them, say).
  Result<SearchIndexReport> RebuildSearchIndex();
  // Compares the index with the rows (after catching up): report.ok and problems. A read-write handle only.
  Result<SearchIndexReport> VerifySearchIndex();
  // Chooses the tokenizer and rebuilds the index with it (kNone drops it).
  Result<SearchIndexReport> SetTextTokenizer(TextTokenizer tokenizer);
  // Turns this handle's background indexer on (Options::background_indexing, true by default) or off. Off, nothing indexes or purges behind the
  // caller's back: searches still index what is pending before they run (wait_for_index), CatchUpSearchIndex and
  // PurgeSearchIndex do it on demand, retention and erasure still purge. For bulk loads that want every write
  // transaction their own, and for tests that count a call's I/O.
  Status SetBackgroundIndexing(bool enabled);

 protected:
  Search() = default;
  ~Search() = default;
};

// "words", "trigram", "none"; and back (kInvalidArgument for another name).
CONVSTORE_EXPORT const char* TextTokenizerName(TextTokenizer tokenizer);
CONVSTORE_EXPORT Result<TextTokenizer> ParseTextTokenizer(std::string_view name);

}  // namespace convstore

#endif  // CONVSTORE_SEARCH_H_
