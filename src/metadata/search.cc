#include "metadata/search.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "cost/usage.h"
#include "metadata/filter.h"
#include "metadata/index.h"
#include "store/rows.h"
#include "store/validate.h"

namespace convstore::metadata {

namespace {

using nlohmann::json;

constexpr int64_t kMaxScanLimit = 10'000'000;

// A row's place in newest-first order: (at, obj) descending.
struct Position {
  int64_t at;
  int64_t obj;
  bool operator<(const Position& o) const { return at != o.at ? at < o.at : obj < o.obj; }
};

// "m1.<target>.<at hex>.<obj hex>": the position of the last row a page covered.
std::string EncodeCursor(MetadataTarget t, Position p) {
  return fmt::format("m1.{}.{:x}.{:x}", static_cast<int>(t), static_cast<uint64_t>(p.at), static_cast<uint64_t>(p.obj));
}

std::optional<Position> DecodeCursor(std::string_view text, MetadataTarget t) {
  const std::string prefix = fmt::format("m1.{}.", static_cast<int>(t));
  if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
  text.remove_prefix(prefix.size());
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto hex = [](std::string_view s, int64_t& out) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || s.size() > 16 || v > uint64_t{INT64_MAX})
      return false;
    out = static_cast<int64_t>(v);
    return true;
  };
  Position pos{};
  if (!hex(text.substr(0, dot), pos.at) || !hex(text.substr(dot + 1), pos.obj) || pos.obj == 0) return std::nullopt;
  return pos;
}

// Per-target SQL (literals: the statement cache is keyed by the pointer).
struct SearchSql {
  const char* check;  // metadata, user_id, archived (NULL: no conversation), conversation row id (NULL: none)
  const char* tail;   // id, at of rows above the watermark
};
const SearchSql kSql[] = {
    {"SELECT metadata, user_id, archived, id FROM conversations WHERE id = ?1",
     "SELECT id, created_at FROM conversations WHERE id > ?1"},
    {"SELECT m.metadata, c.user_id, c.archived, m.conversation_id FROM messages m "
     "JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?1",
     "SELECT id, created_at FROM messages WHERE id > ?1"},
    {"SELECT a.metadata, a.user_id, c.archived, a.conversation_id FROM api_usage a "
     "LEFT JOIN conversations c ON c.id = a.conversation_id WHERE a.id = ?1",
     "SELECT id, recorded_at FROM api_usage WHERE id > ?1"},
};

std::string DisplayValue(const std::string& canonical) {
  if (canonical.empty()) return "";  // the path exists
  return canonical;
}

struct List {
  std::vector<Posting> terms;  // one (a required list) or several (an $in group: any of them)
  std::vector<std::string> term_text;
  int64_t count = 0;
};

class Searcher {
 public:
  Searcher(sqlite::Connection& conn, const MetadataQuery& q, const CompiledFilter& f)
      : conn_(conn), q_(q), f_(f), kind_(static_cast<int>(q.target)), sql_(kSql[kind_]) {}

