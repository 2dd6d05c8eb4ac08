#include "sync/table_map.h"

#include <openssl/evp.h>

#include <charconv>
#include <cmath>

#include "util/json_writer.h"
#include "util/time.h"

namespace convstore::sync {
namespace {

using K = ColumnKind;

ColumnMap Col(std::string_view source, std::string_view target, ColumnKind kind) { return {source, target, kind}; }
ColumnMap Same(std::string_view name, ColumnKind kind) { return {name, name, kind}; }
ColumnMap Lookup(std::string_view source, std::string_view target, std::string_view table,
                 std::string_view sqlite_column, std::string_view pg_column) {
  return {source, target, K::kLookup, table, sqlite_column, pg_column};
}
ColumnMap Enum(std::string_view source, std::string_view target, std::vector<std::string_view> names) {
  ColumnMap c{source, target, K::kEnum};
  c.names = std::move(names);
  return c;
}
ColumnMap Id() { return {"id", "src_id", K::kInt}; }

std::vector<TableMap> MakeTables() {
  std::vector<TableMap> t;
  t.push_back({"teams", "teams", {}, {
      Id(), Same("key", K::kText), Same("name", K::kText), Same("monthly_budget_nanousd", K::kInt),
      Same("created_at", K::kTime), Same("updated_at", K::kTime)}});
  t.push_back({"users", "users", {}, {
      Id(), Same("key", K::kText), Same("email", K::kText), Same("name", K::kText), Col("team_id", "team_src", K::kInt),
      Same("role", K::kText), Col("active", "is_active", K::kBool), Same("created_at", K::kTime),
      Same("updated_at", K::kTime)}});
  t.push_back({"prices", "convstore_prices", {}, {
      Id(), Same("model", K::kText), Same("is_pattern", K::kBool), Same("effective_from", K::kTime),
      Same("origin", K::kText), Same("input_nanousd_per_mtok", K::kInt), Same("output_nanousd_per_mtok", K::kInt),
      Same("cached_input_nanousd_per_mtok", K::kInt), Same("cache_write_nanousd_per_mtok", K::kInt),
      Same("reasoning_nanousd_per_mtok", K::kInt), Same("source_date", K::kText), Same("note", K::kText),
      Same("created_at", K::kTime)}});
  t.push_back({"conversations", "conversations", {}, {
      Id(), Col("uid", "id", K::kUuid), Col("user_id", "user_src", K::kInt),
      Lookup("user_id", "user_id", "users", "key", "key"), Same("title", K::kText), Same("system_prompt", K::kText),
      Same("model", K::kText), Same("temperature", K::kReal), Same("max_tokens", K::kInt),
      Col("archived", "is_archived", K::kBool), Same("metadata", K::kJson), Same("created_at", K::kTime),
      Same("updated_at", K::kTime), Col("updated_at", "updated_at_us", K::kInt), Same("next_position", K::kInt),
      Same("message_count", K::kInt), Same("tokens_input", K::kInt), Same("tokens_output", K::kInt),
      Same("tokens_cached_input", K::kInt), Same("tokens_reasoning", K::kInt), Same("cost_nanousd", K::kInt),
      Same("tokens_cache_write", K::kInt), Same("external_id", K::kText),
      // The counters as stored, which lag the newest messages; the ones above are recounted as read
      // (Applier::RecountConversations).
      Col("message_count", "src_message_count", K::kInt), Col("next_position", "src_next_position", K::kInt),
      Col("updated_at", "src_updated_at_us", K::kInt), Col("tokens_input", "src_tokens_input", K::kInt),
      Col("tokens_output", "src_tokens_output", K::kInt),
      Col("tokens_cached_input", "src_tokens_cached_input", K::kInt),
      Col("tokens_reasoning", "src_tokens_reasoning", K::kInt),
      Col("tokens_cache_write", "src_tokens_cache_write", K::kInt),
      Col("cost_nanousd", "src_cost_nanousd", K::kInt)}});
  t.push_back({"messages", "messages", {}, {
      Id(), Col("uid", "id", K::kUuid), Col("conversation_id", "conversation_src", K::kInt),
      Lookup("conversation_id", "conversation_id", "conversations", "uid", "id"), Same("position", K::kInt),
      Same("role", K::kText), Same("content", K::kText), Same("model", K::kText), Same("model_version", K::kText),
      Same("tokens_input", K::kInt), Same("tokens_output", K::kInt), Same("tokens_cached_input", K::kInt),
      Same("tokens_reasoning", K::kInt), Same("cost_nanousd", K::kInt), Same("latency_us", K::kInt),
      Same("metadata", K::kJson), Same("request_id", K::kText), Same("created_at", K::kTime),
      Same("tokens_cache_write", K::kInt), Col("team_id", "team_src", K::kInt), Same("price_id", K::kInt),
      Same("tool_call_id", K::kText), Same("raw", K::kText)}});
  t.push_back({"tool_calls", "tool_calls", {}, {
      Id(), Col("uid", "id", K::kUuid), Col("message_id", "message_src", K::kInt),
      Lookup("message_id", "message_id", "messages", "uid", "id"), Same("tool_name", K::kText),
      Col("input", "tool_input", K::kJson), Col("output", "tool_output", K::kJson), Same("duration_us", K::kInt),
      Same("status", K::kText), Same("error_message", K::kText), Same("created_at", K::kTime),
      Same("call_id", K::kText), Same("updated_at", K::kTime)}});
  t.push_back({"message_tombstones", "convstore_message_tombstones", {}, {
      Id(), Col("conversation_id", "conversation_src", K::kInt),
      Lookup("conversation_id", "conversation_id", "conversations", "uid", "id"),
      Col("message_uid", "message_id", K::kUuid), Same("position", K::kInt), Same("role", K::kText),
      Same("model", K::kText), Col("team_id", "team_src", K::kInt), Same("tokens_input", K::kInt),
      Same("tokens_output", K::kInt), Same("tokens_cached_input", K::kInt), Same("tokens_cache_write", K::kInt),
      Same("tokens_reasoning", K::kInt), Same("cost_nanousd", K::kInt), Same("latency_us", K::kInt),
      Same("request_id", K::kText), Same("created_at", K::kTime), Same("deleted_at", K::kTime)}});
  t.push_back({"api_usage", "api_usage", "recorded_at", {
      Id(), Col("uid", "id", K::kUuid), Col("user_id", "user_src", K::kInt), Col("team_id", "team_src", K::kInt),
      Col("conversation_id", "conversation_src", K::kInt),
      Lookup("conversation_id", "conversation_id", "conversations", "uid", "id"), Same("model", K::kText),
      Same("endpoint", K::kText), Same("tokens_input", K::kInt), Same("tokens_output", K::kInt),
      Same("tokens_cached_input", K::kInt), Same("tokens_cache_write", K::kInt), Same("tokens_reasoning", K::kInt),
      Same("cost_nanousd", K::kInt), Same("price_id", K::kInt), Same("latency_us", K::kInt), Same("status", K::kText),
      Same("error_code", K::kText), Same("error_message", K::kText), Same("metadata", K::kJson),
      Same("request_id", K::kText), Same("recorded_at", K::kTime)}});
  t.push_back({"budgets", "convstore_budgets", {}, {
      Id(), Same("name", K::kText), Enum("scope", "scope", {"everything", "team", "user"}),
      Col("scope_id", "scope_src", K::kInt), Same("period", K::kText), Same("window_hours", K::kInt),
      Same("hard_limit_nanousd", K::kInt), Same("soft_limit_nanousd", K::kInt), Same("created_at", K::kTime),
      Same("updated_at", K::kTime)}});
  t.push_back({"budget_reservations", "convstore_budget_reservations", {}, {
      Id(), Same("request_id", K::kText), Col("user_id", "user_src", K::kInt), Col("team_id", "team_src", K::kInt),
      Same("amount_nanousd", K::kInt), Enum("state", "state", {"open", "settled", "released"}),
      Same("created_at", K::kTime), Same("expires_at", K::kTime), Col("usage_id", "usage_src", K::kInt)}});
  // The audit log as the seed's audit_logs (changes = details), people named by their pseudonymous ids; the hash
  // chain stays in the store (verify_audit checks it there).
  t.push_back({"audit_log", "audit_log", {}, {
      Col("seq", "src_id", K::kInt), Col("at", "created_at", K::kTime), Same("actor", K::kText),
      Same("actor_user", K::kText), Same("subject_user", K::kText), Same("action", K::kText),
      Same("resource_type", K::kText), Same("resource_id", K::kText), Col("details", "changes", K::kJson),
      Same("ip_address", K::kText), Same("user_agent", K::kText), Same("personal", K::kJson)},
      "seq"});
  t.push_back({"metrics", "metrics", "at", {
      Id(), Col("at", "recorded_at", K::kTime), Col("type", "metric_type", K::kText),
      Col("name", "metric_name", K::kText), Same("value", K::kReal), Same("unit", K::kText),
      Same("labels", K::kJson)}});
  return t;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string WithoutNul(std::string_view text, bool* had_nul) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\0') {
      out += kReplacement;
      *had_nul = true;
    } else {
      out += c;
    }
  }
  return out;
}

