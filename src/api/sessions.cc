// Agent frameworks' history: Agents SDK items appended as messages, and imports of other tools' history files.
#include <fmt/format.h>

#include <set>

#include "api/message_insert.h"
#include "api/store_impl.h"
#include "convstore/limits.h"
#include "metadata/index.h"
#include "records/conversations.h"
#include "records/lookups.h"
#include "sessions/agent_items.h"
#include "util/json_input.h"
#include "util/money.h"
#include "util/time.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

using nlohmann::json;

// Puts `usage` on the first assistant message of the batch (kInvalidArgument when there is none).
Status RecordUsage(std::vector<NewMessage>& batch, const AgentUsage& u) {
  const bool any = u.input_tokens || u.output_tokens || u.cached_input_tokens || u.reasoning_tokens ||
                   !u.model.empty();
  if (!any) return Status::OK();
  for (NewMessage& m : batch) {
    if (m.role != Role::kAssistant) continue;
    m.tokens_input = u.input_tokens;
    m.tokens_output = u.output_tokens;
    m.tokens_cached_input = u.cached_input_tokens;
    m.tokens_reasoning = u.reasoning_tokens;
    m.model = u.model;
    return Status::OK();
  }
  return Status::InvalidArgument("usage was given but no item is an assistant item to record it on");
}

// SQLite's CURRENT_TIMESTAMP text ("2025-01-02 03:04:05", UTC by definition), as microseconds; nullopt when the
// cell holds something else.
std::optional<Micros> SqliteUtcText(std::string_view text) {
  if (text.size() < 19) return std::nullopt;
  int64_t us = 0;
  if (util::Iso8601Error(std::string(text) + "Z", us) != nullptr) return std::nullopt;
  return us;
}

// A conversation of an import and its messages, written in one transaction: skipped when its external id exists.
struct ImportedConversation {
  NewConversation conversation;
  bool archived = false;
  std::vector<NewMessage> messages;
};

}  // namespace

Result<int64_t> StoreImpl::DoAddAgentItems(std::string_view conversation_id, std::string_view items_json,
                                          const AgentUsage& usage) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(usage.model, "usage.model", limits::kMaxNameBytes));
  auto batch = sessions::MessagesFromAgentItems(items_json);
  if (!batch.ok()) return batch.status();
  if (batch->empty()) return int64_t{0};
  CONVSTORE_RETURN_IF_ERROR(RecordUsage(*batch, usage));
  auto added = DoAddMessages(conversation_id, *batch);
  if (!added.ok()) return added.status();
  return static_cast<int64_t>(added->size());
}