  Result<MetadataSearchResult> Run() {
    MetadataSearchResult out;
    out.target = q_.target;
    MetadataPlan& plan = out.plan;
    CONVSTORE_RETURN_IF_ERROR(ResolveOrdinaryFilters(plan));
    if (nothing_) {
      plan.strategy = "empty";
      return out;
    }
    // The newest position a row may have: before the cursor and before `to`.
    hi_ = Position{kCountAt, 0};
    if (q_.to) hi_ = std::min(hi_, Position{*q_.to, 0});
    if (!q_.cursor.empty()) hi_ = std::min(hi_, *DecodeCursor(q_.cursor, q_.target));
    lo_at_ = q_.from.value_or(INT64_MIN);

    auto excluded = LoadExcludedPaths(conn_);
    if (!excluded.ok()) return excluded.status();
    IndexNeeds needs = f_.Needs(*excluded);
    plan.notes = needs.notes;
    std::vector<Position> matches;
    std::optional<Position> scanned_to;  // set when a bounded scan stopped early
    if (needs.impossible) {
      plan.strategy = "empty";
    } else {
      std::vector<List> lists;
      for (const Posting& p : needs.all) lists.push_back(List{{p}, {Term(p)}, 0});
      for (const auto& group : needs.any_of) {
        List l;
        for (const Posting& p : group) {
          l.terms.push_back(p);
          l.term_text.push_back(Term(p));
        }
        lists.push_back(std::move(l));
      }
      bool empty_list = false;
      for (List& l : lists) {
        for (const std::string& t : l.term_text) {
          auto n = Count(t);
          if (!n.ok()) return n.status();
          l.count += *n;
        }
        empty_list |= l.count == 0;
      }
      std::stable_sort(lists.begin(), lists.end(), [](const List& a, const List& b) { return a.count < b.count; });
      if (empty_list) {
        plan.strategy = "empty";
        for (const List& l : lists) Describe(l, l.count == 0 ? "driver" : "unused", plan);
      } else if (lists.empty()) {
        plan.strategy = "scan";
        auto every = Count(kEveryDocumentTerm);
        if (!every.ok()) return every.status();
        List all{{}, {kEveryDocumentTerm}, *every};
        Describe(all, "driver", plan);
        CONVSTORE_RETURN_IF_ERROR(Walk(all, {}, q_.scan_limit, plan, matches, scanned_to));
        plan.scan_truncated = scanned_to.has_value();
      } else {
        plan.strategy = "index";
        // Probing costs a lookup per candidate; past a few lists the document check is as cheap.
        constexpr size_t kMaxProbes = 4;
        std::vector<const List*> probes;
        for (size_t i = 1; i < lists.size(); ++i)
          if (probes.size() < kMaxProbes) probes.push_back(&lists[i]);
        Describe(lists[0], "driver", plan);
        for (size_t i = 1; i < lists.size(); ++i) Describe(lists[i], i <= kMaxProbes ? "probe" : "unused", plan);
        CONVSTORE_RETURN_IF_ERROR(Walk(lists[0], probes, 0, plan, matches, scanned_to));
      }
    }
    CONVSTORE_RETURN_IF_ERROR(CheckUnindexed(plan, matches, scanned_to));
    std::sort(matches.begin(), matches.end(), [](const Position& a, const Position& b) { return b < a; });
    if (matches.size() > static_cast<size_t>(q_.limit)) matches.resize(static_cast<size_t>(q_.limit));
    plan.matched = static_cast<int64_t>(matches.size());
    if (scanned_to) {
      out.next_cursor = EncodeCursor(q_.target, *scanned_to);
    } else if (matches.size() == static_cast<size_t>(q_.limit)) {
      out.next_cursor = EncodeCursor(q_.target, matches.back());
    }
    for (const Position& p : matches) CONVSTORE_RETURN_IF_ERROR(FetchRecord(p.obj, out));
    return out;
  }

 private:
  Status ResolveOrdinaryFilters(MetadataPlan& plan) {
    if (!q_.user_key.empty()) {
      auto st = conn_.Prepare("SELECT id FROM users WHERE key = ?1");
      if (!st.ok()) return st.status();
      st->Bind(1, q_.user_key);
      auto row = st->Step("find user");
      if (!row.ok()) return row.status();
      if (!*row) {
        nothing_ = true;
        plan.notes.push_back(fmt::format("no user '{}'", q_.user_key));
        return Status::OK();
      }
      user_row_ = st->Int(0);
      st->Reset();
    }
    if (!q_.conversation_id.empty()) {
      auto st = conn_.Prepare("SELECT id FROM conversations WHERE uid = ?1");
      if (!st.ok()) return st.status();
      st->Bind(1, q_.conversation_id);
      auto row = st->Step("find conversation");
      if (!row.ok()) return row.status();
      if (!*row) {
        nothing_ = true;
        plan.notes.push_back(fmt::format("no conversation '{}'", q_.conversation_id));
        return Status::OK();
      }
      conversation_row_ = st->Int(0);
      st->Reset();
    }
    if (q_.from && q_.to && *q_.from >= *q_.to) nothing_ = true;
    return Status::OK();
  }

  Result<int64_t> Count(const std::string& term) {
    auto st = conn_.Prepare(
        "SELECT n FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = 9223372036854775807 AND obj = 0");
    if (!st.ok()) return st.status();
    st->Bind(1, int64_t{kind_}).Bind(2, term);
    auto row = st->Step("read posting count");
    if (!row.ok()) return row.status();
    int64_t n = *row ? st->Int(0) : 0;
    st->Reset();
    return n;
  }

  void Describe(const List& l, const char* role, MetadataPlan& plan) {
    if (l.terms.empty()) {
      plan.postings.push_back({"", "*", l.count, role});
      return;
    }
    for (const Posting& p : l.terms) {
      auto n = Count(Term(p));
      plan.postings.push_back({PointerOf(DecodePath(p.path)), DisplayValue(p.value), n.ok() ? *n : 0,
                               l.terms.size() > 1 ? std::string(role) + " (any of)" : std::string(role)});
    }
  }

