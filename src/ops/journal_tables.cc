#include "ops/journal_tables.h"

#include <algorithm>

namespace convstore::ops {

const std::vector<std::string_view>& JournaledTables() {
  static const std::vector<std::string_view> kTables = {
      "schema_migrations", "meta",    "teams",   "users",       "conversations",      "messages",
      "tool_calls",        "message_tombstones", "prices", "api_usage", "budgets", "budget_reservations",
      "user_pseudonyms",   "audit_log",     "audit_state",        "metrics",     "cost_retained", "erasures",
      "embedding_spaces",  "message_embeddings", "conversation_embeddings"};
  return kTables;
}

bool IsJournaled(std::string_view table) {
  const auto& tables = JournaledTables();
  return std::find(tables.begin(), tables.end(), table) != tables.end();
}

Result<const std::vector<std::string>*> TableColumns::Of(std::string_view table) {
  auto it = names_.find(table);
  if (it != names_.end()) return &it->second;
  std::vector<std::string> names;
  auto rows = conn_.ForEachRow("SELECT name FROM pragma_table_info(?1) ORDER BY cid", "journal: read column names",
                               [&](const sqlite::Stmt& st) {
                                 names.push_back(st.String(0));
                                 return true;
                               },
                               table);
  if (!rows.ok()) return rows.status();
  return &names_.emplace(std::string(table), std::move(names)).first->second;
}

Result<int> TableColumns::IndexOf(std::string_view table, std::string_view column) {
  auto names = Of(table);
  if (!names.ok()) return names.status();
  for (size_t i = 0; i < (*names)->size(); ++i)
    if ((**names)[i] == column) return static_cast<int>(i);
  return -1;
}

}  // namespace convstore::ops
