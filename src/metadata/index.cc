#include "metadata/index.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "store/validate.h"

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

const TargetSql kSql[] = {
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

const TargetSql& SqlOf(MetadataTarget t) { return kSql[static_cast<int>(t)]; }
int KindOf(MetadataTarget t) { return static_cast<int>(t); }

int Depth(const json& v) {
  if (!v.is_structured()) return 0;
  int d = 0;
  for (const json& e : v) d = std::max(d, Depth(e));
  return d + 1;
}

// Count changes per term, applied once per transaction step.
using TermDeltas = std::map<std::string, int64_t>;

// Adds (sign +1) or removes (-1) one document's entries. Counts follow the entries actually added or removed, so
// they stay equal to the lists' lengths.
Status ChangeDocument(sqlite::Connection& conn, int kind, int64_t obj, int64_t at, std::string_view doc_text,
                      const std::vector<std::string>& excluded, int sign, TermDeltas& deltas) {
  json doc = json::parse(doc_text.begin(), doc_text.end(), nullptr, false);
  if (doc.is_discarded()) doc = json::object();  // stored documents are validated; a damaged one indexes as {}
  auto terms = DocumentTerms(doc, excluded);
  if (!terms) {
    auto st = conn.Prepare(sign > 0 ? "INSERT OR IGNORE INTO metadata_unindexed(kind, at, obj) VALUES (?1, ?2, ?3)"
                                    : "DELETE FROM metadata_unindexed WHERE kind = ?1 AND at = ?2 AND obj = ?3");
    if (!st.ok()) return st.status();
    st->Bind(1, int64_t{kind}).Bind(2, at).Bind(3, obj);
    return st->Run("record an unindexed metadata document");
  }
  auto st = conn.Prepare(sign > 0 ? "INSERT OR IGNORE INTO metadata_postings(kind, term, at, obj) VALUES (?1, ?2, ?3, ?4)"
                                  : "DELETE FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = ?3 AND obj = ?4");
  if (!st.ok()) return st.status();
  for (const std::string& term : *terms) {
    st->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, at).Bind(4, obj);
    CONVSTORE_RETURN_IF_ERROR(st->Run("update metadata postings"));
    if (conn.changes() > 0) deltas[term] += sign;
  }
  return Status::OK();
}

// One posting-list entry to add.
struct Entry {
  std::string term;
  int64_t at, obj;
  bool operator<(const Entry& o) const { return std::tie(term, at, obj) < std::tie(o.term, o.at, o.obj); }
};

// The entries of one document (or its metadata_unindexed row, written at once).
Status CollectEntries(sqlite::Connection& conn, int kind, int64_t obj, int64_t at, std::string_view doc_text,
                      const std::vector<std::string>& excluded, std::vector<Entry>& out) {
  json doc = json::parse(doc_text.begin(), doc_text.end(), nullptr, false);
  if (doc.is_discarded()) doc = json::object();
  auto terms = DocumentTerms(doc, excluded);
  if (!terms) {
    auto st = conn.Prepare("INSERT OR IGNORE INTO metadata_unindexed(kind, at, obj) VALUES (?1, ?2, ?3)");
    if (!st.ok()) return st.status();
    st->Bind(1, int64_t{kind}).Bind(2, at).Bind(3, obj);
    return st->Run("record an unindexed metadata document");
  }
  for (std::string& t : *terms) out.push_back({std::move(t), at, obj});
  return Status::OK();
}

Status InsertEntries(sqlite::Connection& conn, int kind, const std::vector<Entry>& entries, TermDeltas& deltas) {
  auto st = conn.Prepare("INSERT OR IGNORE INTO metadata_postings(kind, term, at, obj) VALUES (?1, ?2, ?3, ?4)");
  if (!st.ok()) return st.status();
  for (const Entry& e : entries) {
    st->Bind(1, int64_t{kind}).Bind(2, e.term).Bind(3, e.at).Bind(4, e.obj);
    CONVSTORE_RETURN_IF_ERROR(st->Run("insert metadata posting"));
    if (conn.changes() > 0) ++deltas[e.term];
  }
  return Status::OK();
}

