// A caller's query text as an FTS5 MATCH expression over the content column, with the filter's scope tokens.
//
// Plain syntax quotes every white-space-separated word as a phrase ("" inside doubled), so no text is ever read as
// syntax; a word without letters or digits is a phrase of no tokens, which FTS5 leaves out of an AND (a query of
// only such words matches nothing). Query syntax is FTS5's own, checked here only so far as to keep the caller's
// expression inside its parentheses — strings closed, parentheses balanced — so the column filter around it
// holds; FTS5 reports any other error when the query runs. The expression is
//     {content} : ( <caller's expression> ) AND scope : "<u7>" AND scope : "<t3>" ...
// and FTS5 lets a nested column filter only narrow the columns, never widen them.
//
// Thread-safe (pure functions).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "convstore/search.h"
#include "convstore/status.h"

namespace convstore::search {

inline constexpr size_t kMaxQueryBytes = 4096;

// Row ids the filter pins, pushed into the index as scope tokens (a conversation target's scope has only the user).
struct ScopeIds {
  std::optional<int64_t> user, team, conversation;
};

struct MatchExpression {
  std::string text;
  int scope_phrases = 0;  // the last phrases of the expression, which the rank leaves out
  bool no_words = false;  // plain text without any word: matches nothing
};

Result<MatchExpression> BuildMatch(std::string_view text, TextSyntax syntax, TextSearchTarget target,
                                   const ScopeIds& scope);

}  // namespace convstore::search
