-- Rewrites a current store file as schema version 3 wrote it (as DowngradeSchemaSql(3) in tests/test_util.cc),
-- for the Python and CLI tests of opening an older file.
-- The conversations' counters as read: older versions read the stored ones as exact.
UPDATE conversations AS o SET (message_count, next_position, updated_at, tokens_input, tokens_output,
  tokens_cached_input, tokens_reasoning, tokens_cache_write, cost_nanousd) = (
  SELECT c.message_count + (SELECT count(*) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position),
    max(c.next_position, coalesce((SELECT max(p.position) + 1 FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position), 0)),
    max(c.updated_at, coalesce((SELECT max(p.created_at) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position), 0)),
    c.tokens_input + (SELECT coalesce(sum(p.tokens_input), 0) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position),
    c.tokens_output + (SELECT coalesce(sum(p.tokens_output), 0) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position),
    c.tokens_cached_input + (SELECT coalesce(sum(p.tokens_cached_input), 0) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position),
    c.tokens_reasoning + (SELECT coalesce(sum(p.tokens_reasoning), 0) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position),
    c.tokens_cache_write + (SELECT coalesce(sum(p.tokens_cache_write), 0) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position),
    c.cost_nanousd + (SELECT coalesce(sum(p.cost_nanousd), 0) FROM messages p WHERE p.conversation_id = c.id AND p.position >= c.next_position)
  FROM conversations c WHERE c.id = o.id)
WHERE EXISTS (SELECT 1 FROM messages p WHERE p.conversation_id = o.id AND p.position >= o.next_position);
INSERT INTO cost_pending(at, user_id, team_id, model, source, role, endpoint, status, tokens_input, tokens_output,
  tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us)
  SELECT m.created_at, c.user_id, coalesce(m.team_id, 0), coalesce(m.model, ''), 0, m.role, '', '',
    coalesce(m.tokens_input, 0), coalesce(m.tokens_output, 0), coalesce(m.tokens_cached_input, 0),
    coalesce(m.tokens_cache_write, 0), coalesce(m.tokens_reasoning, 0), coalesce(m.cost_nanousd, 0), m.latency_us
  FROM messages m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.id > (SELECT messages_through FROM cost_fold) ORDER BY m.id;
