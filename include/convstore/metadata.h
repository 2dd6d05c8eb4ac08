// Metadata search: PostgreSQL-exact jsonb containment and path comparisons over the metadata documents of
// conversations, messages and API-usage rows, answered from an inverted index kept in the same file.
//
// Semantics (docs/metadata.md has the full rules and examples):
//   - `contains_json`: a JSON document; a row matches when its metadata @> the document, with PostgreSQL's jsonb
//     containment rules exactly (objects by recursive subset, arrays by "every query element is contained in some
//     document element", scalars by type and value: 1 = 1.0, 1 != "1"; a top-level array contains a bare scalar).
//   - `where_json`: a JSON object of path -> condition, all of which must hold (AND). A path is dot-separated keys
//     ("user.id"), or a JSON Pointer when it starts with '/' ("/a.b/c~1d" names the keys "a.b", "c/d"); it follows
//     object keys only (like PostgreSQL's `#>`). A condition is an object of operators or a bare value (= $eq):
//       $eq v     the value at the path equals v (jsonb equality: numbers by value, containers deeply)
//       $ne v     not $eq: also true when the path is missing
//       $gt $gte $lt $lte v   v a number or a string; true when the value at the path has the same type and
//                 compares so (numbers by value; strings by Unicode code point, as PostgreSQL's "C" collation)
//       $in [v...]  the value at the path equals one of the values (1..64 of them)
//       $exists b   the path is present (true) or absent (false)
//   - ordinary filters: user, conversation, time range [from, to), archived; results newest first (by created_at,
//     or recorded_at for API usage), `limit` per page, `next_cursor` to continue (set when the page is full or a
//     bounded scan stopped early; the following page may be empty).
//
// Numbers are compared as 64-bit integers or doubles: values that differ only beyond double precision compare equal
// (PostgreSQL's numeric tells them apart); every other rule is PostgreSQL's.
//
// Plain values: copy and move freely; not shared mutably between threads.
#ifndef CONVSTORE_METADATA_H_
#define CONVSTORE_METADATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/cost.h"
#include "convstore/export.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

// Which records a metadata search returns.
enum class MetadataTarget { kConversations = 0, kMessages = 1, kApiUsage = 2 };

struct MetadataQuery {
  MetadataTarget target = MetadataTarget::kConversations;
  std::string contains_json{};       // "" for none; otherwise any JSON value (usually an object; "null" and
                                     // other non-objects match nothing: metadata documents are objects)
  std::string where_json{};          // "" for none; otherwise a JSON object of path -> condition
  std::string user_key{};            // "": any user; an unknown user matches nothing
  std::string conversation_id{};     // "": any; for conversations, that one conversation; unknown: nothing
  std::optional<Micros> from{};      // created_at (recorded_at) >= from
  std::optional<Micros> to{};        // created_at (recorded_at) < to
  std::optional<bool> archived{};    // the conversation's archived flag (of the message's conversation)
  int limit = 10;                    // 1..kMaxListLimit
  std::string cursor{};              // "" for the first page; next_cursor of the previous page otherwise
  // Rows a search may examine when no condition has an index path (a bounded scan, newest first). When the bound
  // is reached the page is returned with plan.scan_truncated and a next_cursor to continue. 1..10,000,000.
  int64_t scan_limit = 100'000;
};

// One posting list the planner looked at: the path (as a JSON Pointer), the canonical value ("" for "the path
// exists", "*" for "every document"), its entry count, and how it was used.
struct MetadataPostingUse {
  std::string path{};
  std::string value{};
  int64_t count = 0;
  // "driver" (walked; in an "empty" or "tail" plan, the empty list), "probe" (checked per candidate), "unused"
  // (beyond the four probes, or any other list of an "empty" or "tail" plan)
  std::string role{};
};

// What a search did (explain).
struct MetadataPlan {
  std::string strategy{};  // "index": walked a posting list; "scan": bounded newest-first scan of every document;
                         // "tail": no posting-list entry applied, and only the rows not yet folded into the
                         // lists (and oversized documents) were checked, one by one; "empty": no row could
                         // match and none was examined
  std::vector<MetadataPostingUse> postings{};
  int64_t candidates = 0;            // entries read from the driving posting list (or scanned documents)
  int64_t probe_rejected = 0;        // candidates dropped by another posting list
  int64_t verified = 0;              // documents fetched and checked against the whole filter
  int64_t matched = 0;               // rows returned
  int64_t unindexed_checked = 0;     // recent rows not yet folded into the index, and oversized documents, checked
  bool scan_truncated = false;       // the bounded scan stopped at scan_limit
  std::vector<std::string> notes{};  // e.g. "$ne on /tier has no index path: checked on each candidate"
};

struct MetadataSearchResult {
  MetadataTarget target = MetadataTarget::kConversations;
  std::vector<Conversation> conversations{};  // target kConversations
  std::vector<Message> messages{};            // target kMessages (conversation_id filled)
  std::vector<ApiUsage> api_usage{};          // target kApiUsage
  std::string next_cursor{};                  // "" when there is nothing more
  MetadataPlan plan{};
};

// What VerifyMetadataIndex / RebuildMetadataIndex found, per index.
struct MetadataIndexReport {
  int64_t documents = 0;          // rows with metadata, all targets
  int64_t indexed = 0;            // of those, in the posting lists
  int64_t unindexed = 0;          // oversized documents (found by verification instead)
  int64_t pending = 0;            // recent rows not yet folded in (checked directly by searches)
  int64_t postings = 0;           // posting-list entries
  int64_t terms = 0;              // distinct posting lists
  int64_t missing = 0;            // postings the documents imply that the index lacks
  int64_t extra = 0;              // postings the index has that no document implies
  int64_t wrong_counts = 0;       // posting lists whose stored count differs from their length
  std::vector<std::string> excluded_paths{};  // as JSON Pointers
  bool consistent() const { return missing == 0 && extra == 0 && wrong_counts == 0; }
};

// The metadata-search capability of a ConversationStore (a base of it: call these on the store). Thread-safe as the
// store is. Non-virtual and without data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT MetadataSearch {
 public:
  // Rows whose metadata matches the query's containment document and path conditions (and its ordinary filters),
  // newest first, with the plan that found them.
  Result<MetadataSearchResult> SearchMetadata(const MetadataQuery& query);
  // Runs the query and returns only its plan: posting lists used with their counts, candidates, verified rows.
  Result<MetadataPlan> ExplainMetadata(const MetadataQuery& query);
  // Recomputes the postings from the documents and compares with the index (read-only; O(documents)).
  Result<MetadataIndexReport> VerifyMetadataIndex();
  // Drops and rebuilds the whole index in one transaction (reports progress through Options::on_progress).
  Result<MetadataIndexReport> RebuildMetadataIndex();
  // Leaves these paths (and everything below them) out of the index, then rebuilds it; an empty list indexes
  // everything. Paths as in a filter: "a.b" or a JSON Pointer "/a.b". Conditions on an excluded path still
  // work: they are checked on each candidate. At most 64 paths.
  Result<MetadataIndexReport> SetMetadataExcludedPaths(const std::vector<std::string>& paths);

 protected:
  MetadataSearch() = default;
  ~MetadataSearch() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_METADATA_H_