// A JSON text with each "\u0000" escape (and any raw NUL) replaced by U+FFFD.
std::string JsonWithoutNul(std::string_view json, bool* had_nul) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '\0') {
      out += kReplacement;
      *had_nul = true;
    } else if (c == '\\' && i + 1 < json.size()) {
      if (json.compare(i + 1, 5, "u0000") == 0) {
        out += "\\ufffd";
        *had_nul = true;
        i += 5;
      } else {
        out += c;
        out += json[++i];
      }
    } else {
      out += c;
    }
  }
  return out;
}

const char* TypeName(sqlite::Value::Type t) {
  switch (t) {
    case sqlite::Value::kInteger: return "an integer";
    case sqlite::Value::kFloat: return "a real";
    case sqlite::Value::kText: return "text";
    case sqlite::Value::kBlob: return "a blob";
    case sqlite::Value::kNull: return "NULL";
    default: return "no value";
  }
}

}  // namespace

const std::vector<TableMap>& SyncedTables() {
  static const std::vector<TableMap> tables = MakeTables();
  return tables;
}

const TableMap* FindSyncedTable(std::string_view source) {
  for (const TableMap& t : SyncedTables())
    if (t.source == source) return &t;
  return nullptr;
}

Status ToPgText(const sqlite::Value& v, const ColumnMap& c, std::optional<std::string>* out, bool* had_nul) {
  using V = sqlite::Value;
  if (v.type == V::kNull) {
    out->reset();
    return Status::OK();
  }
  auto wrong = [&] {
    return Status::InvalidArgument("column " + std::string(c.source) + " holds " + TypeName(v.type) +
                                   ", which cannot become " + std::string(c.target));
  };
  switch (c.kind) {
    case K::kInt:
    case K::kLookup:
      if (v.type != V::kInteger) return wrong();
      *out = std::to_string(v.i);
      return Status::OK();
    case K::kReal: {
      if (v.type == V::kInteger) {
        *out = std::to_string(v.i);
        return Status::OK();
      }
      if (v.type != V::kFloat) return wrong();
      if (!std::isfinite(v.f)) return wrong();
      char buf[40];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.f);  // shortest exact form, whatever the locale
      if (ec != std::errc()) return wrong();
      *out = std::string(buf, end);
      return Status::OK();
    }
    case K::kBool:
      if (v.type != V::kInteger || (v.i != 0 && v.i != 1)) return wrong();
      *out = v.i ? "t" : "f";
      return Status::OK();
    case K::kTime:
      if (v.type != V::kInteger) return wrong();
      *out = util::FormatIso8601(v.i);
      return Status::OK();
    case K::kEnum:
      if (v.type != V::kInteger || v.i < 0 || v.i >= static_cast<int64_t>(c.names.size())) return wrong();
      *out = std::string(c.names[static_cast<size_t>(v.i)]);
      return Status::OK();
    case K::kText:
    case K::kUuid:
      if (v.type != V::kText) return wrong();
      *out = WithoutNul(v.bytes, had_nul);
      return Status::OK();
    case K::kJson:
      if (v.type != V::kText) return wrong();
      *out = JsonWithoutNul(v.bytes, had_nul);
      return Status::OK();
  }
  return wrong();
}

void AppendNulOriginal(std::string* members, std::string_view column, std::string_view original) {
  std::string encoded(4 * ((original.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(original.data()),
                                static_cast<int>(original.size()));
  encoded.resize(static_cast<size_t>(n));
  if (!members->empty()) *members += ',';
  util::AppendJsonString(*members, column);
  *members += ':';
  util::AppendJsonString(*members, encoded);
}

}  // namespace convstore::sync
