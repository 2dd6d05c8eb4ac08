// The insert every message write shares (AddMessage, AddMessages, agent items, imports).
#pragma once
#include <string_view>
#include <vector>

#include "convstore/types.h"
#include "cost/budgets.h"
#include "records/messages.h"
#include "sqlite/connection.h"

namespace convstore::api {

// Inserts `n` validated messages into the conversation with their prices, the metadata index and the cost rollups
// in step; runs inside the caller's transaction. `spent` says what the new rows cost (retries count nothing).
Status InsertMessages(sqlite::Connection& conn, std::string_view conversation_id, const records::ValidMessage* msgs,
                      size_t n, std::vector<Message>& out, cost::SpendNote& spent);

}  // namespace convstore::api
