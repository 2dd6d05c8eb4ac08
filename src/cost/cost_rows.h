// Reading messages and API-usage rows as CostRows (what rollups and raw-scan summaries count).
#pragma once
#include "cost/rollups.h"
#include "sqlite/statement.h"

// 12 columns; aliases m (messages) and c (its conversation).
#define CONVSTORE_MESSAGE_COST_COLUMNS                                                                       \
  "m.created_at, c.user_id, coalesce(m.team_id, 0), m.model, m.role, m.tokens_input, m.tokens_output, "     \
  "m.tokens_cached_input, m.tokens_cache_write, m.tokens_reasoning, m.cost_nanousd, m.latency_us"

// The message cost rows of a query: those of stored messages and those of deleted ones, whose tombstones keep the
// same cost columns (money spent stays spent). `where` applies to both (alias m for the message or tombstone, c
// for its conversation).
#define CONVSTORE_MESSAGE_COST_ROWS(where)                                                                        \
  "SELECT " CONVSTORE_MESSAGE_COST_COLUMNS " FROM messages m JOIN conversations c ON c.id = m.conversation_id "  \
  where " UNION ALL SELECT " CONVSTORE_MESSAGE_COST_COLUMNS                                                     \
  " FROM message_tombstones m JOIN conversations c ON c.id = m.conversation_id " where

// 13 columns; alias a.
#define CONVSTORE_USAGE_COST_COLUMNS                                                                         \
  "a.recorded_at, a.user_id, coalesce(a.team_id, 0), a.model, a.endpoint, a.status, a.tokens_input, "       \
  "a.tokens_output, a.tokens_cached_input, a.tokens_cache_write, a.tokens_reasoning, a.cost_nanousd, a.latency_us"

namespace convstore::cost {

inline void ReadMessageCostRow(const sqlite::Stmt& st, int c, CostRow& r) {
  r.at = st.Int(c);
  r.user_id = st.Int(c + 1);
  r.team_id = st.Int(c + 2);
  r.model = st.String(c + 3);
  r.source = kSourceMessage;
  r.role = st.String(c + 4);
  for (int i = 0; i < 5; ++i) r.tokens[i] = st.Int(c + 5 + i);  // NULL reads as 0
  r.cost = st.Int(c + 10);
  r.latency_us = st.OptInt(c + 11);
}

inline void ReadUsageCostRow(const sqlite::Stmt& st, int c, CostRow& r) {
  r.at = st.Int(c);
  r.user_id = st.Int(c + 1);
  r.team_id = st.Int(c + 2);
  r.model = st.String(c + 3);
  r.source = kSourceApi;
  r.endpoint = st.String(c + 4);
  r.status = st.String(c + 5);
  for (int i = 0; i < 5; ++i) r.tokens[i] = st.Int(c + 6 + i);
  r.cost = st.Int(c + 11);
  r.latency_us = st.OptInt(c + 12);
}

}  // namespace convstore::cost
