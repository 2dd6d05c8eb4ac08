// Migration 7: the audit log (src/ops/audit_log.h, docs/audit.md).
// - audit_log: the seed schema's audit entries (time, actor, action, resource, details, IP address, user agent)
//   hash-chained in sequence order. People appear by pseudonymous ids (actor_user, subject_user). The personal
//   fields (ip_address, user_agent, personal) and their salt can be removed by an erase: the chain covers their
//   salted hash (personal_hash), which stays.
// - audit_state: the log's random id (checkpoints name it) and where retention cut the chain (the last removed
//   entry and its hash, from which the kept chain continues).
// - user_pseudonyms: a user's pseudonymous id, minted when an audit entry (or an erase) first needs one. It is
//   random, not derived from the key, so nothing links it back to the person once the user is erased.
// - Triggers refuse UPDATE and DELETE of audit entries by any other program; convstore's connections run no
//   triggers and change entries only through retention (which records the cut) and erase (which removes personal
//   fields). The new journaled tables get the foreign-write triggers of migration 6.
#include <string>

#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV7Tables = R"sql(
CREATE TABLE user_pseudonyms (
  user_id INTEGER PRIMARY KEY,
  pseudonym TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  actor_user TEXT,
  subject_user TEXT,
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  details TEXT NOT NULL,
  ip_address TEXT,
  user_agent TEXT,
  personal TEXT,
  personal_salt BLOB,
  personal_hash BLOB,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor_user ON audit_log(actor_user) WHERE actor_user IS NOT NULL;
CREATE INDEX audit_log_subject_user ON audit_log(subject_user) WHERE subject_user IS NOT NULL;
CREATE INDEX audit_log_resource ON audit_log(resource_type, resource_id);
CREATE TABLE audit_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  log_id BLOB NOT NULL,
  pruned_through_seq INTEGER NOT NULL,
  pruned_through_hash BLOB,
  pruned_entries INTEGER NOT NULL
);
INSERT INTO audit_state(id, log_id, pruned_through_seq, pruned_entries) VALUES (1, randomblob(16), 0, 0);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: its entries change only through convstore'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: its entries change only through convstore'); END;
)sql";

std::string SchemaV7Sql() {
  return std::string(kSchemaV7Tables) + ForeignWriteTriggers({"user_pseudonyms", "audit_log", "audit_state"});
}

}  // namespace

Migration SchemaV7() {
  static const std::string sql = SchemaV7Sql();
  return {7, "audit log; pseudonymous user ids", sql.c_str()};
}

}  // namespace convstore::schema