  // Reads the next batch of the list's entries below `below`, newest first.
  Status NextBatch(const List& l, Position below, int64_t batch, std::vector<Position>& out) {
    out.clear();
    if (l.term_text.size() == 1) {
      auto st = conn_.Prepare(
          "SELECT at, obj FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at >= ?3 AND (at, obj) < (?4, ?5) "
          "ORDER BY at DESC, obj DESC LIMIT ?6");
      if (!st.ok()) return st.status();
      st->Bind(1, int64_t{kind_}).Bind(2, l.term_text[0]).Bind(3, lo_at_).Bind(4, below.at).Bind(5, below.obj);
      st->Bind(6, batch);
      for (;;) {
        auto row = st->Step("walk posting list");
        if (!row.ok()) return row.status();
        if (!*row) break;
        out.push_back({st->Int(0), st->Int(1)});
      }
      return Status::OK();
    }
    const std::string terms = json(l.term_text).dump();
    auto st = conn_.Prepare(
        "SELECT at, obj FROM metadata_postings WHERE kind = ?1 AND term IN (SELECT value FROM json_each(?2)) "
        "AND at >= ?3 AND (at, obj) < (?4, ?5) ORDER BY at DESC, obj DESC LIMIT ?6");
    if (!st.ok()) return st.status();
    st->Bind(1, int64_t{kind_}).Bind(2, terms).Bind(3, lo_at_).Bind(4, below.at).Bind(5, below.obj).Bind(6, batch);
    for (;;) {
      auto row = st->Step("walk posting lists");
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({st->Int(0), st->Int(1)});
    }
    return Status::OK();
  }

  Result<bool> InList(const List& l, Position p) {
    auto st = conn_.Prepare("SELECT 1 FROM metadata_postings WHERE kind = ?1 AND term = ?2 AND at = ?3 AND obj = ?4");
    if (!st.ok()) return st.status();
    for (const std::string& t : l.term_text) {
      st->Bind(1, int64_t{kind_}).Bind(2, t).Bind(3, p.at).Bind(4, p.obj);
      auto row = st->Step("probe posting list");
      if (!row.ok()) return row.status();
      st->Reset();
      if (*row) return true;
    }
    return false;
  }

  // Walks `driver` newest first until `limit` rows matched (or, when max_candidates > 0, that many entries were
  // read: then `scanned_to` is the last entry read).
  Status Walk(const List& driver, const std::vector<const List*>& probes, int64_t max_candidates, MetadataPlan& plan,
              std::vector<Position>& matches, std::optional<Position>& scanned_to) {
    Position below = hi_;
    int64_t batch = std::max<int64_t>(32, 4 * q_.limit);
    std::vector<Position> entries;
    while (static_cast<int64_t>(matches.size()) < q_.limit) {
      int64_t want = batch;
      if (max_candidates > 0) want = std::min(want, max_candidates - plan.candidates);
      if (want <= 0) {
        scanned_to = below;
        return Status::OK();
      }
      CONVSTORE_RETURN_IF_ERROR(NextBatch(driver, below, want, entries));
      for (const Position& p : entries) {
        ++plan.candidates;
        below = p;
        bool keep = true;
        for (const List* l : probes) {
          auto in = InList(*l, p);
          if (!in.ok()) return in.status();
          if (!*in) {
            keep = false;
            ++plan.probe_rejected;
            break;
          }
        }
        if (!keep) continue;
        auto ok = Check(p.obj, plan);
        if (!ok.ok()) return ok.status();
        if (*ok) {
          matches.push_back(p);
          if (static_cast<int64_t>(matches.size()) == q_.limit) return Status::OK();
        }
      }
      if (static_cast<int64_t>(entries.size()) < want) return Status::OK();  // the list is exhausted
      batch = std::min<int64_t>(batch * 2, 4096);
    }
    return Status::OK();
  }

