#include "metadata/search.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "convstore/limits.h"
#include "records/api_usage.h"
#include "records/conversation_counters.h"
#include "records/lookups.h"
#include "metadata/filter.h"
#include "metadata/index.h"
#include "metadata/posting_blocks.h"
#include "records/rows.h"
#include "util/validate.h"
#include "util/utf8.h"

namespace convstore::metadata {

namespace {

using nlohmann::json;

constexpr int64_t kMaxScanLimit = 10'000'000;

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
// Both return: metadata, user_id, archived (NULL: no conversation), conversation row id (NULL: none), id, at.
// The tail reads are scoped in SQL (?2: the user or conversation row) so that rows outside the query's scope are
// never loaded; '+' keeps SQLite on the id range (the tail is short; a scope may be large).
struct SearchSql {
  const char* check;              // one row by id
  const char* tail;               // the rows above the watermark
  const char* tail_user;          // ... of one user
  const char* tail_conversation;  // ... of one conversation
};
#define CONVSTORE_CONVERSATION_DOC "SELECT metadata, user_id, archived, id, id, created_at FROM conversations WHERE "
#define CONVSTORE_MESSAGE_DOC                                                                             \
  "SELECT m.metadata, c.user_id, c.archived, m.conversation_id, m.id, m.created_at FROM messages m "     \
  "JOIN conversations c ON c.id = m.conversation_id WHERE "
#define CONVSTORE_USAGE_DOC                                                                               \
  "SELECT a.metadata, a.user_id, c.archived, a.conversation_id, a.id, a.recorded_at FROM api_usage a "   \
  "LEFT JOIN conversations c ON c.id = a.conversation_id WHERE "
const SearchSql kSearchSql[] = {
    {CONVSTORE_CONVERSATION_DOC "id = ?1", CONVSTORE_CONVERSATION_DOC "id > ?1",
     CONVSTORE_CONVERSATION_DOC "id > ?1 AND +user_id = ?2", CONVSTORE_CONVERSATION_DOC "id > ?1 AND id = ?2"},
    {CONVSTORE_MESSAGE_DOC "m.id = ?1", CONVSTORE_MESSAGE_DOC "m.id > ?1",
     CONVSTORE_MESSAGE_DOC "m.id > ?1 AND +c.user_id = ?2",
     CONVSTORE_MESSAGE_DOC "m.id > ?1 AND +m.conversation_id = ?2"},
    {CONVSTORE_USAGE_DOC "a.id = ?1", CONVSTORE_USAGE_DOC "a.id > ?1", CONVSTORE_USAGE_DOC "a.id > ?1 AND +a.user_id = ?2",
     CONVSTORE_USAGE_DOC "a.id > ?1 AND +a.conversation_id = ?2"},
};
#undef CONVSTORE_CONVERSATION_DOC
#undef CONVSTORE_MESSAGE_DOC
#undef CONVSTORE_USAGE_DOC

struct List {
  std::vector<Posting> terms;  // one (a required list) or several (an $in group: any of them)
  std::vector<std::string> term_text;
  std::vector<int64_t> term_counts;  // each term's stored count, read once
  int64_t count = 0;                 // their sum
};

class Searcher {
 public:
  Searcher(sqlite::Connection& conn, const MetadataQuery& q, const CompiledFilter& f)
      : conn_(conn), q_(q), f_(f), kind_(static_cast<int>(q.target)), sql_(kSearchSql[kind_]) {}

