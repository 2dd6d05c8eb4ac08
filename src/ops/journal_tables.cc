#include "ops/journal_tables.h"

#include <algorithm>

namespace convstore::ops {

const std::vector<std::string_view>& JournaledTables() {
  static const std::vector<std::string_view> kTables = {
      "schema_migrations", "meta",    "teams",   "users",       "conversations",      "messages",
      "tool_calls",        "message_tombstones", "prices", "api_usage", "budgets", "budget_reservations",
      "user_pseudonyms",   "audit_log",     "audit_state",        "metrics",     "cost_retained", "erasures"};
  return kTables;
}

bool IsJournaled(std::string_view table) {
  const auto& tables = JournaledTables();
  return std::find(tables.begin(), tables.end(), table) != tables.end();
}

}  // namespace convstore::ops
