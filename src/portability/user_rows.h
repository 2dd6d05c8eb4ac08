// A user's rows as the records of a user export (docs/privacy.md, "Export and import"): one JSON object per row,
// its "type" first, every stored column under a stable name, and the row ids inside the store replaced by what
// names a row anywhere — conversation and message ids (UUIDs), team keys, a price's identity. Documents (metadata,
// tool input and output, raw items) are embedded as JSON values: stored documents are in the form
// nlohmann::json prints, so printing a parsed record's document gives back the stored bytes.
//
// Reading (RowsOfUser) and writing (RowImporter) work on the connection of the caller's transaction and touch
// rows only: the caller keeps derived structures (cost rollups and retained cost, the metadata index) in step.
// Not thread-safe.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "convstore/privacy.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::portability {

enum class RowKind { kConversation, kMessage, kToolCall, kDeletedMessage, kApiUsage, kBudget };

// The record's "type" ("conversation", "message", "tool_call", "deleted_message", "api_usage", "budget").
const char* TypeName(RowKind kind);
// The kind a "type" names; nullopt for anything else.
std::optional<RowKind> KindOfType(std::string_view type);

// How many rows of each kind the user has (audit_entries left 0), and what their messages, deleted messages and
// API usage cost.
struct UserRowTotals {
  UserDataCounts counts;
  NanoUsd cost_nanousd = 0;
};
Result<UserRowTotals> CountRowsOfUser(sqlite::Connection& conn, int64_t user_id);

// The user row as the export's "user" object: key, email, name, role, active, team (key or null), created_at_us,
// updated_at_us, pseudonym (null when it has none).
Result<std::string> UserObject(sqlite::Connection& conn, int64_t user_id);

// Writes the user of an export's "user" object into the store: into the row `erased_row` (an erased user's row of
// the same person, taken up again) when given, else into a new row; its pseudonymous id is kept when the store
// does not use it for anyone else. Returns the row id. kInvalidArgument for a malformed object.
Result<int64_t> ImportUserObject(sqlite::Connection& conn, const nlohmann::json& user, std::optional<int64_t> erased_row,
                                 Micros now);

// Hands each of the user's rows to emit(kind, record, row_id) in export order: each conversation followed by its
// messages (by position), its tool calls and its deleted messages; then API usage; then budgets. `record` is one
// JSON object without a trailing newline; row_id is the row's id in this store. A non-OK status from emit stops
// the walk and is returned. kCorruption for a stored document that is not valid JSON.
Status RowsOfUser(sqlite::Connection& conn, int64_t user_id,
                  const std::function<Status(RowKind kind, std::string&& record, int64_t row_id)>& emit);

// Inserts the rows of one export under one user. Records must come in export order: a message's conversation, a
// tool call's message, a deleted message's conversation earlier in the same import. A record is checked before it
// is written: kInvalidArgument naming the field for a missing, unknown or mistyped field or a value convstore
// would not store; kAlreadyExists for an id, request id or budget name already in the store. Teams named by key
// that the store does not have are created; a price the store does not have, or an API-usage conversation that is
// not the user's, becomes null (the spend itself is stored on the row).
class RowImporter {
 public:
  RowImporter(sqlite::Connection& conn, int64_t user_id, Micros now) : conn_(conn), user_id_(user_id), now_(now) {}

  // Inserts `record` (a JSON object of `kind`); returns the new row's id.
  Result<int64_t> Insert(RowKind kind, const nlohmann::json& record);

  // Conversations imported whose message count does not match the messages imported under them (the file's
  // counters are kept as they are otherwise); the first such conversation's id, or "" when all match.
  std::string FirstConversationWithWrongCount() const;

 private:
  Result<std::optional<int64_t>> PriceId(const nlohmann::json& identity);

  sqlite::Connection& conn_;
  int64_t user_id_;
  Micros now_;
  struct ImportedConversation {
    int64_t row_id = 0;
    int64_t message_count = 0;  // as the file says
    int64_t messages = 0;       // as imported
  };
  std::map<std::string, ImportedConversation, std::less<>> conversations_;  // by id (uid)
  std::map<std::string, int64_t, std::less<>> messages_;                    // row ids by id (uid)
};

}  // namespace convstore::portability