Result<ImportReport> StoreImpl::DoImportHistory(const ImportOptions& options) {
  if (options.source_path.empty()) return Status::InvalidArgument("source_path is empty");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(options.source_path, "source_path", 4096));
  if (!options.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(options.user_key, "user key"));
  if (options.format != ImportFormat::kAgentsSdk && options.format != ImportFormat::kAiDatabaseV1)
    return Status::InvalidArgument("format must be kAgentsSdk or kAiDatabaseV1");
  sqlite::ConnectionConfig cfg;
  cfg.open_read_only = true;
  cfg.read_only = true;
  auto source = sqlite::Connection::Open(options.source_path, cfg);
  if (!source.ok())
    return Status(source.status().code(),
                  fmt::format("cannot open '{}' to import from: {}", options.source_path, source.status().message()));
  sqlite::Connection& src = **source;
  const bool sdk = options.format == ImportFormat::kAgentsSdk;
  const char* check = sdk ? "SELECT session_id, created_at FROM agent_sessions LIMIT 0;"
                            "SELECT id, session_id, message_data, created_at FROM agent_messages LIMIT 0;"
                          : "SELECT id, user_id, title, created_at, metadata, is_archived FROM conversations LIMIT 0;"
                            "SELECT id, conversation_id, role, content, model, tokens_input, tokens_output, cost_usd,"
                            " created_at, metadata FROM messages LIMIT 0;";
  if (Status s = src.Exec(check, "read the source's tables"); !s.ok())
    return Status::InvalidArgument(fmt::format(
        "'{}' is not {}: {}", options.source_path,
        sdk ? "an Agents SDK SQLiteSession file (tables agent_sessions, agent_messages)"
            : "a V1 AIDatabase file (tables conversations, messages)",
        s.message()));

  // The source's conversations, read one at a time (the source is read-only and consistent: one read
  // transaction), each written in its own transaction.
  CONVSTORE_RETURN_IF_ERROR(src.Exec("BEGIN", "read the source"));
  ImportReport report;
  std::vector<std::tuple<std::string, std::string, std::string, std::string, int64_t>> heads;  // id, user, title, created, archived + metadata below
  std::vector<std::string> head_metadata;
  Status read = sdk ? src.ForEachRow("SELECT session_id, coalesce(created_at, '') FROM agent_sessions"
                                     " ORDER BY created_at, session_id",
                                     "read sessions",
                                     [&](const sqlite::Stmt& st) {
                                       heads.emplace_back(st.String(0), "", "", st.String(1), 0);
                                       head_metadata.emplace_back();
                                       return true;
                                     }).status()
                    : src.ForEachRow("SELECT id, coalesce(user_id, ''), coalesce(title, ''), coalesce(created_at, ''),"
                                     " coalesce(is_archived, 0), coalesce(metadata, '') FROM conversations"
                                     " ORDER BY created_at, id",
                                     "read conversations",
                                     [&](const sqlite::Stmt& st) {
                                       heads.emplace_back(st.String(0), st.String(1), st.String(2), st.String(3),
                                                          st.Int(4));
                                       head_metadata.push_back(st.String(5));
                                       return true;
                                     }).status();
  if (!read.ok()) return read;

  const int64_t now = Now();
  for (size_t h = 0; h < heads.size(); ++h) {
    auto& [id, user, title, created, archived] = heads[h];
    ImportedConversation c;
    c.conversation.user_key = sdk ? (options.user_key.empty() ? std::string("agents-sdk") : options.user_key) : user;
    c.conversation.title = sdk ? id : title;
    c.conversation.external_id = (sdk ? "agents-sdk:" : "aidatabase-v1:") + id;
    c.conversation.created_at = SqliteUtcText(created);
    c.archived = archived != 0;
    if (!sdk) {
      json doc = json::parse(head_metadata[h], nullptr, false);
      if (doc.is_object()) c.conversation.metadata_json = doc.dump();
    }
    std::set<std::string> call_ids;  // an output whose call is not in the file keeps its item, not the link
    auto rows = sdk ? src.ForEachRow(
                          "SELECT message_data, coalesce(created_at, '') FROM agent_messages WHERE session_id = ?1"
                          " ORDER BY id",
                          "read session items",
                          [&](const sqlite::Stmt& st) {
                            json item = json::parse(st.Text(0), nullptr, false);
                            auto m = item.is_discarded() ? Result<NewMessage>(Status::InvalidArgument("not JSON"))
                                                         : sessions::MessageFromAgentItem(item, "item");
                            if (!m.ok()) {
                              ++report.skipped_rows;
                              return true;
                            }
                            for (const NewToolCall& t : m->tool_calls) call_ids.insert(t.call_id);
                            if (!m->tool_call_id.empty() && !call_ids.count(m->tool_call_id)) m->tool_call_id.clear();
                            m->created_at = SqliteUtcText(st.Text(1));
                            c.messages.push_back(std::move(*m));
                            return true;
                          },
                          id)
                    : src.ForEachRow(
                          "SELECT role, content, coalesce(model, ''), tokens_input, tokens_output, cost_usd,"
                          " coalesce(created_at, ''), coalesce(metadata, '') FROM messages"
                          " WHERE conversation_id = ?1 ORDER BY created_at, rowid",
                          "read conversation messages",
                          [&](const sqlite::Stmt& st) {
                            auto role = ParseRole(st.Text(0));
                            if (!role) {
                              ++report.skipped_rows;
                              return true;
                            }
                            NewMessage m;
                            m.role = *role;
                            m.content = st.String(1);
                            m.model = st.String(2);
                            m.tokens_input = st.OptInt(3);
                            m.tokens_output = st.OptInt(4);
                            m.cost_usd = st.OptDouble(5);
                            m.created_at = SqliteUtcText(st.Text(6));
                            json doc = json::parse(st.Text(7), nullptr, false);
                            if (doc.is_object()) m.metadata_json = doc.dump();
                            c.messages.push_back(std::move(m));
                            return true;
                          },
                          id);
    if (!rows.ok()) return rows.status();

    auto conv = records::PrepareConversation(c.conversation);
    if (!conv.ok())
      return Status(conv.status().code(),
                    fmt::format("conversation '{}' of the source: {}", id, conv.status().message()));
    records::StampConversation(*conv, c.conversation, now);
    std::vector<records::ValidMessage> valid(c.messages.size());
    for (size_t i = 0; i < c.messages.size(); ++i) {
      Status s = records::ValidateMessage(c.messages[i], i, true, now, valid[i]);
      if (!s.ok()) return Status(s.code(), fmt::format("conversation '{}' of the source: {}", id, s.message()));
    }
    bool skipped = false;
    Status wrote = Write("import_history", [&](sqlite::Connection& conn) -> Status {
      auto existing = records::FindByExternalId(conn, conv->external_id, conv->user_key);
      if (!existing.ok()) return existing.status();
      if (*existing) {
        skipped = true;
        return Status::OK();
      }
      auto user_id = records::FindOrCreateUser(conn, conv->user_key, now);
      if (!user_id.ok()) return user_id.status();
      auto row_id = records::InsertConversation(conn, *conv, *user_id);
      if (!row_id.ok()) return row_id.status();
      CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kConversations, {*row_id}));
      if (c.archived) CONVSTORE_RETURN_IF_ERROR(records::SetArchived(conn, conv->id, true));
      if (valid.empty()) return Status::OK();
      std::vector<Message> out;
      cost::SpendNote spent;
      return InsertMessages(conn, conv->id, valid.data(), valid.size(), out, spent);
    });
    if (!wrote.ok())
      return Status(wrote.code(), fmt::format("conversation '{}' of the source: {}", id, wrote.message()));
    if (skipped) {
      ++report.skipped_conversations;
    } else {
      ++report.conversations;
      report.messages += static_cast<int64_t>(c.messages.size());
    }
  }
  (void)src.Exec("COMMIT", "finish reading the source");
  return report;
}

}  // namespace convstore::api
