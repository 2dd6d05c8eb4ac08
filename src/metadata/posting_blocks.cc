#include "metadata/posting_blocks.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/validate.h"

namespace convstore::metadata {

namespace {

constexpr size_t kEntryBytes = 16;
constexpr Position kOpenKey{kCountAt, 0};

// Big-endian with the sign bit flipped: byte order is numeric order.
void PutU64(std::string& out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
}
int64_t GetU64(const unsigned char* p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

std::string Encode(const Position* begin, const Position* end) {
  std::string out;
  out.reserve(static_cast<size_t>(end - begin) * kEntryBytes);
  for (const Position* p = begin; p != end; ++p) {
    PutU64(out, p->at);
    PutU64(out, p->obj);
  }
  return out;
}

Status Damaged(std::string_view what) {
  return Status::Corruption(fmt::format("a metadata posting block {}: the file was changed outside convstore or is "
                                        "damaged; RebuildMetadataIndex repairs it",
                                        what));
}

// A stored block: whole entries, at most kBlockEntries of them, strictly ascending.
Status Decode(std::string_view blob, std::vector<Position>& out) {
  if (blob.size() % kEntryBytes != 0) return Damaged("has a torn entry");
  if (blob.size() > kBlockEntries * kEntryBytes) return Damaged("holds more entries than a block can");
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data());
  out.clear();
  out.reserve(blob.size() / kEntryBytes);
  for (size_t i = 0; i < blob.size(); i += kEntryBytes) {
    const Position e{GetU64(p + i), GetU64(p + i + 8)};
    if (!out.empty() && !(out.back() < e)) return Damaged("is out of order");
    out.push_back(e);
  }
  return Status::OK();
}

// A sealed block is never empty and holds nothing above its key (its largest entry when sealed; removals may
// leave it lower). A block cut short passes this: a whole-list walk then finds fewer entries than the count.
Status CheckSealed(Position key, const std::vector<Position>& entries) {
  if (key == kOpenKey) return Status::OK();
  if (entries.empty() || key < entries.back()) return Damaged("is empty or holds entries above its key");
  return Status::OK();
}

struct Block {
  bool exists = false;
  Position key = kOpenKey;
  int64_t count = 0;  // the open block: the list's length
  std::vector<Position> entries;
};

// The block a position belongs to: the one with the smallest key >= p.
Status FindBlock(sqlite::Connection& conn, int kind, const std::string& term, Position p, Block& b) {
  auto st = conn.Prepare(
      "SELECT at, obj, entries, n FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND (at, obj) >= (?3, ?4) "
      "ORDER BY at, obj LIMIT 1");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, p.at).Bind(4, p.obj);
  auto row = st->Step("find posting block");
  if (!row.ok()) return row.status();
  b = Block{};
  if (!*row) return Status::OK();
  b.exists = true;
  b.key = {st->Int(0), st->Int(1)};
  b.count = st->Int(3);
  Status s = Decode(st->Blob(2), b.entries);
  st->Reset();
  if (s.ok()) s = CheckSealed(b.key, b.entries);
  return s;
}

// Writes a block back, splitting it into sealed blocks of kBlockEntries when it grew past that: every chunk but the
// last becomes a new sealed block keyed by its largest position; the last keeps the block's key. `count` (the
// open block only) is stored in n.
Status WriteBlock(sqlite::Connection& conn, int kind, const std::string& term, const Block& b,
                  std::optional<int64_t> count) {
  const size_t size = b.entries.size();
  size_t last_begin = 0;
  if (size > kBlockEntries) {
    auto seal = conn.Prepare("INSERT INTO metadata_postings(kind, term, at, obj, entries) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!seal.ok()) return seal.status();
    // Full chunks first; the remainder (1..kBlockEntries) stays under the block's key.
    const size_t chunks = (size - 1) / kBlockEntries;
    for (size_t c = 0; c < chunks; ++c) {
      const Position* begin = b.entries.data() + c * kBlockEntries;
      const std::string blob = Encode(begin, begin + kBlockEntries);
      const Position& top = begin[kBlockEntries - 1];
      seal->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, top.at).Bind(4, top.obj).BindBlob(5, blob);
      CONVSTORE_RETURN_IF_ERROR(seal->Run("seal posting block"));
    }
    last_begin = chunks * kBlockEntries;
  }
  const std::string blob = Encode(b.entries.data() + last_begin, b.entries.data() + size);
  if (b.exists) {
    auto st = conn.Prepare(
        "UPDATE metadata_postings SET entries = ?5, n = coalesce(?6, n) "
        "WHERE kind = ?1 AND term = ?2 AND at = ?3 AND obj = ?4");
    if (!st.ok()) return st.status();
    st->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, b.key.at).Bind(4, b.key.obj).BindBlob(5, blob).Bind(6, count);
    return st->Run("update posting block");
  }
  auto st = conn.Prepare("INSERT INTO metadata_postings(kind, term, at, obj, n, entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, b.key.at).Bind(4, b.key.obj).Bind(5, count).BindBlob(6, blob);
  return st->Run("insert posting block");
}

Status AddToCount(sqlite::Connection& conn, int kind, const std::string& term, int64_t delta) {
  auto st = conn.Prepare(
      "UPDATE metadata_postings SET n = n + ?3 WHERE kind = ?1 AND term = ?2 AND at = 9223372036854775807 AND obj = 0 "
      "RETURNING n");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, delta);
  auto row = st->Step("update posting count");
  if (!row.ok()) return row.status();
  if (!*row) return Status::Corruption(fmt::format("metadata posting list '{}' has no open block", term));
  const int64_t n = st->Int(0);
  st->Reset();
  if (n > 0) return Status::OK();
  // Empty: the open block goes (the sealed ones went as they emptied).
  auto del = conn.Prepare(
      "DELETE FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = 9223372036854775807 AND obj = 0");
  if (!del.ok()) return del.status();
  del->Bind(1, int64_t{kind}).Bind(2, term);
  return del->Run("drop empty posting list");
}

}  // namespace

