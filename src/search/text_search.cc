#include "search/text_search.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "convstore/limits.h"
#include "records/lookups.h"
#include "search/row_filter.h"
#include "search/text_index.h"
#include "search/text_query.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::search {

namespace {

// The statements of one FTS5 table (built once: the statement cache is keyed by the text's address).
struct SearchSql {
  // The ranked candidates: rowid, rank, and the metadata when ?8 is 1. ?1 MATCH, ?2 scope phrases, ?3 limit (-1
  // none), ?4 role, ?5 model, ?6 from, ?7 to, ?9 team now (conversations), ?10 conversation row (conversations).
  std::string candidates;
  // The same with each hit's snippet as its last column (?11 start, ?12 end, ?13 ellipsis, ?14 tokens), for searches
  // whose LIMIT applies in SQL (no metadata predicate): SQLite then makes snippets for the rows it returns alone, in
  // the same pass over the match (without a LIMIT it would make one for every match).
  std::string candidates_snippets;
  // Without any row filter (so with the snippets too): no join.
  std::string candidates_bare;
  // A hit's snippet: ?1 MATCH, ?2 rowid, ?3 start, ?4 end, ?5 ellipsis, ?6 tokens.
  std::string snippet;
};

// The ranked candidates' statement, with `extra` columns after the rowid, the rank and the metadata.
std::string Candidates(const char* table, TextSearchTarget target, const std::string& extra) {
  // FTS5's auxiliary functions take the table's hidden column, named as the table: no alias.
  if (target == TextSearchTarget::kMessages) {
    return fmt::format(
        "SELECT {0}.rowid, convstore_rank({0}, ?2) AS r, CASE WHEN ?8 THEN m.metadata END{1} FROM {0}"
        " JOIN messages m ON m.id = {0}.rowid WHERE {0} MATCH ?1 AND (?4 IS NULL OR m.role = ?4)"
        " AND (?5 IS NULL OR m.model = ?5) AND (?6 IS NULL OR m.created_at >= ?6) AND (?7 IS NULL OR m.created_at < ?7)"
        " AND ?9 IS NULL AND ?10 IS NULL ORDER BY r, {0}.rowid DESC LIMIT ?3",
        table, extra);
  }
  return fmt::format(
      "SELECT {0}.rowid, convstore_rank({0}, ?2) AS r, CASE WHEN ?8 THEN c.metadata END{1} FROM {0}"
      " JOIN conversations c ON c.id = {0}.rowid WHERE {0} MATCH ?1 AND ?4 IS NULL"
      " AND (?5 IS NULL OR c.model = ?5) AND (?6 IS NULL OR c.created_at >= ?6) AND (?7 IS NULL OR c.created_at < ?7)"
      " AND (?9 IS NULL OR (SELECT ifnull(u.team_id, 0) FROM users u WHERE u.id = c.user_id) = ?9)"
      " AND (?10 IS NULL OR c.id = ?10) ORDER BY r, {0}.rowid DESC LIMIT ?3",
      table, extra);
}

SearchSql MakeSql(const char* table, TextSearchTarget target) {
  SearchSql s;
  s.candidates = Candidates(table, target, "");
  s.candidates_snippets = Candidates(table, target, fmt::format(", snippet({0}, 0, ?11, ?12, ?13, ?14)", table));
  s.candidates_bare = fmt::format(
      "SELECT rowid, convstore_rank({0}, ?2) AS r, snippet({0}, 0, ?11, ?12, ?13, ?14) FROM {0} WHERE {0} MATCH ?1"
      " ORDER BY r, rowid DESC LIMIT ?3",
      table);
  s.snippet = fmt::format("SELECT snippet({0}, 0, ?3, ?4, ?5, ?6) FROM {0} WHERE {0} MATCH ?1 AND rowid = ?2", table);
  return s;
}

const SearchSql& SearchSqlOf(TextSearchTarget target, TextTokenizer tokenizer) {
  static const std::array<std::array<SearchSql, 2>, 2> kSql = {{
      {MakeSql("conversation_words", TextSearchTarget::kConversations),
       MakeSql("conversation_trigrams", TextSearchTarget::kConversations)},
      {MakeSql("message_words", TextSearchTarget::kMessages),
       MakeSql("message_trigrams", TextSearchTarget::kMessages)},
  }};
  return kSql[target == TextSearchTarget::kMessages ? 1 : 0][tokenizer == TextTokenizer::kTrigram ? 1 : 0];
}

struct Candidate {
  int64_t row = 0;
  double rank = 0;
  std::optional<std::string> snippet{};  // made by the candidates' statement, when it made them
};

// FTS5 reports a malformed expression as an SQL error whose message starts "fts5:".
Status QueryError(const Status& s) {
  if (s.message().find("fts5: ") != std::string::npos || s.message().find("no such column") != std::string::npos)
    return Status::InvalidArgument("malformed full-text query: " + s.message());
  return s;
}

Status ReadHit(sqlite::Connection& conn, TextSearchTarget target, int64_t row, TextSearchHit& hit) {
  HitRow r;
  auto found = ReadHitRow(conn, target, row, r);
  if (!found.ok()) return found.status();
  if (!*found)
    return Status::Corruption(fmt::format("the full-text index names {} row {}, which is gone",
                                          target == TextSearchTarget::kMessages ? "message" : "conversation", row));
  CopyHitRow(r, hit);
  return Status::OK();
}

}  // namespace