  Result<MetadataSearchResult> Run() {
    MetadataSearchResult out;
    out.target = q_.target;
    MetadataPlan& plan = out.plan;
    CONVSTORE_RETURN_IF_ERROR(ResolveOrdinaryFilters());
    if (nothing_) {
      plan.strategy = "empty";
      if (!plan_note_.empty()) plan.notes.push_back(plan_note_);
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
    // Where a stream of candidates (a posting-list walk, a bounded scan, the oversized documents) stopped before
    // its end, the newest such place: every row newer than it has been examined in every stream, so the page holds
    // only matches at or above it and the next page continues below it.
    std::optional<Position> cover;
    if (needs.impossible) {
      plan.strategy = "empty";
    } else {
      std::vector<List> lists;
      for (const Posting& p : needs.all) lists.push_back(List{{p}, {Term(p)}, {}, 0});
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
          l.term_counts.push_back(*n);
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
        List all{{}, {kEveryDocumentTerm}, {*every}, *every};
        Describe(all, "driver", plan);
        CONVSTORE_RETURN_IF_ERROR(Walk(all, {}, q_.scan_limit, plan, matches, cover));
        plan.scan_truncated = cover.has_value() && static_cast<int64_t>(matches.size()) < q_.limit;
      } else {
        plan.strategy = "index";
        // Probing costs a lookup per candidate; past a few lists the document check is as cheap.
        constexpr size_t kMaxProbes = 4;
        std::vector<const List*> probes;
        for (size_t i = 1; i < lists.size(); ++i)
          if (probes.size() < kMaxProbes) probes.push_back(&lists[i]);
        Describe(lists[0], "driver", plan);
        for (size_t i = 1; i < lists.size(); ++i) Describe(lists[i], i <= kMaxProbes ? "probe" : "unused", plan);
        CONVSTORE_RETURN_IF_ERROR(Walk(lists[0], probes, 0, plan, matches, cover));
      }
    }
    if (!needs.impossible) CONVSTORE_RETURN_IF_ERROR(CheckUnindexed(plan, matches, cover));
    // No posting-list entry was read, but rows not yet folded into the lists (or too large for them) were
    // checked one by one: say so rather than "empty" (a small store folds nothing until kFoldEvery rows).
    if ((plan.strategy == "empty" || plan.strategy == "scan") && plan.candidates == 0 && plan.unindexed_checked > 0) {
      plan.notes.push_back(fmt::format(
          "the posting lists hold no entry for this filter; {} row(s) not yet folded into them (or too large to "
          "index) were checked directly",
          plan.unindexed_checked));
      plan.strategy = "tail";
    }
    if (cover)
      matches.erase(std::remove_if(matches.begin(), matches.end(), [&](const Position& p) { return p < *cover; }),
                    matches.end());
    std::sort(matches.begin(), matches.end(), [](const Position& a, const Position& b) { return b < a; });
    if (matches.size() > static_cast<size_t>(q_.limit)) matches.resize(static_cast<size_t>(q_.limit));
    plan.matched = static_cast<int64_t>(matches.size());
    // A full page continues after its last row; a page cut short by a bound continues after the place the bound
    // was met, so the next page neither repeats nor skips a row.
    if (matches.size() == static_cast<size_t>(q_.limit)) {
      out.next_cursor = EncodeCursor(q_.target, matches.back());
    } else if (cover) {
      out.next_cursor = EncodeCursor(q_.target, *cover);
    }
    for (const Position& p : matches) CONVSTORE_RETURN_IF_ERROR(FetchRecord(p.obj, out));
    return out;
  }

 private:
  // An unknown user or conversation selects nothing: an empty page (strategy "empty"), as in ListConversations and
  // the cost filters; point reads of an unknown id are the ones that fail with kNotFound.
  Status ResolveOrdinaryFilters() {
    if (!q_.user_key.empty())
      CONVSTORE_RETURN_IF_ERROR(Resolve(records::FindUserId(conn_, q_.user_key), user_row_));
    if (!nothing_ && !q_.conversation_id.empty())
      CONVSTORE_RETURN_IF_ERROR(Resolve(records::FindConversationRow(conn_, q_.conversation_id), conversation_row_));
    if (q_.from && q_.to && *q_.from >= *q_.to) nothing_ = true;
    return Status::OK();
  }

  // A found row id, or an unknown key (kNotFound), which makes the page empty and the plan say why.
  Status Resolve(Result<int64_t> found, std::optional<int64_t>& row) {
    if (found.ok()) {
      row = *found;
      return Status::OK();
    }
    if (found.status().code() != Code::kNotFound) return found.status();
    nothing_ = true;
    plan_note_ = found.status().message() + ": nothing matches";
    return Status::OK();
  }

  Result<int64_t> Count(const std::string& term) { return ListCount(conn_, kind_, term); }

  void Describe(const List& l, const char* role, MetadataPlan& plan) {
    if (l.terms.empty()) {
      plan.postings.push_back({"", "*", l.count, role});
      return;
    }
    for (size_t i = 0; i < l.terms.size(); ++i)
      plan.postings.push_back({PointerOf(DecodePath(l.terms[i].path)), l.terms[i].value, l.term_counts[i],
                               l.terms.size() > 1 ? std::string(role) + " (any of)" : std::string(role)});
  }

  // Reads the next batch of the list's entries below `below`, newest first. Several terms (an $in group): each
  // term's first `batch` entries, merged, without duplicates (a document can be on several of the lists).
  Status NextBatch(const List& l, Position below, int64_t batch, std::vector<Position>& out) {
    out.clear();
    for (const std::string& t : l.term_text) CONVSTORE_RETURN_IF_ERROR(ReadBelow(conn_, kind_, t, below, lo_at_, batch, out));
    if (l.term_text.size() > 1) {
      std::sort(out.begin(), out.end(), [](const Position& a, const Position& b) { return b < a; });
      out.erase(std::unique(out.begin(), out.end()), out.end());
      if (static_cast<int64_t>(out.size()) > batch) out.resize(static_cast<size_t>(batch));
    }
    return Status::OK();
  }

