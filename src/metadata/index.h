// The metadata index on disk, and its upkeep inside write transactions.
//
// Tables (schema migration 3):
//   metadata_postings  the posting lists, one per (kind, term), stored as blocks of positions (see
//       posting_blocks.h); term is Term(posting), or "" for "every indexed document"; each list keeps its length.
//   metadata_unindexed(kind, at, obj, user_id, conversation_id)  documents beyond the indexing limits; searches
//       check each one directly, reading only the query's user or conversation (indexed) and at most scan_limit.
//   metadata_index(kind, indexed_upto)  rows with id <= indexed_upto are in the index; newer ones form a short
//       tail (fewer than kFoldEvery rows) that searches read directly, so a single insert writes no posting at all.
//       Every kFoldEvery inserts the writer folds the tail into the postings, in the same transaction.
//   meta['metadata_excluded_paths']  JSON array of excluded paths (each an array of keys).
// kind is the MetadataTarget number (0 conversations, 1 messages, 2 API usage); obj the row's INTEGER id; at its
// created_at (recorded_at for API usage).
//
// The index plus the tail always equal what the documents imply, at every commit. Not thread-safe: the functions
// run on the connection of the caller's transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "convstore/metadata.h"
#include "convstore/status.h"
#include "metadata/document_terms.h"
#include "sqlite/connection.h"

namespace convstore::metadata {

// Documents indexed: at most this many postings, nesting depth, and bytes per path; larger ones are kept in
// metadata_unindexed and found by checking each.
inline constexpr size_t kMaxIndexedPostings = 512;
inline constexpr int kMaxIndexedDepth = 32;
inline constexpr size_t kMaxIndexedPathBytes = 512;
// Inserts between folds of the tail (bounds the rows a search reads directly).
inline constexpr int64_t kFoldEvery = 256;
// At most this many excluded paths.
inline constexpr size_t kMaxExcludedPaths = 64;

inline constexpr MetadataTarget kAllTargets[] = {MetadataTarget::kConversations, MetadataTarget::kMessages,
                                                 MetadataTarget::kApiUsage};

std::string Term(const Posting& p);               // path + '=' + value
inline const std::string kEveryDocumentTerm = "";  // every indexed document has it

// Parses a path as given in a filter or an exclusion: dot-separated keys, or a JSON Pointer when it starts with '/'.
Result<std::vector<std::string>> ParsePath(std::string_view text);
// A JSON Pointer naming these keys.
std::string PointerOf(const std::vector<std::string>& keys);
// The keys of an encoded path (EncodePath's inverse).
std::vector<std::string> DecodePath(std::string_view encoded);

// Excluded paths of this file (EncodePath forms).
Result<std::vector<std::string>> LoadExcludedPaths(sqlite::Connection& conn);

// The terms of a document (sorted, unique, including kEveryDocumentTerm), or nullopt when it is beyond the
// indexing limits.
std::optional<std::vector<std::string>> DocumentTerms(const nlohmann::json& doc, const std::vector<std::string>& excluded);

// Upkeep, inside the caller's write transaction.
// After inserting rows (ids in any order): folds the tail when it has grown to kFoldEvery rows, and indexes at once
// any id at or below the watermark (SQLite reuses the largest id after it is deleted).
Status AfterInsert(sqlite::Connection& conn, MetadataTarget target, const std::vector<int64_t>& ids);
// Before deleting a conversation: removes its postings and those of its messages.
Status BeforeConversationDelete(sqlite::Connection& conn, int64_t conversation_row_id);
// After changing a conversation's metadata from old_doc (normalised JSON text).
Status AfterConversationUpdate(sqlite::Connection& conn, int64_t row_id, int64_t at, std::string_view old_doc);
// After changing a message's metadata from old_doc (normalised JSON text).
Status AfterMessageUpdate(sqlite::Connection& conn, int64_t row_id, int64_t at, std::string_view old_doc);
// Before deleting messages (row ids): removes their postings and oversized-document entries.
Status BeforeMessagesDelete(sqlite::Connection& conn, const std::vector<int64_t>& row_ids);
// Before deleting rows of a target (row ids; for conversations, their messages need BeforeConversationDelete):
// removes their postings and oversized-document entries.
Status BeforeRowsDelete(sqlite::Connection& conn, MetadataTarget target, const std::vector<int64_t>& row_ids);

// Progress of a rebuild or backfill: documents done of total.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;
// Drops and recomputes every posting (and the tail) with `excluded` (EncodePath forms), storing the exclusions.
// `unindexed_scoped`: metadata_unindexed has its user and conversation columns (false only for migration 3's
// backfill, whose rows migration 4 completes).
Status Rebuild(sqlite::Connection& conn, const std::vector<std::string>& excluded, const ProgressFn& progress,
               bool unindexed_scoped = true);
// Recomputes the postings from the documents and compares (read-only).
Result<MetadataIndexReport> Verify(sqlite::Connection& conn);

// The index's cheap invariants, in O(index) without reading documents (for quick_check_on_open): kCorruption
// naming what fails.
Status CheckIndexInvariants(sqlite::Connection& conn);

// Sizes of the index (documents, indexed, unindexed, pending, postings, terms, excluded paths) without
// checking it: O(postings) for the counts.
Result<MetadataIndexReport> Stats(sqlite::Connection& conn);

// The tail watermark of a target.
Result<int64_t> IndexedUpTo(sqlite::Connection& conn, MetadataTarget target);

}  // namespace convstore::metadata
