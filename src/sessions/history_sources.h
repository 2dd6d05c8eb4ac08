// Reading other tools' history files for ConversationStore::ImportHistory: the OpenAI Agents SDK's SQLiteSession
// files and the reference design's V1 AIDatabase files (convstore/sessions.h describes both mappings).
//
// Functions take a connection to the source, opened read-only by the caller; they read, never write. Not
// thread-safe (one connection).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/sessions.h"
#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"

namespace convstore::sessions {

// One conversation of a source file, as convstore stores it.
struct SourceConversation {
  std::string source_id;         // its id in the source (errors name it)
  NewConversation conversation;  // external_id set: "agents-sdk:<session_id>" or "aidatabase-v1:<id>"
  bool archived = false;
  std::vector<NewMessage> messages;
};

// kInvalidArgument naming the format when the source lacks its tables or columns.
Status CheckSource(sqlite::Connection& source, ImportFormat format, std::string_view path);

// Calls visit for each conversation of the source, oldest first, and stops at the first error it returns.
// `user_key` is the user of Agents SDK sessions ("" for "agents-sdk"). Rows that are not valid items (or
// messages of an unknown role) are left out and counted in skipped_rows; a function_call_output whose call is not
// in the session keeps its item without the link.
Status ReadSource(sqlite::Connection& source, ImportFormat format, std::string_view user_key, int64_t& skipped_rows,
                  const std::function<Status(SourceConversation&)>& visit);

}  // namespace convstore::sessions