  Result<bool> InList(const List& l, Position p) {
    for (const std::string& t : l.term_text) {
      auto has = ListHas(conn_, kind_, t, p);
      if (!has.ok() || *has) return has;
    }
    return false;
  }

  // Walks `driver` newest first until `limit` rows matched or, when max_candidates > 0, that many entries were
  // read; either way `cover` becomes the last entry read (it stays unset when the list ran out first).
  Status Walk(const List& driver, const std::vector<const List*>& probes, int64_t max_candidates, MetadataPlan& plan,
              std::vector<Position>& matches, std::optional<Position>& cover) {
    Position below = hi_;
    int64_t batch = std::max<int64_t>(32, 4 * q_.limit);
    std::vector<Position> entries;
    // A single list walked from its top to its end must yield exactly its stored count: a block cut short or a
    // count edited would otherwise silently drop matches.
    const bool whole_list = driver.term_text.size() == 1 && hi_ == Position{kCountAt, 0} && lo_at_ == INT64_MIN;
    const int64_t read_before = plan.candidates;
    while (static_cast<int64_t>(matches.size()) < q_.limit) {
      int64_t want = batch;
      if (max_candidates > 0) want = std::min(want, max_candidates - plan.candidates);
      if (want <= 0) {
        cover = below;
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
          if (static_cast<int64_t>(matches.size()) == q_.limit) {
            cover = p;
            return Status::OK();
          }
        }
      }
      if (static_cast<int64_t>(entries.size()) < want) {  // the list is exhausted
        if (whole_list && plan.candidates - read_before != driver.count)
          return Status::Corruption(fmt::format(
              "metadata posting list '{}' holds {} entries but its count says {}: the file was changed outside "
              "convstore or is damaged; RebuildMetadataIndex repairs it",
              util::EscapeInvalidUtf8(driver.term_text[0].substr(0, 80)), plan.candidates - read_before, driver.count));
        return Status::OK();
      }
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
    return RowMatches(*st);
  }

  // The ordinary filters, then the metadata filter, on a row of the check/tail columns.
  bool RowMatches(const sqlite::Stmt& st) const { return InScope(st) && DocumentMatches(st); }

  // The ordinary filters (user, conversation, archived), from the row's columns.
  bool InScope(const sqlite::Stmt& st) const {
    if (user_row_ && st.Int(1) != *user_row_) return false;
    if (conversation_row_ && (st.IsNull(3) || st.Int(3) != *conversation_row_)) return false;
    if (q_.archived && (st.IsNull(2) || (st.Int(2) != 0) != *q_.archived)) return false;
    return true;
  }

  bool DocumentMatches(const sqlite::Stmt& st) const { return f_.MatchesText(st.Text(0)); }

  // Rows the posting lists do not hold: the unfolded tail and oversized documents.
  Status CheckUnindexed(MetadataPlan& plan, std::vector<Position>& matches, std::optional<Position>& cover) {
    if (nothing_) return Status::OK();
    auto mark = IndexedUpTo(conn_, q_.target);
    if (!mark.ok()) return mark.status();
    // The tail in one pass (at most kFoldEvery rows, only the query's scope): each checked as it is read.
    {
      auto st = conn_.Prepare(conversation_row_ ? sql_.tail_conversation : user_row_ ? sql_.tail_user : sql_.tail);
      if (!st.ok()) return st.status();
      st->Bind(1, *mark);
      if (conversation_row_ || user_row_) st->Bind(2, conversation_row_ ? *conversation_row_ : *user_row_);
      for (;;) {
        auto row = st->Step("read unfolded rows");
        if (!row.ok()) return row.status();
        if (!*row) break;
        const Position p{st->Int(5), st->Int(4)};
        if (!(p < hi_) || p.at < lo_at_) continue;
        if (cover && p < *cover) continue;  // below where another stream stopped: the next page's
        if (!InScope(*st)) continue;
        ++plan.unindexed_checked;
        ++plan.verified;
        if (DocumentMatches(*st)) matches.push_back(p);
      }
    }
    return CheckOversized(plan, matches, cover);
  }