Status ApplyCounts(sqlite::Connection& conn, int kind, const TermDeltas& deltas) {
  // Growth (folds, the common case) is a plain upsert; shrinking reads the new count back to drop empty lists.
  auto grow = conn.Prepare(
      "INSERT INTO metadata_postings(kind, term, at, obj, n) VALUES (?1, ?2, 9223372036854775807, 0, ?3) "
      "ON CONFLICT(kind, term, at, obj) DO UPDATE SET n = n + excluded.n");
  if (!grow.ok()) return grow.status();
  auto up = conn.Prepare(
      "INSERT INTO metadata_postings(kind, term, at, obj, n) VALUES (?1, ?2, 9223372036854775807, 0, ?3) "
      "ON CONFLICT(kind, term, at, obj) DO UPDATE SET n = n + excluded.n RETURNING n");
  if (!up.ok()) return up.status();
  auto drop = conn.Prepare(
      "DELETE FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = 9223372036854775807 AND obj = 0");
  if (!drop.ok()) return drop.status();
  for (const auto& [term, delta] : deltas) {
    if (delta == 0) continue;
    if (delta > 0) {
      grow->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, delta);
      CONVSTORE_RETURN_IF_ERROR(grow->Run("update metadata posting count"));
      continue;
    }
    up->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, delta);
    auto row = up->Step("update metadata posting count");
    if (!row.ok()) return row.status();
    const int64_t n = *row ? up->Int(0) : 0;
    up->Reset();
    if (n <= 0) {  // an empty list keeps no count entry (and a negative one cannot happen: counts follow changes)
      drop->Bind(1, int64_t{kind}).Bind(2, term);
      CONVSTORE_RETURN_IF_ERROR(drop->Run("drop metadata posting count"));
    }
  }
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
  // All the tail's entries sorted by key, so consecutive inserts land on the same pages.
  std::vector<Entry> entries;
  for (const Row& r : rows) CONVSTORE_RETURN_IF_ERROR(CollectEntries(conn, kind, r.id, r.at, r.doc, *excluded, entries));
  std::sort(entries.begin(), entries.end());
  TermDeltas deltas;
  CONVSTORE_RETURN_IF_ERROR(InsertEntries(conn, kind, entries, deltas));
  CONVSTORE_RETURN_IF_ERROR(ApplyCounts(conn, kind, deltas));
  return SetIndexedUpTo(conn, kind, rows.back().id);
}

Status IndexOne(sqlite::Connection& conn, MetadataTarget target, int64_t id, const std::vector<std::string>& excluded,
                TermDeltas& deltas) {
  auto st = conn.Prepare(SqlOf(target).doc);
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto row = st->Step("read metadata document");
  if (!row.ok()) return row.status();
  if (!*row) return Status::OK();
  const int64_t at = st->Int(0);
  std::string doc = st->String(1);
  st->Reset();
  return ChangeDocument(conn, KindOf(target), id, at, doc, excluded, +1, deltas);
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

const TargetInfo& InfoOf(MetadataTarget target) {
  static const TargetInfo kInfo[] = {
      {0, "conversations", "created_at"}, {1, "messages", "created_at"}, {2, "api_usage", "recorded_at"}};
  return kInfo[static_cast<int>(target)];
}

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
    TermDeltas deltas;
    for (int64_t id : reused) CONVSTORE_RETURN_IF_ERROR(IndexOne(conn, target, id, *excluded, deltas));
    CONVSTORE_RETURN_IF_ERROR(ApplyCounts(conn, KindOf(target), deltas));
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
    auto st = conn.Prepare(SqlOf(MetadataTarget::kConversations).doc);
    if (!st.ok()) return st.status();
    st->Bind(1, conversation_row_id);
    auto row = st->Step("read conversation metadata");
    if (!row.ok()) return row.status();
    if (*row) {
      const int64_t at = st->Int(0);
      std::string doc = st->String(1);
      st->Reset();
      TermDeltas deltas;
      CONVSTORE_RETURN_IF_ERROR(ChangeDocument(conn, 0, conversation_row_id, at, doc, *excluded, -1, deltas));
      CONVSTORE_RETURN_IF_ERROR(ApplyCounts(conn, 0, deltas));
    }
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
  TermDeltas deltas;
  for (const Row& r : rows) CONVSTORE_RETURN_IF_ERROR(ChangeDocument(conn, 1, r.id, r.at, r.doc, *excluded, -1, deltas));
  return ApplyCounts(conn, 1, deltas);
}

Status AfterConversationUpdate(sqlite::Connection& conn, int64_t row_id, int64_t at, std::string_view old_doc) {
  auto mark = IndexedUpTo(conn, MetadataTarget::kConversations);
  if (!mark.ok()) return mark.status();
  if (row_id > *mark) return Status::OK();  // in the tail: searches read the row as it is now
  auto excluded = LoadExcludedPaths(conn);
  if (!excluded.ok()) return excluded.status();
  TermDeltas deltas;
  CONVSTORE_RETURN_IF_ERROR(ChangeDocument(conn, 0, row_id, at, old_doc, *excluded, -1, deltas));
  CONVSTORE_RETURN_IF_ERROR(IndexOne(conn, MetadataTarget::kConversations, row_id, *excluded, deltas));
  return ApplyCounts(conn, 0, deltas);
}