Status ValidateQuery(const TextSearchQuery& q) {
  if (q.target != TextSearchTarget::kMessages && q.target != TextSearchTarget::kConversations)
    return Status::InvalidArgument("unknown search target");
  auto match = BuildMatch(q.text, q.syntax, q.target, {});
  if (!match.ok()) return match.status();
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.limit, 1, kMaxHits, "limit"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.snippet_tokens, 1, kMaxSnippetTokens, "snippet_tokens"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(q.highlight_start, "highlight_start", kMaxMarkerBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(q.highlight_end, "highlight_end", kMaxMarkerBytes));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(q.ellipsis, "ellipsis", kMaxMarkerBytes));
  for (const std::string* marker : {&q.highlight_start, &q.highlight_end, &q.ellipsis})
    if (marker->find('\0') != std::string::npos) return Status::InvalidArgument("a snippet marker contains a NUL byte");
  return ValidateFilter(q.filter, q.target);
}

Result<TextSearchResult> SearchText(sqlite::Connection& conn, const TextSearchQuery& q,
                                    const RowPredicate& metadata) {
  auto tokenizer = LoadTokenizer(conn);
  if (!tokenizer.ok()) return tokenizer.status();
  if (*tokenizer == TextTokenizer::kNone)
    return Status::InvalidArgument("full-text search is off in this store (its tokenizer is 'none')");
  TextSearchResult result;
  auto pending = Pending(conn, q.target);
  if (!pending.ok()) return pending.status();
  result.unindexed = *pending;

  // Keys to row ids: an unknown one selects nothing.
  const SearchFilter& f = q.filter;
  auto keys = ResolveFilterKeys(conn, f);
  if (!keys.ok()) return keys.status();
  if (keys->none) return result;
  ScopeIds scope;
  std::optional<int64_t> team_now, conversation_row;
  scope.user = keys->user;
  if (q.target == TextSearchTarget::kMessages) {
    scope.team = keys->team;
    scope.conversation = keys->conversation;
  } else {
    team_now = keys->team;
    conversation_row = keys->conversation;
  }
  auto match = BuildMatch(q.text, q.syntax, q.target, scope);
  if (!match.ok()) return match.status();
  if (match->no_words) return result;

  // The ranked candidates, filtered before the limit.
  const SearchSql& sql = SearchSqlOf(q.target, *tokenizer);
  const bool bare = f.role.empty() && f.model.empty() && !f.from && !f.to && !team_now && !conversation_row && !metadata;
  // Without a metadata predicate the LIMIT applies in SQL, and the statement makes the hits' snippets too.
  const bool with_snippets = !metadata;
  const std::string& text = bare ? sql.candidates_bare : with_snippets ? sql.candidates_snippets : sql.candidates;
  auto st = conn.Prepare(text.c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, match->text).Bind(2, int64_t{match->scope_phrases}).Bind(3, int64_t{metadata ? -1 : q.limit});
  if (!bare) {
    st->BindTextOrNull(4, f.role).BindTextOrNull(5, f.model).Bind(6, f.from).Bind(7, f.to);
    st->Bind(8, int64_t{metadata ? 1 : 0}).Bind(9, team_now).Bind(10, conversation_row);
  }
  if (with_snippets) {
    st->Bind(11, q.highlight_start).Bind(12, q.highlight_end).Bind(13, q.ellipsis);
    st->Bind(14, int64_t{q.snippet_tokens});
  }
  const int snippet_column = bare ? 2 : 3;
  std::vector<Candidate> hits;
  for (;;) {
    auto row = st->Step("full-text search");
    if (!row.ok()) return QueryError(row.status());
    if (!*row) break;
    if (metadata && !metadata(st->Text(2))) continue;
    hits.push_back({st->Int(0), st->Double(1),
                    with_snippets ? std::optional<std::string>(st->String(snippet_column)) : std::nullopt});
    if (hits.size() >= static_cast<size_t>(q.limit)) break;
  }
  st->Reset();

  // The hits' rows and snippets.
  for (const Candidate& c : hits) {
    TextSearchHit hit;
    CONVSTORE_RETURN_IF_ERROR(ReadHit(conn, q.target, c.row, hit));
    hit.score = -c.rank;
    if (c.snippet) {
      hit.snippet = *c.snippet;
      result.hits.push_back(std::move(hit));
      continue;
    }
    auto snip = conn.Prepare(sql.snippet.c_str());
    if (!snip.ok()) return snip.status();
    snip->Bind(1, match->text).Bind(2, c.row).Bind(3, q.highlight_start).Bind(4, q.highlight_end);
    snip->Bind(5, q.ellipsis).Bind(6, int64_t{q.snippet_tokens});
    auto row = snip->Step("make a snippet");
    if (!row.ok()) return QueryError(row.status());
    if (*row) hit.snippet = snip->String(0);
    snip->Reset();
    result.hits.push_back(std::move(hit));
  }
  return result;
}

}  // namespace convstore::search