  // Documents beyond the indexing limits, newest first, from the query's scope only (user or conversation, both
  // indexed), down to where the page is decided: the oldest of `limit` matches so far, or `cover`. At most
  // scan_limit of them are read; when that bound (or `limit` matches of their own) stops the walk, `cover` moves up
  // to the last one read, so the page ends there and the next continues below it without skipping a row.
  Status CheckOversized(MetadataPlan& plan, std::vector<Position>& matches, std::optional<Position>& cover) {
    Position floor{INT64_MIN, INT64_MIN};
    if (static_cast<int64_t>(matches.size()) >= q_.limit) {
      std::vector<Position> sorted = matches;
      std::nth_element(sorted.begin(), sorted.begin() + (q_.limit - 1), sorted.end(),
                       [](const Position& a, const Position& b) { return b < a; });
      floor = sorted[static_cast<size_t>(q_.limit - 1)];
    }
    if (cover && floor < *cover) floor = *cover;
    const char* sql = conversation_row_ ? "SELECT at, obj FROM metadata_unindexed WHERE kind = ?1 AND conversation_id = ?2"
                                          " AND (at, obj) < (?3, ?4) AND at >= ?5 ORDER BY at DESC, obj DESC LIMIT ?6"
                      : user_row_ ? "SELECT at, obj FROM metadata_unindexed WHERE kind = ?1 AND user_id = ?2"
                                    " AND (at, obj) < (?3, ?4) AND at >= ?5 ORDER BY at DESC, obj DESC LIMIT ?6"
                                  : "SELECT at, obj FROM metadata_unindexed WHERE kind = ?1 AND ?2 IS NULL"
                                    " AND (at, obj) < (?3, ?4) AND at >= ?5 ORDER BY at DESC, obj DESC LIMIT ?6";
    const std::optional<int64_t> scope = conversation_row_ ? conversation_row_ : user_row_;
    Position below = hi_;
    int64_t read = 0, found = 0;
    std::vector<Position> batch;
    for (;;) {
      const int64_t want = std::min<int64_t>(256, q_.scan_limit - read);
      if (want <= 0) {  // the bound: the page ends at the last document read
        if (!cover || *cover < below) cover = below;
        plan.scan_truncated = true;
        plan.notes.push_back(fmt::format(
            "oversized documents: stopped after scan_limit ({}) of them; next_cursor continues", q_.scan_limit));
        return Status::OK();
      }
      batch.clear();
      {
        auto st = conn_.Prepare(sql);
        if (!st.ok()) return st.status();
        st->Bind(1, int64_t{kind_}).Bind(2, scope).Bind(3, below.at).Bind(4, below.obj).Bind(5, lo_at_);
        st->Bind(6, want);
        for (;;) {
          auto row = st->Step("read oversized documents");
          if (!row.ok()) return row.status();
          if (!*row) break;
          batch.push_back({st->Int(0), st->Int(1)});
        }
      }
      for (const Position& p : batch) {
        if (!(floor < p)) return Status::OK();  // older than the page can reach
        ++read;
        below = p;
        ++plan.unindexed_checked;
        auto ok = Check(p.obj, plan);
        if (!ok.ok()) return ok.status();
        if (*ok) {
          matches.push_back(p);
          if (++found == q_.limit) {  // older ones cannot make the page
            if (!cover || *cover < p) cover = p;
            return Status::OK();
          }
        }
      }
      if (static_cast<int64_t>(batch.size()) < want) return Status::OK();
    }
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
        Status read = *row ? records::ReadConversationAsRead(conn_, *st, 0, out.conversations.emplace_back())
                           : Status::OK();
        st->Reset();
        return read;
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
          records::ReadMessage(*st, 1, conversation, out.messages.emplace_back());
        }
        st->Reset();
        return Status::OK();
      }
      case MetadataTarget::kApiUsage: {
        auto usage = records::ApiUsageByRowId(conn_, obj);
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
  std::string plan_note_;  // why nothing_ is set, when an unknown key set it
  std::optional<int64_t> user_row_, conversation_row_;
  Position hi_{};
  int64_t lo_at_ = 0;
};

}  // namespace

Result<CompiledFilter> ValidateQuery(const MetadataQuery& q) {
  const int t = static_cast<int>(q.target);
  if (t < 0 || t > 2) return Status::InvalidArgument(fmt::format("target {} is not 0, 1 or 2", t));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.limit, 1, limits::kMaxListLimit, "limit"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.scan_limit, 1, kMaxScanLimit, "scan_limit"));
  if (!q.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(q.user_key, "user_key"));
  if (!q.conversation_id.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(q.conversation_id, "conversation_id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(q.from, "from"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(q.to, "to"));
  if (q.from && q.to && *q.from > *q.to) return Status::InvalidArgument("from is after to");
  if (!q.cursor.empty() && !DecodeCursor(q.cursor, q.target))
    return Status::InvalidArgument("cursor is not one returned by a metadata search of this target");
  return CompileFilter(q.contains_json, q.where_json);
}

Result<MetadataSearchResult> Search(sqlite::Connection& conn, const MetadataQuery& query,
                                    const CompiledFilter& filter) {
  Searcher s(conn, query, filter);
  return s.Run();
}

}  // namespace convstore::metadata
