#include "metadata/index.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "metadata/posting_blocks.h"
#include "util/validate.h"

namespace convstore::metadata {

namespace {

using nlohmann::json;

// Per-target statements. SQL must be string literals (the statement cache is keyed by the pointer), hence a table
// of literals rather than formatted text.
struct TargetSql {
  const char* doc;       // (at, metadata) of one row id
  const char* tail;      // (id, at, metadata) of rows above a watermark, by id
  const char* all;       // (id, at, metadata) of rows above an id, by id, limited (for rebuild/verify batches)
  const char* max_id;    // the largest id
  const char* count;     // rows
};

const TargetSql kTargetSql[] = {
    {"SELECT created_at, metadata FROM conversations WHERE id = ?1",
     "SELECT id, created_at, metadata FROM conversations WHERE id > ?1 ORDER BY id",
     "SELECT id, created_at, metadata FROM conversations WHERE id > ?1 ORDER BY id LIMIT ?2",
     "SELECT coalesce(max(id), 0) FROM conversations", "SELECT count(*) FROM conversations"},
    {"SELECT created_at, metadata FROM messages WHERE id = ?1",
     "SELECT id, created_at, metadata FROM messages WHERE id > ?1 ORDER BY id",
     "SELECT id, created_at, metadata FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2",
     "SELECT coalesce(max(id), 0) FROM messages", "SELECT count(*) FROM messages"},
    {"SELECT recorded_at, metadata FROM api_usage WHERE id = ?1",
     "SELECT id, recorded_at, metadata FROM api_usage WHERE id > ?1 ORDER BY id",
     "SELECT id, recorded_at, metadata FROM api_usage WHERE id > ?1 ORDER BY id LIMIT ?2",
     "SELECT coalesce(max(id), 0) FROM api_usage", "SELECT count(*) FROM api_usage"},
};

const TargetSql& SqlOf(MetadataTarget t) { return kTargetSql[static_cast<int>(t)]; }
// The stored `kind` column: the target's value. SQL below spells the kinds out (CASE ?1 WHEN 0 ... WHEN 1 ...).
int KindOf(MetadataTarget t) { return static_cast<int>(t); }
static_assert(static_cast<int>(MetadataTarget::kConversations) == 0 && static_cast<int>(MetadataTarget::kMessages) == 1 &&
                  static_cast<int>(MetadataTarget::kApiUsage) == 2,
              "the SQL of this file spells the stored kinds out");

int Depth(const json& v) {
  if (!v.is_structured()) return 0;
  int d = 0;
  for (const json& e : v) d = std::max(d, Depth(e));
  return d + 1;
}

// Positions to add to (or remove from) each posting list, gathered over a batch of documents so each list is
// written once per batch.
using ListChanges = std::map<std::string, std::vector<Position>>;

// Gathers one document's positions (or adds/removes its metadata_unindexed row, when it is beyond the limits).
// `scoped`: metadata_unindexed has its user and conversation columns (false only while migration 3 backfills a
// file that migration 4 then completes).
Status Collect(sqlite::Connection& conn, int kind, int64_t obj, int64_t at, std::string_view doc_text,
               const std::vector<std::string>& excluded, int sign, ListChanges& changes, bool scoped = true) {
  json doc = json::parse(doc_text.begin(), doc_text.end(), nullptr, false);
  if (doc.is_discarded()) doc = json::object();  // stored documents are validated; a damaged one indexes as {}
  auto terms = DocumentTerms(doc, excluded);
  if (!terms) {
    // An oversized document is listed with its user and conversation, so scoped searches read only their own.
    auto st = conn.Prepare(
        sign < 0 ? "DELETE FROM metadata_unindexed WHERE kind = ?1 AND at = ?2 AND obj = ?3"
        : !scoped
            ? "INSERT OR IGNORE INTO metadata_unindexed(kind, at, obj) VALUES (?1, ?2, ?3)"
            : "INSERT OR IGNORE INTO metadata_unindexed(kind, at, obj, user_id, conversation_id) VALUES (?1, ?2, ?3,"
              " CASE ?1 WHEN 0 THEN (SELECT user_id FROM conversations WHERE id = ?3)"
              " WHEN 1 THEN (SELECT c.user_id FROM messages m JOIN conversations c ON c.id = m.conversation_id"
              " WHERE m.id = ?3) ELSE (SELECT user_id FROM api_usage WHERE id = ?3) END,"
              " CASE ?1 WHEN 0 THEN ?3 WHEN 1 THEN (SELECT conversation_id FROM messages WHERE id = ?3)"
              " ELSE (SELECT conversation_id FROM api_usage WHERE id = ?3) END)");
    if (!st.ok()) return st.status();
    st->Bind(1, int64_t{kind}).Bind(2, at).Bind(3, obj);
    return st->Run("record an unindexed metadata document");
  }
  for (std::string& t : *terms) changes[std::move(t)].push_back({at, obj});
  return Status::OK();
}

Status Apply(sqlite::Connection& conn, int kind, ListChanges& changes, int sign) {
  for (auto& [term, positions] : changes) {
    std::sort(positions.begin(), positions.end());
    positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
    CONVSTORE_RETURN_IF_ERROR(sign > 0 ? AddToList(conn, kind, term, positions)
                                       : RemoveFromList(conn, kind, term, positions));
  }
  changes.clear();
  return Status::OK();
}

Status SetIndexedUpTo(sqlite::Connection& conn, int kind, int64_t id) {
  auto st = conn.Prepare(
      "INSERT INTO metadata_index(kind, indexed_upto) VALUES (?1, ?2) "
      "ON CONFLICT(kind) DO UPDATE SET indexed_upto = excluded.indexed_upto");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{kind}).Bind(2, id);
  return st->Run("set metadata watermark");
}

// Indexes the rows above the watermark and moves it to the largest id.
Status FoldTail(sqlite::Connection& conn, MetadataTarget target, int64_t watermark) {
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  const int kind = KindOf(target);
  struct Row {
    int64_t id, at;
    std::string doc;
  };
  std::vector<Row> rows;
  {
    auto st = conn.Prepare(SqlOf(target).tail);
    if (!st.ok()) return st.status();
    st->Bind(1, watermark);
    for (;;) {
      auto row = st->Step("read metadata tail");
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.push_back({st->Int(0), st->Int(1), st->String(2)});
    }
  }
  if (rows.empty()) return Status::OK();
  ListChanges changes;
  for (const Row& r : rows) CONVSTORE_RETURN_IF_ERROR(Collect(conn, kind, r.id, r.at, r.doc, *excluded, +1, changes));
  CONVSTORE_RETURN_IF_ERROR(Apply(conn, kind, changes, +1));
  return SetIndexedUpTo(conn, kind, rows.back().id);
}

// Gathers the positions of the stored row `id` (sign +1 to add, -1 to remove).
Status CollectRow(sqlite::Connection& conn, MetadataTarget target, int64_t id, const std::vector<std::string>& excluded,
                  int sign, ListChanges& changes) {
  auto st = conn.Prepare(SqlOf(target).doc);
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto row = st->Step("read metadata document");
  if (!row.ok()) return row.status();
  if (!*row) return Status::OK();
  const int64_t at = st->Int(0);
  std::string doc = st->String(1);
  st->Reset();
  return Collect(conn, KindOf(target), id, at, doc, excluded, sign, changes);
}

Result<int64_t> QueryInt(sqlite::Connection& conn, const char* sql) {
  auto st = conn.Prepare(sql);
  if (!st.ok()) return st.status();
  auto row = st->Step("metadata index query");
  if (!row.ok()) return row.status();
  int64_t v = *row ? st->Int(0) : 0;
  st->Reset();
  return v;
}

}  // namespace

