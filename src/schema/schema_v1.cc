// Migration 1: users, teams, conversations (with denormalised counters), messages, tool calls.
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kV1 = R"sql(
CREATE TABLE teams (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  monthly_budget_nanousd INTEGER CHECK (monthly_budget_nanousd IS NULL OR monthly_budget_nanousd >= 0),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
  role TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX users_team ON users(team_id) WHERE team_id IS NOT NULL;

-- message_count, token totals and cost are maintained in the same transaction as every message write, so listing
-- conversations never aggregates over messages. next_position numbers messages in insertion order.
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL DEFAULT '',
  system_prompt TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  temperature REAL,
  max_tokens INTEGER,
  archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_position INTEGER NOT NULL DEFAULT 0,
  message_count INTEGER NOT NULL DEFAULT 0,
  tokens_input INTEGER NOT NULL DEFAULT 0,
  tokens_output INTEGER NOT NULL DEFAULT 0,
  tokens_cached_input INTEGER NOT NULL DEFAULT 0,
  tokens_reasoning INTEGER NOT NULL DEFAULT 0,
  cost_nanousd INTEGER NOT NULL DEFAULT 0
);
-- Serves "a user's conversations, most recently updated first" as a keyset range scan.
CREATE INDEX conversations_user_recent ON conversations(user_id, archived, updated_at, id);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  content TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  model_version TEXT NOT NULL DEFAULT '',
  tokens_input INTEGER,
  tokens_output INTEGER,
  tokens_cached_input INTEGER,
  tokens_reasoning INTEGER,
  cost_nanousd INTEGER,
  latency_us INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}',
  request_id TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (conversation_id, position)
);
CREATE UNIQUE INDEX messages_request_id ON messages(request_id) WHERE request_id IS NOT NULL;

CREATE TABLE tool_calls (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  tool_name TEXT NOT NULL,
  input TEXT NOT NULL DEFAULT '{}',
  output TEXT,
  duration_us INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending', 'success', 'error')),
  error_message TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX tool_calls_message ON tool_calls(message_id);
)sql";

}  // namespace

Migration SchemaV1() { return {1, "conversations, messages, tool calls, users, teams", kV1}; }

}  // namespace convstore::schema
