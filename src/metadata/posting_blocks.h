// Posting lists on disk: each list (kind, term) is a run of blocks in metadata_postings, so that adding a batch of
// documents writes about one row per term rather than one row per (term, document).
//
//   metadata_postings(kind, term, at, obj, n, entries)  WITHOUT ROWID, key (kind, term, at, obj)
//
// A block holds up to kBlockEntries positions (at, obj) of documents that have the term, ascending, packed as
// 16 bytes each (big-endian, so byte order is position order). Blocks of a list cover disjoint ranges: a position
// belongs to the block with the smallest key >= it. A sealed block's key is its largest position; the newest
// block of a list is "open", keyed (kCountAt, 0), so appending newer positions never changes its key, and its n
// holds the list's length (its count). The open block exists exactly while the list is non-empty.
//
// Not thread-safe: functions run on the connection of the caller's transaction (writes) or snapshot (reads).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::metadata {

// A document's place in newest-first order: (at, obj) descending.
struct Position {
  int64_t at;
  int64_t obj;
  bool operator<(const Position& o) const { return at != o.at ? at < o.at : obj < o.obj; }
  bool operator==(const Position& o) const { return at == o.at && obj == o.obj; }
};

inline constexpr size_t kBlockEntries = 48;        // 768 bytes: a block stays inside one b-tree page
inline constexpr int64_t kCountAt = INT64_MAX;     // `at` of the open block (above every valid timestamp)

// Adds positions (sorted ascending, unique) to the list; `added` receives how many were not already there.
Status AddToList(sqlite::Connection& conn, int kind, const std::string& term, const std::vector<Position>& sorted,
                 int64_t* added = nullptr);
// Removes positions (sorted ascending, unique); `removed` receives how many were there.
Status RemoveFromList(sqlite::Connection& conn, int kind, const std::string& term, const std::vector<Position>& sorted,
                      int64_t* removed = nullptr);
// The list's length (0 when absent).
Result<int64_t> ListCount(sqlite::Connection& conn, int kind, const std::string& term);
// Up to `max` positions p with from_at <= p.at and p < below, newest first, appended to `out`.
Status ReadBelow(sqlite::Connection& conn, int kind, const std::string& term, Position below, int64_t from_at,
                 int64_t max, std::vector<Position>& out);
// Whether the list has position p.
Result<bool> ListHas(sqlite::Connection& conn, int kind, const std::string& term, Position p);

// Every list of a kind, for verification: term, stored count, positions (ascending), and whether its blocks are
// well formed (sorted, inside their ranges, within capacity, the count matching).
struct ListDump {
  std::string term;
  int64_t count = 0;
  std::vector<Position> positions;
  bool well_formed = true;
};
Status ForEachList(sqlite::Connection& conn, int kind, const std::function<Status(const ListDump&)>& visit);

}  // namespace convstore::metadata