std::string Term(const Posting& p) { return p.path + "=" + p.value; }

Result<std::vector<std::string>> ParsePath(std::string_view text) {
  std::vector<std::string> keys;
  if (text.empty()) return Status::InvalidArgument("a metadata path is empty");
  if (text.size() > kMaxIndexedPathBytes)
    return Status::TooLarge(fmt::format("a metadata path has {} bytes; the limit is {}", text.size(), kMaxIndexedPathBytes));
  if (text.front() == '/') {  // JSON Pointer (RFC 6901)
    size_t pos = 1;
    for (;;) {
      size_t end = text.find('/', pos);
      std::string_view raw = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      std::string key;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '~') {
          key += raw[i];
          continue;
        }
        if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
          key += raw[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          return Status::InvalidArgument(
              fmt::format("metadata path '{}': '~' must be followed by 0 or 1 in a JSON Pointer", text));
        }
      }
      keys.push_back(std::move(key));
      if (end == std::string_view::npos) break;
      pos = end + 1;
    }
  } else {
    size_t pos = 0;
    for (;;) {
      size_t end = text.find('.', pos);
      std::string_view key = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      if (key.empty())
        return Status::InvalidArgument(fmt::format(
            "metadata path '{}' has an empty key (for keys with dots or empty keys use a JSON Pointer: '/a.b')", text));
      keys.emplace_back(key);
      if (end == std::string_view::npos) break;
      pos = end + 1;
    }
  }
  if (static_cast<int>(keys.size()) > kMaxIndexedDepth)
    return Status::InvalidArgument(fmt::format("metadata path '{}' has {} keys; the limit is {}", text, keys.size(),
                                               kMaxIndexedDepth));
  return keys;
}