DROP TABLE cost_fold;
DROP TRIGGER journal_foreign_embedding_spaces_INSERT;
DROP TRIGGER journal_foreign_embedding_spaces_UPDATE;
DROP TRIGGER journal_foreign_embedding_spaces_DELETE;
DROP TRIGGER journal_foreign_message_embeddings_INSERT;
DROP TRIGGER journal_foreign_message_embeddings_UPDATE;
DROP TRIGGER journal_foreign_message_embeddings_DELETE;
DROP TRIGGER journal_foreign_conversation_embeddings_INSERT;
DROP TRIGGER journal_foreign_conversation_embeddings_UPDATE;
DROP TRIGGER journal_foreign_conversation_embeddings_DELETE;
DROP TABLE message_embeddings;
DROP TABLE conversation_embeddings;
DROP TABLE embedding_spaces;
DELETE FROM sqlite_sequence WHERE name IN ('message_embeddings', 'conversation_embeddings');
DROP TABLE message_words;
DROP TABLE message_trigrams;
DROP TABLE conversation_words;
DROP TABLE conversation_trigrams;
DROP VIEW message_text_source;
DROP VIEW conversation_text_source;
DROP TABLE search_state;
DELETE FROM meta WHERE key = 'text_tokenizer';
DROP TABLE operation_stats;
DROP TABLE stats_counters;
DROP TRIGGER journal_foreign_cost_retained_INSERT;
DROP TRIGGER journal_foreign_cost_retained_UPDATE;
DROP TRIGGER journal_foreign_cost_retained_DELETE;
DROP TABLE cost_retained;
DROP TRIGGER journal_foreign_erasures_INSERT;
DROP TRIGGER journal_foreign_erasures_UPDATE;
DROP TRIGGER journal_foreign_erasures_DELETE;
DROP TABLE erasures;
DROP INDEX api_usage_conversation;
DROP TRIGGER journal_foreign_metrics_INSERT;
DROP TRIGGER journal_foreign_metrics_UPDATE;
DROP TRIGGER journal_foreign_metrics_DELETE;
DROP TABLE metrics;
DROP TRIGGER journal_foreign_user_pseudonyms_INSERT;
DROP TRIGGER journal_foreign_user_pseudonyms_UPDATE;
DROP TRIGGER journal_foreign_user_pseudonyms_DELETE;
DROP TRIGGER journal_foreign_audit_log_INSERT;
DROP TRIGGER journal_foreign_audit_log_UPDATE;
DROP TRIGGER journal_foreign_audit_log_DELETE;
DROP TRIGGER journal_foreign_audit_state_INSERT;
DROP TRIGGER journal_foreign_audit_state_UPDATE;
DROP TRIGGER journal_foreign_audit_state_DELETE;
DROP TRIGGER audit_log_append_only_update;
DROP TRIGGER audit_log_append_only_delete;
DROP TABLE audit_log;
DROP TABLE audit_state;
DROP TABLE user_pseudonyms;
DROP TRIGGER journal_foreign_schema_migrations_INSERT;
DROP TRIGGER journal_foreign_schema_migrations_UPDATE;
DROP TRIGGER journal_foreign_schema_migrations_DELETE;
DROP TRIGGER journal_foreign_meta_INSERT;
DROP TRIGGER journal_foreign_meta_UPDATE;
DROP TRIGGER journal_foreign_meta_DELETE;
DROP TRIGGER journal_foreign_teams_INSERT;
DROP TRIGGER journal_foreign_teams_UPDATE;
DROP TRIGGER journal_foreign_teams_DELETE;
DROP TRIGGER journal_foreign_users_INSERT;
DROP TRIGGER journal_foreign_users_UPDATE;
DROP TRIGGER journal_foreign_users_DELETE;
DROP TRIGGER journal_foreign_conversations_INSERT;
DROP TRIGGER journal_foreign_conversations_UPDATE;
DROP TRIGGER journal_foreign_conversations_DELETE;
DROP TRIGGER journal_foreign_messages_INSERT;
DROP TRIGGER journal_foreign_messages_UPDATE;
DROP TRIGGER journal_foreign_messages_DELETE;
DROP TRIGGER journal_foreign_tool_calls_INSERT;
DROP TRIGGER journal_foreign_tool_calls_UPDATE;
DROP TRIGGER journal_foreign_tool_calls_DELETE;
DROP TRIGGER journal_foreign_message_tombstones_INSERT;
DROP TRIGGER journal_foreign_message_tombstones_UPDATE;
DROP TRIGGER journal_foreign_message_tombstones_DELETE;
DROP TRIGGER journal_foreign_prices_INSERT;
DROP TRIGGER journal_foreign_prices_UPDATE;
DROP TRIGGER journal_foreign_prices_DELETE;
DROP TRIGGER journal_foreign_api_usage_INSERT;
DROP TRIGGER journal_foreign_api_usage_UPDATE;
DROP TRIGGER journal_foreign_api_usage_DELETE;
DROP TRIGGER journal_foreign_budgets_INSERT;
DROP TRIGGER journal_foreign_budgets_UPDATE;
DROP TRIGGER journal_foreign_budgets_DELETE;
DROP TRIGGER journal_foreign_budget_reservations_INSERT;
DROP TRIGGER journal_foreign_budget_reservations_UPDATE;
DROP TRIGGER journal_foreign_budget_reservations_DELETE;
DROP TRIGGER journal_foreign_change_journal_UPDATE;
 DROP TRIGGER journal_foreign_change_journal_DELETE;
DROP TABLE change_journal;
 DROP TABLE journal_state;
 DROP TABLE journal_consumers;
DROP INDEX messages_system;
 DROP INDEX tool_calls_call_id;
 DROP INDEX conversations_external_id;
DROP TABLE message_tombstones;
 ALTER TABLE messages DROP COLUMN raw;
ALTER TABLE conversations DROP COLUMN external_id;
 ALTER TABLE messages DROP COLUMN tool_call_id;
ALTER TABLE tool_calls DROP COLUMN call_id;
 ALTER TABLE tool_calls DROP COLUMN updated_at;
DROP INDEX metadata_unindexed_user;
 DROP INDEX metadata_unindexed_conversation;
ALTER TABLE metadata_unindexed DROP COLUMN user_id;
ALTER TABLE metadata_unindexed DROP COLUMN conversation_id;
DELETE FROM schema_migrations WHERE version > 3;
 PRAGMA user_version = 3;