  // Checks one row against the ordinary filters and the whole metadata filter.
  Result<bool> Check(int64_t obj, MetadataPlan& plan) {
    auto st = conn_.Prepare(sql_.check);
    if (!st.ok()) return st.status();
    st->Bind(1, obj);
    auto row = st->Step("read metadata document");
    if (!row.ok()) return row.status();
    if (!*row) return false;
    ++plan.verified;
    if (user_row_ && st->Int(1) != *user_row_) return false;
    if (conversation_row_ && (st->IsNull(3) || st->Int(3) != *conversation_row_)) return false;
    if (q_.archived && (st->IsNull(2) || (st->Int(2) != 0) != *q_.archived)) return false;
    if (f_.empty()) return true;
    std::string_view text = st->Text(0);
    json doc = json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded()) return false;
    return f_.Matches(doc);
  }

  // Rows the posting lists do not hold: the unfolded tail and oversized documents.
  Status CheckUnindexed(MetadataPlan& plan, std::vector<Position>& matches, const std::optional<Position>& scanned_to) {
    if (nothing_) return Status::OK();
    auto mark = IndexedUpTo(conn_, q_.target);
    if (!mark.ok()) return mark.status();
    std::vector<Position> rows;
    {
      auto st = conn_.Prepare(sql_.tail);
      if (!st.ok()) return st.status();
      st->Bind(1, *mark);
      for (;;) {
        auto row = st->Step("read unfolded rows");
        if (!row.ok()) return row.status();
        if (!*row) break;
        rows.push_back({st->Int(1), st->Int(0)});
      }
    }
    {
      auto st = conn_.Prepare("SELECT at, obj FROM metadata_unindexed WHERE kind = ?1");
      if (!st.ok()) return st.status();
      st->Bind(1, int64_t{kind_});
      for (;;) {
        auto row = st->Step("read unindexed rows");
        if (!row.ok()) return row.status();
        if (!*row) break;
        rows.push_back({st->Int(0), st->Int(1)});
      }
    }
    for (const Position& p : rows) {
      if (!(p < hi_) || p.at < lo_at_) continue;
      if (scanned_to && !(*scanned_to < p)) continue;  // beyond where the bounded scan stopped: the next page's
      ++plan.unindexed_checked;
      auto ok = Check(p.obj, plan);
      if (!ok.ok()) return ok.status();
      if (*ok) matches.push_back(p);
    }
    return Status::OK();
  }

  Status FetchRecord(int64_t obj, MetadataSearchResult& out) {
    switch (q_.target) {
      case MetadataTarget::kConversations: {
        auto st = conn_.Prepare("SELECT " CONVSTORE_CONVERSATION_COLUMNS
                                " FROM conversations c JOIN users u ON u.id = c.user_id WHERE c.id = ?1");
        if (!st.ok()) return st.status();
        st->Bind(1, obj);
        auto row = st->Step("read conversation");
        if (!row.ok()) return row.status();
        if (*row) store::ReadConversation(*st, 0, out.conversations.emplace_back());
        st->Reset();
        return Status::OK();
      }
      case MetadataTarget::kMessages: {
        auto st = conn_.Prepare("SELECT c.uid, " CONVSTORE_MESSAGE_COLUMNS
                                " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?1");
        if (!st.ok()) return st.status();
        st->Bind(1, obj);
        auto row = st->Step("read message");
        if (!row.ok()) return row.status();
        if (*row) {
          const std::string conversation = st->String(0);
          store::ReadMessage(*st, 1, conversation, out.messages.emplace_back());
        }
        st->Reset();
        return Status::OK();
      }
      case MetadataTarget::kApiUsage: {
        auto usage = cost::ApiUsageByRowId(conn_, obj);
        if (!usage.ok()) return usage.status();
        if (*usage) out.api_usage.push_back(std::move(**usage));
        return Status::OK();
      }
    }
    return Status::OK();
  }

  sqlite::Connection& conn_;
  const MetadataQuery& q_;
  const CompiledFilter& f_;
  const int kind_;
  const SearchSql& sql_;
  bool nothing_ = false;
  std::optional<int64_t> user_row_, conversation_row_;
  Position hi_{};
  int64_t lo_at_ = 0;
};

}  // namespace

Status ValidateQuery(const MetadataQuery& q) {
  const int t = static_cast<int>(q.target);
  if (t < 0 || t > 2) return Status::InvalidArgument(fmt::format("target {} is not 0, 1 or 2", t));
  CONVSTORE_RETURN_IF_ERROR(store::CheckRange(q.limit, 1, limits::kMaxListLimit, "limit"));
  CONVSTORE_RETURN_IF_ERROR(store::CheckRange(q.scan_limit, 1, kMaxScanLimit, "scan_limit"));
  if (!q.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(store::CheckKey(q.user_key, "user_key"));
  if (!q.conversation_id.empty()) CONVSTORE_RETURN_IF_ERROR(store::CheckKey(q.conversation_id, "conversation_id"));
  CONVSTORE_RETURN_IF_ERROR(store::CheckTimestamp(q.from, "from"));
  CONVSTORE_RETURN_IF_ERROR(store::CheckTimestamp(q.to, "to"));
  if (q.from && q.to && *q.from > *q.to) return Status::InvalidArgument("from is after to");
  if (!q.cursor.empty() && !DecodeCursor(q.cursor, q.target))
    return Status::InvalidArgument("cursor is not one returned by a metadata search of this target");
  auto f = CompileFilter(q.contains_json, q.where_json);
  return f.status();
}

Result<MetadataSearchResult> Search(sqlite::Connection& conn, const MetadataQuery& query) {
  auto filter = CompileFilter(query.contains_json, query.where_json);
  if (!filter.ok()) return filter.status();
  Searcher s(conn, query, *filter);
  return s.Run();
}

}  // namespace convstore::metadata