Status AddToList(sqlite::Connection& conn, int kind, const std::string& term, const std::vector<Position>& sorted,
                 int64_t* added_out) {
  int64_t added = 0;
  bool count_written = false;
  size_t i = 0;
  Block b;
  while (i < sorted.size()) {
    CONVSTORE_RETURN_IF_ERROR(FindBlock(conn, kind, term, sorted[i], b));
    size_t j = i;
    while (j < sorted.size() && !(b.key < sorted[j])) ++j;  // the positions this block covers
    std::vector<Position> merged;
    merged.reserve(b.entries.size() + (j - i));
    std::set_union(b.entries.begin(), b.entries.end(), sorted.begin() + static_cast<std::ptrdiff_t>(i),
                   sorted.begin() + static_cast<std::ptrdiff_t>(j), std::back_inserter(merged));
    added += static_cast<int64_t>(merged.size() - b.entries.size());
    b.entries = std::move(merged);
    i = j;
    if (b.key == kOpenKey) {
      // The open block is the last one: every added position is known, so its count is written with it.
      CONVSTORE_RETURN_IF_ERROR(WriteBlock(conn, kind, term, b, b.count + added));
      count_written = true;
    } else {
      CONVSTORE_RETURN_IF_ERROR(WriteBlock(conn, kind, term, b, std::nullopt));
    }
  }
  if (!count_written && added > 0) CONVSTORE_RETURN_IF_ERROR(AddToCount(conn, kind, term, added));
  if (added_out) *added_out = added;
  return Status::OK();
}

Status RemoveFromList(sqlite::Connection& conn, int kind, const std::string& term, const std::vector<Position>& sorted,
                      int64_t* removed_out) {
  int64_t removed = 0;
  size_t i = 0;
  Block b;
  while (i < sorted.size()) {
    CONVSTORE_RETURN_IF_ERROR(FindBlock(conn, kind, term, sorted[i], b));
    if (!b.exists) break;  // nothing at or above: the rest is absent
    size_t j = i;
    while (j < sorted.size() && !(b.key < sorted[j])) ++j;
    std::vector<Position> kept;
    kept.reserve(b.entries.size());
    std::set_difference(b.entries.begin(), b.entries.end(), sorted.begin() + static_cast<std::ptrdiff_t>(i),
                        sorted.begin() + static_cast<std::ptrdiff_t>(j), std::back_inserter(kept));
    const int64_t gone = static_cast<int64_t>(b.entries.size() - kept.size());
    i = j;
    if (gone == 0) continue;
    removed += gone;
    b.entries = std::move(kept);
    if (b.entries.empty() && !(b.key == kOpenKey)) {
      auto del = conn.Prepare("DELETE FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = ?3 AND obj = ?4");
      if (!del.ok()) return del.status();
      del->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, b.key.at).Bind(4, b.key.obj);
      CONVSTORE_RETURN_IF_ERROR(del->Run("drop empty posting block"));
    } else {
      CONVSTORE_RETURN_IF_ERROR(WriteBlock(conn, kind, term, b, std::nullopt));
    }
  }
  if (removed > 0) CONVSTORE_RETURN_IF_ERROR(AddToCount(conn, kind, term, -removed));
  if (removed_out) *removed_out = removed;
  return Status::OK();
}

