// JSON <-> C++ records of full-text search (convstore/search.h) for the C ABI. Internal to bindings/c; pure
// functions, thread-safe.
#pragma once
#include <string>
#include <string_view>

#include "convstore/search.h"
#include "convstore/status.h"

namespace convstore::capi {

// {"text": str, "syntax"?: "plain"|"query", "target"?: "messages"|"conversations", "user"?, "team"?,
// "conversation_id"?, "role"?, "model"?, "from"?, "to"? (time), "metadata_contains"?: any JSON,
// "metadata_where"?: object, "limit"?, "snippet_tokens"?, "highlight_start"?, "highlight_end"?, "ellipsis"?,
// "wait_for_index"?: bool}.
Result<TextSearchQuery> DecodeTextSearchQuery(std::string_view text);
class Fields;
// The filter's fields ("user", "team", "conversation_id", "role", "model", "from", "to", "metadata_contains",
// "metadata_where") and a whole text query's, from an object being decoded (json_fields.h).
Status ReadSearchFilter(Fields& f, SearchFilter& filter);
Status ReadTextSearchQuery(Fields& f, TextSearchQuery& query);

// The row fields every search hit shows (full text, vectors, hybrid): "message_id" (null for a conversation),
// "conversation_id", "conversation_title", "user", "role" (null for a conversation), "model", "content".
template <typename Writer, typename Hit>
void WriteHitRow(Writer& w, const Hit& h) {
  w.Key("message_id");
  if (h.message_id.empty()) w.Null();
  else w.String(h.message_id);
  w.Key("conversation_id").String(h.conversation_id);
  w.Key("conversation_title").String(h.conversation_title);
  w.Key("user").String(h.user_key);
  w.Key("role");
  if (h.role.empty()) w.Null();
  else w.String(h.role);
  w.Key("model").String(h.model);
  w.Key("content").String(h.content);
}
std::string EncodeTextSearchResult(const TextSearchResult& result);
std::string EncodeSearchIndexStatus(const SearchIndexStatus& status);
std::string EncodeSearchIndexReport(const SearchIndexReport& report);

}  // namespace convstore::capi