std::string PointerOf(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) {
    out += '/';
    for (char c : k) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
  }
  return out;
}

std::vector<std::string> DecodePath(std::string_view encoded) {
  std::vector<std::string> keys;
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t colon = encoded.find(':', pos);
    if (colon == std::string_view::npos) break;
    size_t len = std::stoul(std::string(encoded.substr(pos, colon - pos)));
    keys.emplace_back(encoded.substr(colon + 1, len));
    pos = colon + 1 + len;
  }
  return keys;
}

Result<std::vector<std::string>> LoadExcludedPaths(sqlite::Connection& conn) {
  auto st = conn.Prepare("SELECT value FROM meta WHERE key = 'metadata_excluded_paths'");
  if (!st.ok()) return st.status();
  auto row = st->Step("read excluded metadata paths");
  if (!row.ok()) return row.status();
  std::vector<std::string> out;
  if (!*row) return out;
  json list = json::parse(st->Text(0), nullptr, false);
  st->Reset();
  if (!list.is_array()) return Status::Corruption("meta.metadata_excluded_paths is not a JSON array");
  for (const json& keys : list) {
    if (!keys.is_array()) return Status::Corruption("meta.metadata_excluded_paths holds a path that is not an array");
    std::vector<std::string> k;
    for (const json& key : keys) {
      if (!key.is_string()) return Status::Corruption("meta.metadata_excluded_paths holds a key that is not a string");
      k.push_back(key.get<std::string>());
    }
    out.push_back(EncodePath(k));
  }
  return out;
}

std::optional<std::vector<std::string>> DocumentTerms(const json& doc, const std::vector<std::string>& excluded) {
  if (Depth(doc) > kMaxIndexedDepth) return std::nullopt;
  std::vector<Posting> postings = Flatten(doc, excluded);
  if (postings.size() > kMaxIndexedPostings) return std::nullopt;
  std::vector<std::string> terms;
  terms.reserve(postings.size() + 1);
  terms.push_back(kEveryDocumentTerm);
  for (const Posting& p : postings) {
    if (p.path.size() > kMaxIndexedPathBytes) return std::nullopt;
    terms.push_back(Term(p));
  }
  std::sort(terms.begin(), terms.end());  // Flatten sorts by (path, value); "path=value" may order differently
  return terms;
}

