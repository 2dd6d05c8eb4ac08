#include "search/text_query.h"

#include <fmt/format.h>

#include "util/utf8.h"

namespace convstore::search {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void AppendPhrase(std::string& out, std::string_view word) {
  out += '"';
  for (char c : word) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// Query syntax: strings closed and parentheses balanced outside them (FTS5's string: '"' ... '"', a doubled '"'
// inside standing for one).
Status CheckBalanced(std::string_view text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= text.size()) return Status::InvalidArgument("malformed full-text query: a string is not closed");
        if (text[j] == '"') {
          if (j + 1 < text.size() && text[j + 1] == '"') {
            ++j;
            continue;
          }
          break;
        }
      }
      i = j;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return Status::InvalidArgument("malformed full-text query: ')' without its '('");
    }
  }
  if (depth != 0) return Status::InvalidArgument("malformed full-text query: '(' without its ')'");
  return Status::OK();
}

}  // namespace

Result<MatchExpression> BuildMatch(std::string_view text, TextSyntax syntax, TextSearchTarget target,
                                   const ScopeIds& scope) {
  if (text.empty()) return Status::InvalidArgument("the query text is empty");
  if (text.size() > kMaxQueryBytes)
    return Status::TooLarge(fmt::format("the query text is {} bytes; the limit is {}", text.size(), kMaxQueryBytes));
  if (!util::IsValidUtf8(text) || text.find('\0') != std::string_view::npos)
    return Status::InvalidArgument("the query text is not valid UTF-8 or contains a NUL byte");
  if (syntax != TextSyntax::kPlain && syntax != TextSyntax::kQuery)
    return Status::InvalidArgument("unknown query syntax");
  MatchExpression m;
  std::string inner;
  if (syntax == TextSyntax::kPlain) {
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && IsSpace(text[i])) ++i;
      size_t j = i;
      while (j < text.size() && !IsSpace(text[j])) ++j;
      if (j > i) {
        if (!inner.empty()) inner += ' ';
        AppendPhrase(inner, text.substr(i, j - i));
      }
      i = j;
    }
    if (inner.empty()) {
      m.no_words = true;
      return m;
    }
  } else {
    if (auto s = CheckBalanced(text); !s.ok()) return s;
    inner = text;
  }
  m.text = "{content} : (" + inner + ")";
  auto add = [&](char kind, const std::optional<int64_t>& id) {
    if (!id) return;
    m.text += fmt::format(" AND scope : \"<{}{}>\"", kind, *id);
    ++m.scope_phrases;
  };
  add('u', scope.user);
  if (target == TextSearchTarget::kMessages) {
    add('t', scope.team);
    add('c', scope.conversation);
  }
  return m;
}

}  // namespace convstore::search
