#include "api/stored_check.h"

#include <fmt/format.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "util/json_check.h"
#include "util/status_macros.h"
#include "util/utf8.h"

namespace convstore::api {

namespace {

Status Damaged(std::string_view record, std::string_view id, std::string_view problem) {
  return Status::Corruption(fmt::format(
      "{} '{}': {} (the file was changed outside convstore or is damaged; the record is not returned)", record,
      util::EscapeInvalidUtf8(id), problem));
}

// Every text field valid UTF-8.
Status Texts(std::string_view record, std::string_view id,
             std::initializer_list<std::pair<const char*, const std::string*>> fields) {
  if (!util::IsValidUtf8(id)) return Damaged(record, id, "its id is not valid UTF-8");
  for (const auto& [name, value] : fields)
    if (!util::IsValidUtf8(*value)) return Damaged(record, id, fmt::format("stored {} is not valid UTF-8", name));
  return Status::OK();
}

// A JSON cell: one JSON value, an object when `object` (metadata), any value otherwise; empty allowed when
// `may_be_empty` (a tool call without output).
Status Json(std::string_view record, std::string_view id, const char* name, const std::string& text, bool object,
            bool may_be_empty = false) {
  if (text == "{}" || (may_be_empty && text.empty())) return Status::OK();
  const util::JsonKind kind = util::CheckJsonText(text);
  if (kind == util::JsonKind::kInvalid) return Damaged(record, id, fmt::format("stored {} is not valid JSON", name));
  if (object && kind != util::JsonKind::kObject)
    return Damaged(record, id, fmt::format("stored {} is not a JSON object", name));
  return Status::OK();
}

Status AllUtf8(std::string_view record, const std::vector<std::string>& values) {
  for (const std::string& v : values)
    if (!util::IsValidUtf8(v)) return Damaged(record, util::EscapeInvalidUtf8(v), "a stored value is not valid UTF-8");
  return Status::OK();
}

}  // namespace

Status CheckStored(const Team& v) { return Texts("team", v.key, {{"name", &v.name}}); }

Status CheckStored(const User& v) {
  return Texts("user", v.key, {{"email", &v.email}, {"name", &v.name}, {"team", &v.team_key}, {"role", &v.role}});
}

Status CheckStored(const Conversation& v) {
  if (Status s = Texts("conversation", v.id,
                       {{"user", &v.user_key}, {"title", &v.title}, {"system_prompt", &v.system_prompt},
                        {"model", &v.model}, {"external_id", &v.external_id}});
      !s.ok())
    return s;
  return Json("conversation", v.id, "metadata", v.metadata_json, true);
}

Status CheckStored(const Message& v) {
  if (Status s = Texts("message", v.id,
                       {{"conversation", &v.conversation_id}, {"content", &v.content}, {"model", &v.model},
                        {"model_version", &v.model_version}, {"request_id", &v.request_id},
                        {"tool_call_id", &v.tool_call_id}});
      !s.ok())
    return s;
  if (Status s = Json("message", v.id, "raw", v.raw_json, false, true); !s.ok()) return s;
  if (Status s = CheckStored(v.tool_calls); !s.ok()) return s;
  return Json("message", v.id, "metadata", v.metadata_json, true);
}

Status CheckStored(const ConversationWithMessages& v) {
  if (Status s = CheckStored(v.conversation); !s.ok()) return s;
  return CheckStored(v.messages);
}

Status CheckStored(const ConversationPage& v) { return CheckStored(v.items); }

Status CheckStored(const ToolCall& v) {
  if (Status s = Texts("tool call", v.id,
                       {{"message", &v.message_id}, {"tool_name", &v.tool_name}, {"error_message", &v.error_message},
                        {"call_id", &v.call_id}});
      !s.ok())
    return s;
  if (Status s = Json("tool call", v.id, "input", v.input_json, false); !s.ok()) return s;
  return Json("tool call", v.id, "output", v.output_json, false, true);
}

Status CheckStored(const Price& v) {
  return Texts("price", std::to_string(v.id),
               {{"model", &v.model}, {"origin", &v.origin}, {"source_date", &v.source_date}, {"note", &v.note}});
}

Status CheckStored(const RepriceReport&) { return Status::OK(); }

Status CheckStored(const ApiUsage& v) {
  if (Status s = Texts("api usage", v.id,
                       {{"user", &v.user_key}, {"team", &v.team_key}, {"conversation", &v.conversation_id},
                        {"model", &v.model}, {"endpoint", &v.endpoint}, {"status", &v.status},
                        {"error_code", &v.error_code}, {"error_message", &v.error_message},
                        {"request_id", &v.request_id}});
      !s.ok())
    return s;
  for (const BudgetOverage& o : v.budget_overages)
    if (!util::IsValidUtf8(o.budget_name)) return Damaged("api usage", v.id, "a budget's stored name is not valid UTF-8");
  return Json("api usage", v.id, "metadata", v.metadata_json, true);
}

Status CheckStored(const CostSummary&) { return Status::OK(); }  // dates and numbers computed here

Status CheckStored(const CostGroupResult& v) {
  for (const CostGroup& g : v.groups)
    if (Status s = AllUtf8("cost group", g.keys); !s.ok()) return s;
  return Status::OK();
}

Status CheckStored(const UsageStat& v) {
  return Texts("usage statistics of user", v.user_key, {{"model", &v.model}});
}

Status CheckStored(const TeamSpend& v) { return Texts("team", v.team_key, {}); }

Status CheckStored(const CostReport& v) {
  CONVSTORE_RETURN_IF_ERROR(CheckStored(v.daily_by_model));
  CONVSTORE_RETURN_IF_ERROR(AllUtf8("cost report model", v.models));
  for (const auto* groups : {&v.top_users, &v.top_teams})
    for (const CostGroup& g : *groups) CONVSTORE_RETURN_IF_ERROR(AllUtf8("cost group", g.keys));
  for (const TeamSpend& t : v.team_budgets) CONVSTORE_RETURN_IF_ERROR(CheckStored(t));
  for (const ModelLatency& l : v.latency_by_model)
    CONVSTORE_RETURN_IF_ERROR(Texts("latency of model", l.model, {}));
  return Status::OK();
}

Status CheckStored(const RollupReport& v) { return AllUtf8("rollup report sample", v.samples); }

Status CheckStored(const MetadataSearchResult& v) {
  if (Status s = CheckStored(v.conversations); !s.ok()) return s;
  if (Status s = CheckStored(v.messages); !s.ok()) return s;
  if (Status s = CheckStored(v.api_usage); !s.ok()) return s;
  return CheckStored(v.plan);
}

Status CheckStored(const MetadataPlan& v) {
  for (const MetadataPostingUse& p : v.postings)
    if (!util::IsValidUtf8(p.path) || !util::IsValidUtf8(p.value))
      return Damaged("metadata plan", util::EscapeInvalidUtf8(p.path), "a posting's path or value is not valid UTF-8");
  return AllUtf8("metadata plan note", v.notes);
}

Status CheckStored(const TextSearchResult& v) {
  for (const TextSearchHit& h : v.hits) {
    const std::string& id = h.message_id.empty() ? h.conversation_id : h.message_id;
    if (Status s = Texts("search hit", id,
                         {{"conversation", &h.conversation_id}, {"title", &h.conversation_title}, {"user", &h.user_key},
                          {"role", &h.role}, {"model", &h.model}, {"content", &h.content}, {"snippet", &h.snippet}});
        !s.ok())
      return s;
  }
  return Status::OK();
}

namespace {

Status CheckVectorHit(const VectorHit& h) {
  const std::string& id = h.message_id.empty() ? h.conversation_id : h.message_id;
  return Texts("vector search hit", id,
               {{"conversation", &h.conversation_id}, {"title", &h.conversation_title}, {"user", &h.user_key},
                {"role", &h.role}, {"model", &h.model}, {"content", &h.content}});
}

}  // namespace

Status CheckStored(const VectorSearchResult& v) {
  for (const VectorHit& h : v.hits) CONVSTORE_RETURN_IF_ERROR(CheckVectorHit(h));
  return Status::OK();
}

Status CheckStored(const HybridSearchResult& v) {
  for (const HybridHit& h : v.hits) {
    CONVSTORE_RETURN_IF_ERROR(CheckVectorHit(h.row));
    CONVSTORE_RETURN_IF_ERROR(Texts("hybrid search hit", h.row.message_id, {{"snippet", &h.snippet}}));
  }
  return Status::OK();
}

Status CheckStored(const SearchIndexReport& v) { return AllUtf8("search index problem", v.problems); }

Status CheckStored(const MetadataIndexReport& v) { return AllUtf8("excluded metadata path", v.excluded_paths); }

Status CheckStored(const BudgetState& v) {
  return Texts("budget", v.budget.name, {{"scope_key", &v.budget.scope_key}});
}

Status CheckStored(const Reservation& v) {
  if (Status s = Texts("reservation", v.request_id,
                       {{"user", &v.user_key}, {"team", &v.team_key}, {"usage_id", &v.usage_id}});
      !s.ok())
    return s;
  return CheckStored(v.budgets);
}

Status CheckStored(const JournalEntry& v) {
  for (const JournalChange& c : v.changes)
    for (const std::string* text : {&c.table, &c.key_json, &c.old_json, &c.new_json})
      if (!util::IsValidUtf8(*text))
        return Status::Corruption(fmt::format("journal entry {} holds text that is not valid UTF-8", v.seq));
  return Status::OK();
}

Status CheckStored(const JournalStatus& v) {
  for (const JournalConsumer& c : v.consumers)
    if (!util::IsValidUtf8(c.name)) return Status::Corruption("a journal consumer's name is not valid UTF-8");
  return Status::OK();
}

Status CheckStored(const AuditEntry& v) {
  const std::string id = std::to_string(v.seq);
  if (Status s = Texts("audit entry", id,
                       {{"actor", &v.actor}, {"actor_user", &v.actor_user}, {"subject_user", &v.subject_user},
                        {"action", &v.action}, {"resource_type", &v.resource_type}, {"resource_id", &v.resource_id},
                        {"ip_address", &v.ip_address}, {"user_agent", &v.user_agent}});
      !s.ok())
    return s;
  if (Status s = Json("audit entry", id, "details", v.details_json, true); !s.ok()) return s;
  return Json("audit entry", id, "personal details", v.personal_json, true, /*may_be_empty=*/true);
}

Status CheckStored(const AuditPage& v) { return CheckStored(v.entries); }

Status CheckStored(const MetricSeries& v) { return Texts("metric", v.name, {{"unit", &v.unit}}); }

}  // namespace convstore::api