Status Rebuild(sqlite::Connection& conn, const std::vector<std::string>& excluded, const ProgressFn& progress) {
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
  // Documents in batches; each batch's entries are sorted before insertion so the B-tree fills in key order.
  constexpr int64_t kBatch = 50'000;
  for (MetadataTarget t : kAllTargets) {
    const int kind = KindOf(t);
    TermDeltas counts;
    int64_t after = 0, highest = 0;
    auto ins = conn.Prepare("INSERT INTO metadata_postings(kind, term, at, obj) VALUES (?1, ?2, ?3, ?4)");
    if (!ins.ok()) return ins.status();
    auto unindexed = conn.Prepare("INSERT INTO metadata_unindexed(kind, at, obj) VALUES (?1, ?2, ?3)");
    if (!unindexed.ok()) return unindexed.status();
    for (;;) {
      std::vector<std::tuple<std::string, int64_t, int64_t>> entries;
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
          std::string_view doc_text = st->Text(2);
          json doc = json::parse(doc_text.begin(), doc_text.end(), nullptr, false);
          if (doc.is_discarded()) doc = json::object();
          auto terms = DocumentTerms(doc, excluded);
          if (!terms) {
            unindexed->Bind(1, int64_t{kind}).Bind(2, at).Bind(3, id);
            CONVSTORE_RETURN_IF_ERROR(unindexed->Run("record an unindexed metadata document"));
            continue;
          }
          for (std::string& term : *terms) {
            ++counts[term];
            entries.emplace_back(std::move(term), at, id);
          }
        }
      }
      std::sort(entries.begin(), entries.end());
      for (const auto& [term, at, id] : entries) {
        ins->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, at).Bind(4, id);
        CONVSTORE_RETURN_IF_ERROR(ins->Run("insert metadata posting"));
      }
      done += rows;
      if (progress && rows > 0) progress(done, total);
      if (rows < kBatch) break;
    }
    CONVSTORE_RETURN_IF_ERROR(ApplyCounts(conn, kind, counts));
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
      "SELECT count(*) FILTER (WHERE at < 9223372036854775807), count(*) FILTER (WHERE at = 9223372036854775807) "
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
  auto probe = conn.Prepare("SELECT 1 FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = ?3 AND obj = ?4");
  if (!probe.ok()) return probe.status();
  auto is_unindexed = conn.Prepare("SELECT 1 FROM metadata_unindexed WHERE kind = ?1 AND at = ?2 AND obj = ?3");
  if (!is_unindexed.ok()) return is_unindexed.status();
  for (MetadataTarget t : kAllTargets) {
    const int kind = KindOf(t);
    auto mark = IndexedUpTo(conn, t);
    if (!mark.ok()) return mark.status();
    int64_t expected_entries = 0, expected_unindexed = 0, missing_entries = 0, missing_unindexed = 0, after = 0;
    for (;;) {
      int64_t rows = 0;
      auto st = conn.Prepare(SqlOf(t).all);
      if (!st.ok()) return st.status();
      st->Bind(1, after).Bind(2, int64_t{10'000});
      struct Doc {
        int64_t id, at;
        std::optional<std::vector<std::string>> terms;
      };
      std::vector<Doc> docs;
      for (;;) {
        auto row = st->Step("read metadata documents");
        if (!row.ok()) return row.status();
        if (!*row) break;
        ++rows;
        after = st->Int(0);
        std::string_view text = st->Text(2);
        json doc = json::parse(text.begin(), text.end(), nullptr, false);
        if (doc.is_discarded()) doc = json::object();
        docs.push_back({st->Int(0), st->Int(1), DocumentTerms(doc, *excluded)});
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
          probe->Bind(1, int64_t{kind}).Bind(2, term).Bind(3, d.at).Bind(4, d.id);
          auto found = probe->Step("check metadata posting");
          if (!found.ok()) return found.status();
          if (!*found) ++missing_entries;
          probe->Reset();
        }
      }
      if (rows < 10'000) break;
    }
    // Entries beyond those the documents imply are extra (present - (expected - missing)); count entries must
    // equal their lists' lengths.
    auto lists = conn.Prepare(
        "SELECT count(*) FILTER (WHERE at < 9223372036854775807), max(CASE WHEN at = 9223372036854775807 THEN n END) "
        "FROM metadata_postings WHERE kind = ?1 GROUP BY term");
    if (!lists.ok()) return lists.status();
    lists->Bind(1, int64_t{kind});
    int64_t present = 0;
    for (;;) {
      auto row = lists->Step("count metadata postings");
      if (!row.ok()) return row.status();
      if (!*row) break;
      const int64_t len = lists->Int(0);
      present += len;
      ++r.terms;
      if (lists->IsNull(1) ? len != 0 : lists->Int(1) != len) ++r.wrong_counts;
    }
    r.postings += present;
    auto unindexed_rows = conn.Prepare("SELECT count(*) FROM metadata_unindexed WHERE kind = ?1");
    if (!unindexed_rows.ok()) return unindexed_rows.status();
    unindexed_rows->Bind(1, int64_t{kind});
    auto urow = unindexed_rows->Step("count unindexed documents");
    if (!urow.ok()) return urow.status();
    const int64_t stored_unindexed = unindexed_rows->Int(0);
    unindexed_rows->Reset();
    r.missing += missing_entries + missing_unindexed;
    r.extra += std::max<int64_t>(0, present - (expected_entries - missing_entries)) +
               std::max<int64_t>(0, stored_unindexed - (expected_unindexed - missing_unindexed));
  }
  return r;
}

}  // namespace convstore::metadata
