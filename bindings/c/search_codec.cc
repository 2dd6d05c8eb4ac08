#include "search_codec.h"

#include "json_fields.h"

namespace convstore::capi {
namespace {

void WriteStatus(JsonWriter& w, const SearchIndexStatus& s) {
  w.BeginObject();
  w.Key("tokenizer").String(TextTokenizerName(s.tokenizer));
  w.Key("messages_indexed").Int(s.messages_indexed);
  w.Key("messages_pending").Int(s.messages_pending);
  w.Key("conversations_indexed").Int(s.conversations_indexed);
  w.Key("conversations_pending").Int(s.conversations_pending);
  w.Key("purge_pending").Bool(s.purge_pending);
  w.Key("index_bytes").Int(s.index_bytes);
  w.EndObject();
}

}  // namespace

Status ReadSearchFilter(Fields& f, SearchFilter& s) {
  CONVSTORE_RETURN_IF_ERROR(f.Str("user", s.user_key));
  CONVSTORE_RETURN_IF_ERROR(f.Str("team", s.team_key));
  CONVSTORE_RETURN_IF_ERROR(f.Str("conversation_id", s.conversation_id));
  CONVSTORE_RETURN_IF_ERROR(f.Str("role", s.role));
  CONVSTORE_RETURN_IF_ERROR(f.Str("model", s.model));
  CONVSTORE_RETURN_IF_ERROR(f.Time("from", s.from));
  CONVSTORE_RETURN_IF_ERROR(f.Time("to", s.to));
  CONVSTORE_RETURN_IF_ERROR(f.Doc("metadata_contains", s.metadata_contains_json, false));
  return f.Doc("metadata_where", s.metadata_where_json, true);
}

Status ReadTextSearchQuery(Fields& f, TextSearchQuery& q) {
  CONVSTORE_RETURN_IF_ERROR(f.Str("text", q.text));
  std::string syntax, target;
  CONVSTORE_RETURN_IF_ERROR(f.Str("syntax", syntax));
  if (syntax.empty() || syntax == "plain") q.syntax = TextSyntax::kPlain;
  else if (syntax == "query") q.syntax = TextSyntax::kQuery;
  else return Status::InvalidArgument("'syntax' must be \"plain\" or \"query\"");
  CONVSTORE_RETURN_IF_ERROR(f.Str("target", target));
  if (target.empty() || target == "messages") q.target = TextSearchTarget::kMessages;
  else if (target == "conversations") q.target = TextSearchTarget::kConversations;
  else return Status::InvalidArgument("'target' must be \"messages\" or \"conversations\"");
  CONVSTORE_RETURN_IF_ERROR(ReadSearchFilter(f, q.filter));
  CONVSTORE_RETURN_IF_ERROR(f.Int("limit", q.limit));
  CONVSTORE_RETURN_IF_ERROR(f.Int("snippet_tokens", q.snippet_tokens));
  CONVSTORE_RETURN_IF_ERROR(f.Str("highlight_start", q.highlight_start));
  CONVSTORE_RETURN_IF_ERROR(f.Str("highlight_end", q.highlight_end));
  CONVSTORE_RETURN_IF_ERROR(f.Str("ellipsis", q.ellipsis));
  std::optional<bool> wait;
  CONVSTORE_RETURN_IF_ERROR(f.Bool("wait_for_index", wait));
  q.wait_for_index = wait.value_or(true);
  return Status::OK();
}

Result<TextSearchQuery> DecodeTextSearchQuery(std::string_view text) {
  return DecodeObject<TextSearchQuery>(text, "search query", ReadTextSearchQuery);
}

std::string EncodeTextSearchResult(const TextSearchResult& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("hits").BeginArray();
  for (const TextSearchHit& h : r.hits) {
    w.BeginObject();
    WriteHitRow(w, h);
    w.Key("snippet").String(h.snippet);
    w.Key("score").Double(h.score);
    WriteTime(w, "created_at", h.created_at);
    w.EndObject();
  }
  w.EndArray();
  w.Key("unindexed").Int(r.unindexed);
  w.EndObject();
  return w.Take();
}

std::string EncodeSearchIndexStatus(const SearchIndexStatus& s) {
  JsonWriter w;
  WriteStatus(w, s);
  return w.Take();
}

std::string EncodeSearchIndexReport(const SearchIndexReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  WriteStatus(w, r.status);
  w.Key("rows_indexed").Int(r.rows_indexed);
  w.Key("purge_steps").Int(r.purge_steps);
  w.Key("ok").Bool(r.ok);
  w.Key("problems").BeginArray();
  for (const std::string& p : r.problems) w.String(p);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
