#include "metadata_codec.h"

#include "cost_codec.h"
#include "json_codec.h"
#include "json_fields.h"

namespace convstore::capi {

namespace {

const char* TargetName(MetadataTarget t) {
  switch (t) {
    case MetadataTarget::kConversations: return "conversations";
    case MetadataTarget::kMessages: return "messages";
    case MetadataTarget::kApiUsage: return "api_usage";
  }
  return "conversations";
}

void WritePlan(JsonWriter& w, const MetadataPlan& p) {
  w.BeginObject();
  w.Key("strategy").String(p.strategy);
  w.Key("postings").BeginArray();
  for (const MetadataPostingUse& u : p.postings) {
    w.BeginObject();
    w.Key("path").String(u.path);
    w.Key("value").String(u.value);
    w.Key("count").Int(u.count);
    w.Key("role").String(u.role);
    w.EndObject();
  }
  w.EndArray();
  w.Key("candidates").Int(p.candidates);
  w.Key("probe_rejected").Int(p.probe_rejected);
  w.Key("verified").Int(p.verified);
  w.Key("matched").Int(p.matched);
  w.Key("unindexed_checked").Int(p.unindexed_checked);
  w.Key("scan_truncated").Bool(p.scan_truncated);
  w.Key("notes").BeginArray();
  for (const std::string& n : p.notes) w.String(n);
  w.EndArray();
  w.EndObject();
}

}  // namespace

Result<MetadataQuery> DecodeMetadataQuery(std::string_view text) {
  return DecodeObject<MetadataQuery>(text, "query", [](Fields& f, MetadataQuery& q) -> Status {
    std::string target;
    CONVSTORE_RETURN_IF_ERROR(f.Str("target", target));
    if (target.empty() || target == "conversations") q.target = MetadataTarget::kConversations;
    else if (target == "messages") q.target = MetadataTarget::kMessages;
    else if (target == "api_usage") q.target = MetadataTarget::kApiUsage;
    else return Status::InvalidArgument("'target' must be \"conversations\", \"messages\" or \"api_usage\"");
    // Absent: no containment condition; null is the JSON document null (which no metadata object contains).
    CONVSTORE_RETURN_IF_ERROR(f.Doc("contains", q.contains_json, false));
    CONVSTORE_RETURN_IF_ERROR(f.Doc("where", q.where_json, true));
    CONVSTORE_RETURN_IF_ERROR(f.Str("user", q.user_key));
    CONVSTORE_RETURN_IF_ERROR(f.Str("conversation_id", q.conversation_id));
    CONVSTORE_RETURN_IF_ERROR(f.Time("from", q.from));
    CONVSTORE_RETURN_IF_ERROR(f.Time("to", q.to));
    CONVSTORE_RETURN_IF_ERROR(f.Bool("archived", q.archived));
    CONVSTORE_RETURN_IF_ERROR(f.Int("limit", q.limit));
    CONVSTORE_RETURN_IF_ERROR(f.Str("cursor", q.cursor));
    std::optional<int64_t> scan_limit;
    CONVSTORE_RETURN_IF_ERROR(f.Int("scan_limit", scan_limit));
    if (scan_limit) q.scan_limit = *scan_limit;
    return Status::OK();
  });
}

Result<std::vector<std::string>> DecodePathList(std::string_view text) {
  auto parsed = util::ParseJson(text, "paths", limits::kMaxRequestBytes, kMaxRequestDepth);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Status::InvalidArgument("paths must be a JSON array of strings");
  std::vector<std::string> out;
  for (const json& p : *parsed) {
    if (!p.is_string()) return Status::InvalidArgument("paths must be a JSON array of strings");
    out.push_back(p.get<std::string>());
  }
  return out;
}

std::string EncodeMetadataSearchResult(const MetadataSearchResult& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("target").String(TargetName(r.target));
  w.Key("items").BeginArray();
  for (const Conversation& c : r.conversations) w.Raw(EncodeConversation(c));
  for (const Message& m : r.messages) w.Raw(EncodeMessage(m));
  for (const ApiUsage& u : r.api_usage) w.Raw(EncodeApiUsage(u));
  w.EndArray();
  w.Key("next_cursor");
  if (r.next_cursor.empty()) w.Null(); else w.String(r.next_cursor);
  w.Key("plan");
  WritePlan(w, r.plan);
  w.EndObject();
  return w.Take();
}

std::string EncodeMetadataPlan(const MetadataPlan& p) {
  JsonWriter w;
  WritePlan(w, p);
  return w.Take();
}

std::string EncodeMetadataIndexReport(const MetadataIndexReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("documents").Int(r.documents);
  w.Key("indexed").Int(r.indexed);
  w.Key("unindexed").Int(r.unindexed);
  w.Key("pending").Int(r.pending);
  w.Key("postings").Int(r.postings);
  w.Key("terms").Int(r.terms);
  w.Key("missing").Int(r.missing);
  w.Key("extra").Int(r.extra);
  w.Key("wrong_counts").Int(r.wrong_counts);
  w.Key("consistent").Bool(r.consistent());
  w.Key("excluded_paths").BeginArray();
  for (const std::string& p : r.excluded_paths) w.String(p);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