Result<int64_t> IndexedUpTo(sqlite::Connection& conn, MetadataTarget target) {
  auto st = conn.Prepare("SELECT indexed_upto FROM metadata_index WHERE kind = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, int64_t{KindOf(target)});
  auto row = st->Step("read metadata watermark");
  if (!row.ok()) return row.status();
  int64_t v = *row ? st->Int(0) : 0;
  st->Reset();
  return v;
}

Status AfterInsert(sqlite::Connection& conn, MetadataTarget target, const std::vector<int64_t>& ids) {
  if (ids.empty()) return Status::OK();
  auto watermark = IndexedUpTo(conn, target);
  if (!watermark.ok()) return watermark.status();
  int64_t highest = 0;
  std::vector<int64_t> reused;
  for (int64_t id : ids) {
    highest = std::max(highest, id);
    if (id <= *watermark) reused.push_back(id);
  }
  if (!reused.empty()) {
    auto excluded = LoadExcludedPaths(conn);
    if (!excluded.ok()) return excluded.status();
    ListChanges changes;
    for (int64_t id : reused) CONVSTORE_RETURN_IF_ERROR(CollectRow(conn, target, id, *excluded, +1, changes));
    CONVSTORE_RETURN_IF_ERROR(Apply(conn, KindOf(target), changes, +1));
  }
  if (highest - *watermark >= kFoldEvery) return FoldTail(conn, target, *watermark);
  return Status::OK();
}

Status BeforeConversationDelete(sqlite::Connection& conn, int64_t conversation_row_id) {
  auto conv_mark = IndexedUpTo(conn, MetadataTarget::kConversations);
  if (!conv_mark.ok()) return conv_mark.status();
  auto msg_mark = IndexedUpTo(conn, MetadataTarget::kMessages);
  if (!msg_mark.ok()) return msg_mark.status();
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  if (conversation_row_id <= *conv_mark) {
    ListChanges changes;
    CONVSTORE_RETURN_IF_ERROR(
        CollectRow(conn, MetadataTarget::kConversations, conversation_row_id, *excluded, -1, changes));
    CONVSTORE_RETURN_IF_ERROR(Apply(conn, 0, changes, -1));
  }
  struct Row {
    int64_t id, at;
    std::string doc;
  };
  std::vector<Row> rows;
  {
    auto st = conn.Prepare(
        "SELECT id, created_at, metadata FROM messages WHERE conversation_id = ?1 AND id <= ?2");
    if (!st.ok()) return st.status();
    st->Bind(1, conversation_row_id).Bind(2, *msg_mark);
    for (;;) {
      auto row = st->Step("read message metadata");
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.push_back({st->Int(0), st->Int(1), st->String(2)});
    }
  }
  ListChanges changes;
  for (const Row& r : rows) CONVSTORE_RETURN_IF_ERROR(Collect(conn, 1, r.id, r.at, r.doc, *excluded, -1, changes));
  CONVSTORE_RETURN_IF_ERROR(Apply(conn, 1, changes, -1));
  // API usage keeps its rows (their conversation becomes NULL): so do their oversized-document entries.
  auto detach = conn.Prepare(
      "UPDATE metadata_unindexed SET conversation_id = NULL WHERE kind = 2 AND conversation_id = ?1");
  if (!detach.ok()) return detach.status();
  detach->Bind(1, conversation_row_id);
  return detach->Run("detach oversized api usage documents");
}

namespace {

Status AfterDocumentUpdate(sqlite::Connection& conn, MetadataTarget target, int64_t row_id, int64_t at,
                           std::string_view old_doc) {
  auto mark = IndexedUpTo(conn, target);
  if (!mark.ok()) return mark.status();
  if (row_id > *mark) return Status::OK();  // in the tail: searches read the row as it is now
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  const int kind = KindOf(target);
  ListChanges changes;
  CONVSTORE_RETURN_IF_ERROR(Collect(conn, kind, row_id, at, old_doc, *excluded, -1, changes));
  CONVSTORE_RETURN_IF_ERROR(Apply(conn, kind, changes, -1));
  CONVSTORE_RETURN_IF_ERROR(CollectRow(conn, target, row_id, *excluded, +1, changes));
  return Apply(conn, kind, changes, +1);
}

}  // namespace

Status AfterConversationUpdate(sqlite::Connection& conn, int64_t row_id, int64_t at, std::string_view old_doc) {
  return AfterDocumentUpdate(conn, MetadataTarget::kConversations, row_id, at, old_doc);
}

Status AfterMessageUpdate(sqlite::Connection& conn, int64_t row_id, int64_t at, std::string_view old_doc) {
  return AfterDocumentUpdate(conn, MetadataTarget::kMessages, row_id, at, old_doc);
}

Status BeforeRowsDelete(sqlite::Connection& conn, MetadataTarget target, const std::vector<int64_t>& row_ids) {
  if (row_ids.empty()) return Status::OK();
  auto mark = IndexedUpTo(conn, target);
  if (!mark.ok()) return mark.status();
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  ListChanges changes;
  for (int64_t id : row_ids)  // rows in the tail have no postings yet
    if (id <= *mark) CONVSTORE_RETURN_IF_ERROR(CollectRow(conn, target, id, *excluded, -1, changes));
  return Apply(conn, KindOf(target), changes, -1);
}

Status BeforeMessagesDelete(sqlite::Connection& conn, const std::vector<int64_t>& row_ids) {
  return BeforeRowsDelete(conn, MetadataTarget::kMessages, row_ids);
}

Status Rebuild(sqlite::Connection& conn, const std::vector<std::string>& excluded, const ProgressFn& progress,
               bool unindexed_scoped) {
  CONVSTORE_RETURN_IF_ERROR(
      conn.Exec("DELETE FROM metadata_postings; DELETE FROM metadata_unindexed; DELETE FROM metadata_index;",
                "clear the metadata index"));
  json list = json::array();
  for (const std::string& p : excluded) list.push_back(DecodePath(p));
  auto save = conn.Prepare(
      "INSERT INTO meta(key, value) VALUES ('metadata_excluded_paths', ?1) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!save.ok()) return save.status();
  const std::string text = list.dump();
  save->Bind(1, text);
  CONVSTORE_RETURN_IF_ERROR(save->Run("store excluded metadata paths"));

  int64_t total = 0, done = 0;
  for (MetadataTarget t : kAllTargets) {
    auto n = QueryInt(conn, SqlOf(t).count);
    if (!n.ok()) return n.status();
    total += *n;
  }
  if (progress) progress(0, total);
  // Documents in batches: each posting list is written once per batch (appended to its open block).
  constexpr int64_t kBatch = 50'000;
  for (MetadataTarget t : kAllTargets) {
    const int kind = KindOf(t);
    int64_t after = 0, highest = 0;
    for (;;) {
      ListChanges changes;
      int64_t rows = 0;
      {
        auto st = conn.Prepare(SqlOf(t).all);
        if (!st.ok()) return st.status();
        st->Bind(1, after).Bind(2, kBatch);
        for (;;) {
          auto row = st->Step("read metadata documents");
          if (!row.ok()) return row.status();
          if (!*row) break;
          ++rows;
          const int64_t id = st->Int(0), at = st->Int(1);
          after = highest = id;
          CONVSTORE_RETURN_IF_ERROR(Collect(conn, kind, id, at, st->Text(2), excluded, +1, changes, unindexed_scoped));
        }
      }
      CONVSTORE_RETURN_IF_ERROR(Apply(conn, kind, changes, +1));
      done += rows;
      if (progress && rows > 0) progress(done, total);
      if (rows < kBatch) break;
    }
    CONVSTORE_RETURN_IF_ERROR(SetIndexedUpTo(conn, kind, highest));
  }
  return Status::OK();
}

Result<MetadataIndexReport> Stats(sqlite::Connection& conn) {
  MetadataIndexReport r;
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  for (const std::string& p : *excluded) r.excluded_paths.push_back(PointerOf(DecodePath(p)));
  for (MetadataTarget t : kAllTargets) {
    auto n = QueryInt(conn, SqlOf(t).count);
    if (!n.ok()) return n.status();
    r.documents += *n;
    auto mark = IndexedUpTo(conn, t);
    if (!mark.ok()) return mark.status();
    auto st = conn.Prepare(SqlOf(t).tail);
    if (!st.ok()) return st.status();
    st->Bind(1, *mark);
    for (;;) {
      auto row = st->Step("count unfolded rows");
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++r.pending;
    }
  }
  auto counts = conn.Prepare(
      "SELECT coalesce(sum(length(entries)), 0) / 16, count(*) FILTER (WHERE at = 9223372036854775807) "
      "FROM metadata_postings");
  if (!counts.ok()) return counts.status();
  auto row = counts->Step("count postings");
  if (!row.ok()) return row.status();
  r.postings = counts->Int(0);
  r.terms = counts->Int(1);
  counts->Reset();
  auto unindexed = QueryInt(conn, "SELECT count(*) FROM metadata_unindexed");
  if (!unindexed.ok()) return unindexed.status();
  r.unindexed = *unindexed;
  r.indexed = r.documents - r.pending - r.unindexed;
  return r;
}

Result<MetadataIndexReport> Verify(sqlite::Connection& conn) {
  MetadataIndexReport r;
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  for (const std::string& p : *excluded) r.excluded_paths.push_back(PointerOf(DecodePath(p)));
  auto is_unindexed = conn.Prepare("SELECT 1 FROM metadata_unindexed WHERE kind = ?1 AND at = ?2 AND obj = ?3");
  if (!is_unindexed.ok()) return is_unindexed.status();
  for (MetadataTarget t : kAllTargets) {
    const int kind = KindOf(t);
    auto mark = IndexedUpTo(conn, t);
    if (!mark.ok()) return mark.status();
    int64_t expected_entries = 0, expected_unindexed = 0, missing_entries = 0, missing_unindexed = 0, after = 0;
    for (;;) {
      struct Doc {
        int64_t id, at;
        std::optional<std::vector<std::string>> terms;
      };
      std::vector<Doc> docs;
      {
        auto st = conn.Prepare(SqlOf(t).all);
        if (!st.ok()) return st.status();
        st->Bind(1, after).Bind(2, int64_t{10'000});
        for (;;) {
          auto row = st->Step("read metadata documents");
          if (!row.ok()) return row.status();
          if (!*row) break;
          after = st->Int(0);
          std::string_view text = st->Text(2);
          json doc = json::parse(text.begin(), text.end(), nullptr, false);
          if (doc.is_discarded()) doc = json::object();
          docs.push_back({st->Int(0), st->Int(1), DocumentTerms(doc, *excluded)});
        }
      }
      for (const Doc& d : docs) {
        ++r.documents;
        if (d.id > *mark) {
          ++r.pending;
          continue;
        }
        if (!d.terms) {
          ++r.unindexed;
          ++expected_unindexed;
          is_unindexed->Bind(1, int64_t{kind}).Bind(2, d.at).Bind(3, d.id);
          auto found = is_unindexed->Step("check unindexed document");
          if (!found.ok()) return found.status();
          if (!*found) ++missing_unindexed;
          is_unindexed->Reset();
          continue;
        }
        ++r.indexed;
        for (const std::string& term : *d.terms) {
          ++expected_entries;
          auto has = ListHas(conn, kind, term, {d.at, d.id});
          if (!has.ok()) return has.status();
          if (!*has) ++missing_entries;
        }
      }
      if (docs.size() < 10'000) break;
    }
    // Entries beyond those the documents imply are extra (present - (expected - missing)); a list whose count or
    // blocks are off counts as a wrong count.
    int64_t present = 0;
    CONVSTORE_RETURN_IF_ERROR(ForEachList(conn, kind, [&](const ListDump& list) {
      present += static_cast<int64_t>(list.positions.size());
      ++r.terms;
      if (!list.well_formed) ++r.wrong_counts;
      return Status::OK();
    }));
    r.postings += present;
    auto stored = conn.Prepare("SELECT count(*) FROM metadata_unindexed WHERE kind = ?1");
    if (!stored.ok()) return stored.status();
    stored->Bind(1, int64_t{kind});
    auto row = stored->Step("count unindexed documents");
    if (!row.ok()) return row.status();
    const int64_t stored_unindexed = stored->Int(0);
    stored->Reset();
    r.missing += missing_entries + missing_unindexed;
    r.extra += std::max<int64_t>(0, present - (expected_entries - missing_entries)) +
               std::max<int64_t>(0, stored_unindexed - (expected_unindexed - missing_unindexed));
  }
  return r;
}

}  // namespace convstore::metadata