Result<int64_t> ListCount(sqlite::Connection& conn, int kind, const std::string& term) {
  auto st = conn.Prepare(
      "SELECT n FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = 9223372036854775807 AND obj = 0");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind}).Bind(2, term);
  auto row = st->Step("read posting count");
  if (!row.ok()) return row.status();
  int64_t n = *row ? st->Int(0) : 0;
  st->Reset();
  return n;
}

Status ReadBelow(sqlite::Connection& conn, int kind, const std::string& term, Position below, int64_t from_at,
                 int64_t max, std::vector<Position>& out) {
  int64_t taken = 0;
  std::vector<Position> entries;
  // The block covering `below` holds the first positions under it.
  Block first;
  CONVSTORE_RETURN_IF_ERROR(FindBlock(conn, kind, term, below, first));
  if (!first.exists) return Status::OK();
  for (auto it = first.entries.rbegin(); it != first.entries.rend() && taken < max; ++it) {
    if (!(*it < below)) continue;
    if (it->at < from_at) return Status::OK();
    out.push_back(*it);
    ++taken;
  }
  // Then older blocks, newest first.
  auto st = conn.Prepare(
      "SELECT at, entries, obj FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND (at, obj) < (?3, ?4) "
      "ORDER BY at DESC, obj DESC");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, first.key.at).Bind(4, first.key.obj);
  while (taken < max) {
    auto row = st->Step("walk posting blocks");
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (st->Int(0) < from_at) break;  // a block's key is its largest position: everything in it is older
    CONVSTORE_RETURN_IF_ERROR(Decode(st->Blob(1), entries));
    CONVSTORE_RETURN_IF_ERROR(CheckSealed({st->Int(0), st->Int(2)}, entries));
    for (auto it = entries.rbegin(); it != entries.rend() && taken < max; ++it) {
      if (it->at < from_at) return Status::OK();
      out.push_back(*it);
      ++taken;
    }
  }
  return Status::OK();
}

Result<bool> ListHas(sqlite::Connection& conn, int kind, const std::string& term, Position p) {
  Block b;
  CONVSTORE_RETURN_IF_ERROR(FindBlock(conn, kind, term, p, b));
  return b.exists && std::binary_search(b.entries.begin(), b.entries.end(), p);
}

Status ForEachList(sqlite::Connection& conn, int kind, const std::function<Status(const ListDump&)>& visit) {
  auto st = conn.Prepare(
      "SELECT term, at, obj, n, entries FROM metadata_postings WHERE kind = ?1 ORDER BY term, at, obj");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind});
  ListDump list;
  bool have = false, saw_open = false;
  Position prev_key{INT64_MIN, INT64_MIN};
  std::vector<Position> entries;
  auto finish = [&]() -> Status {
    if (!have) return Status::OK();
    if (!saw_open || list.count != static_cast<int64_t>(list.positions.size())) list.well_formed = false;
    return visit(list);
  };
  for (;;) {
    auto row = st->Step("read posting lists");
    if (!row.ok()) return row.status();
    if (!*row) break;
    std::string term = st->String(0);
    if (!have || term != list.term) {
      CONVSTORE_RETURN_IF_ERROR(finish());
      list = ListDump{};
      list.term = std::move(term);
      have = true;
      saw_open = false;
      prev_key = {INT64_MIN, INT64_MIN};
    }
    const Position key{st->Int(1), st->Int(2)};
    if (saw_open) list.well_formed = false;  // nothing may follow the open block
    if (key == kOpenKey) {
      saw_open = true;
      list.count = st->IsNull(3) ? -1 : st->Int(3);
    } else if (!st->IsNull(3)) {
      list.well_formed = false;
    }
    if (!Decode(st->Blob(4), entries).ok()) {
      list.well_formed = false;
      entries.clear();
    }
    if (entries.size() > kBlockEntries || (entries.empty() && !(key == kOpenKey))) list.well_formed = false;
    for (const Position& p : entries) {
      if (!(prev_key < p) || key < p) list.well_formed = false;  // ascending, inside (previous key, key]
      if (!list.positions.empty() && !(list.positions.back() < p)) list.well_formed = false;
      list.positions.push_back(p);
    }
    prev_key = key;
  }
  return finish();
}

}  // namespace convstore::metadata
