#include "sessions/history_sources.h"

#include <fmt/format.h>

#include <set>

#include <nlohmann/json.hpp>

#include "sessions/agent_items.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore::sessions {

using nlohmann::json;

namespace {

// SQLite's CURRENT_TIMESTAMP text ("2025-01-02 03:04:05", UTC by definition) as microseconds; nullopt (the time
// of the import) when the cell holds something else.
std::optional<Micros> SqliteUtcText(std::string_view text) {
  if (text.size() < 19) return std::nullopt;
  int64_t us = 0;
  if (util::Iso8601Error(std::string(text) + "Z", us) != nullptr) return std::nullopt;
  return us;
}

// A JSON object document, or "{}" for anything else (V1 files store json.dumps of a dict or NULL).
std::string ObjectOrEmpty(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  return doc.is_object() ? doc.dump() : std::string("{}");
}

Status ReadAgentsSdk(sqlite::Connection& src, std::string_view user_key, int64_t& skipped_rows,
                     const std::function<Status(SourceConversation&)>& visit) {
  std::vector<std::pair<std::string, std::string>> sessions;  // session_id, created_at
  auto listed = src.ForEachRow(
      "SELECT session_id, coalesce(created_at, '') FROM agent_sessions ORDER BY created_at, session_id",
      "read sessions", [&](const sqlite::Stmt& st) {
        sessions.emplace_back(st.String(0), st.String(1));
        return true;
      });
  if (!listed.ok()) return listed.status();
  for (const auto& [id, created] : sessions) {
    SourceConversation c;
    c.source_id = id;
    c.conversation.user_key = user_key.empty() ? std::string("agents-sdk") : std::string(user_key);
    c.conversation.title = id;
    c.conversation.external_id = "agents-sdk:" + id;
    c.conversation.created_at = SqliteUtcText(created);
    std::set<std::string> call_ids;
    auto rows = src.ForEachRow(
        "SELECT message_data, coalesce(created_at, '') FROM agent_messages WHERE session_id = ?1 ORDER BY id",
        "read session items",
        [&](const sqlite::Stmt& st) {
          json item = json::parse(st.Text(0), nullptr, false);
          auto m = item.is_discarded() ? Result<NewMessage>(Status::InvalidArgument("not JSON"))
                                       : MessageFromAgentItem(item, "item");
          if (!m.ok()) {
            ++skipped_rows;  // as the SDK's get_items skips a row it cannot decode
            return true;
          }
          for (const NewToolCall& t : m->tool_calls) call_ids.insert(t.call_id);
          if (!m->tool_call_id.empty() && !call_ids.count(m->tool_call_id)) m->tool_call_id.clear();
          m->created_at = SqliteUtcText(st.Text(1));
          c.messages.push_back(std::move(*m));
          return true;
        },
        id);
    if (!rows.ok()) return rows.status();
    CONVSTORE_RETURN_IF_ERROR(visit(c));
  }
  return Status::OK();
}

Status ReadAiDatabaseV1(sqlite::Connection& src, int64_t& skipped_rows,
                        const std::function<Status(SourceConversation&)>& visit) {
  std::vector<SourceConversation> heads;
  auto listed = src.ForEachRow(
      "SELECT id, coalesce(user_id, ''), coalesce(title, ''), coalesce(created_at, ''), coalesce(is_archived, 0),"
      " coalesce(metadata, '') FROM conversations ORDER BY created_at, id",
      "read conversations", [&](const sqlite::Stmt& st) {
        SourceConversation& c = heads.emplace_back();
        c.source_id = st.String(0);
        c.conversation.user_key = st.String(1);
        c.conversation.title = st.String(2);
        c.conversation.created_at = SqliteUtcText(st.Text(3));
        c.archived = st.Int(4) != 0;
        c.conversation.metadata_json = ObjectOrEmpty(st.Text(5));
        c.conversation.external_id = "aidatabase-v1:" + c.source_id;
        return true;
      });
  if (!listed.ok()) return listed.status();
  for (SourceConversation& c : heads) {
    auto rows = src.ForEachRow(
        "SELECT role, content, coalesce(model, ''), tokens_input, tokens_output, cost_usd, coalesce(created_at, ''),"
        " coalesce(metadata, '') FROM messages WHERE conversation_id = ?1 ORDER BY created_at, rowid",
        "read conversation messages",
        [&](const sqlite::Stmt& st) {
          auto role = ParseRole(st.Text(0));
          if (!role) {
            ++skipped_rows;
            return true;
          }
          NewMessage& m = c.messages.emplace_back();
          m.role = *role;
          m.content = st.String(1);
          m.model = st.String(2);
          m.tokens_input = st.OptInt(3);
          m.tokens_output = st.OptInt(4);
          m.cost_usd = st.OptDouble(5);
          m.created_at = SqliteUtcText(st.Text(6));
          m.metadata_json = ObjectOrEmpty(st.Text(7));
          return true;
        },
        c.source_id);
    if (!rows.ok()) return rows.status();
    CONVSTORE_RETURN_IF_ERROR(visit(c));
    c.messages = {};  // written: free them
  }
  return Status::OK();
}

}  // namespace

Status CheckSource(sqlite::Connection& src, ImportFormat format, std::string_view path) {
  const bool sdk = format == ImportFormat::kAgentsSdk;
  Status s = src.Exec(sdk ? "SELECT session_id, created_at FROM agent_sessions LIMIT 0;"
                            "SELECT id, session_id, message_data, created_at FROM agent_messages LIMIT 0;"
                          : "SELECT id, user_id, title, created_at, metadata, is_archived FROM conversations LIMIT 0;"
                            "SELECT id, conversation_id, role, content, model, tokens_input, tokens_output,"
                            " cost_usd, created_at, metadata FROM messages LIMIT 0;",
                      "read the source's tables");
  if (s.ok()) return s;
  return Status::InvalidArgument(fmt::format(
      "'{}' is not {}: {}", path,
      sdk ? "an Agents SDK SQLiteSession file (tables agent_sessions, agent_messages)"
          : "a V1 AIDatabase file (tables conversations, messages)",
      s.message()));
}

Status ReadSource(sqlite::Connection& src, ImportFormat format, std::string_view user_key, int64_t& skipped_rows,
                  const std::function<Status(SourceConversation&)>& visit) {
  return format == ImportFormat::kAgentsSdk ? ReadAgentsSdk(src, user_key, skipped_rows, visit)
                                            : ReadAiDatabaseV1(src, skipped_rows, visit);
}

}  // namespace convstore::sessions
