// Agent frameworks' history on convstore: OpenAI Agents SDK items stored as messages, and the import of history
// kept by other tools (the Agents SDK's SQLiteSession files, the reference design's V1 AIDatabase files).
//
// The entry points are ConversationStore::AddAgentItems and ConversationStore::ImportHistory (convstore/store.h);
// this header holds their records. docs/python.md ("Session-style history") says where items live.
#ifndef CONVSTORE_SESSIONS_H_
#define CONVSTORE_SESSIONS_H_

#include <cstdint>
#include <optional>
#include <string>

namespace convstore {

// A model response's usage, recorded with the items of one AddAgentItems call: on its first assistant item, with
// `model` (which prices it from the catalog), so cost summaries and budgets count it once.
struct AgentUsage {
  std::optional<int64_t> input_tokens{};         // each 0..kMaxTokenCount
  std::optional<int64_t> output_tokens{};
  std::optional<int64_t> cached_input_tokens{};
  std::optional<int64_t> reasoning_tokens{};
  std::string model{};                           // "" for none (tokens recorded, not priced)
};

enum class ImportFormat {
  // The OpenAI Agents SDK's SQLiteSession file: tables agent_sessions(session_id, created_at, ...) and
  // agent_messages(id, session_id, message_data, created_at). A session becomes a conversation with external id
  // "agents-sdk:<session_id>" (what AgentSession opens), each item a message as AddAgentItems stores it.
  kAgentsSdk = 0,
  // The reference design's V1 AIDatabase file: tables conversations(id, user_id, title, created_at, metadata,
  // is_archived, ...) and messages(id, conversation_id, role, content, model, tokens_input, tokens_output, cost_usd,
  // created_at, metadata). A conversation keeps its user, title, metadata, archived flag and times, with external
  // id "aidatabase-v1:<id>"; its messages keep role, content, model, tokens, cost, time and metadata.
  kAiDatabaseV1 = 1,
};

struct ImportOptions {
  std::string source_path{};  // the file to import from; opened read-only, never written
  ImportFormat format = ImportFormat::kAgentsSdk;
  // The user of imported Agents SDK sessions ("" for "agents-sdk", what AgentSession uses); V1 conversations keep
  // their own user_id.
  std::string user_key{};
};

// What an import did. Each source conversation is imported in one transaction; one already imported (its external
// id exists) is skipped, so an interrupted import is finished by running it again.
struct ImportReport {
  int64_t conversations = 0;          // imported
  int64_t messages = 0;               // imported
  int64_t skipped_conversations = 0;  // already in the store
  int64_t skipped_rows = 0;           // source rows that are not valid items (the SDK skips them too)
};

}  // namespace convstore

#endif  // CONVSTORE_SESSIONS_H_
