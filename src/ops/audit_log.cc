#include "ops/audit_log.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/audit_chain.h"
#include "sqlite/error.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

constexpr const char* kColumns =
    "seq, at, actor, actor_user, subject_user, action, resource_type, resource_id, details, ip_address, "
    "user_agent, personal, personal_salt, personal_hash, prev_hash, hash";

std::optional<std::string_view> OptText(const sqlite::Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Text(col);
}

std::optional<std::string_view> OptBlob(const sqlite::Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Blob(col);
}

std::optional<std::string_view> View(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}

AuditEntry EntryFrom(const sqlite::Stmt& st) {
  AuditEntry e;
  e.seq = st.Int(0);
  e.at = st.Int(1);
  e.actor = st.String(2);
  e.actor_user = st.String(3);
  e.subject_user = st.String(4);
  e.action = st.String(5);
  e.resource_type = st.String(6);
  e.resource_id = st.String(7);
  e.details_json = st.String(8);
  e.ip_address = st.String(9);
  e.user_agent = st.String(10);
  e.personal_json = st.String(11);
  e.personal_erased = st.IsNull(12) && !st.IsNull(13);
  e.prev_hash = ToHex(st.Blob(14));
  e.hash = ToHex(st.Blob(15));
  return e;
}

// Whether the details of the chain's last "audit.pruned" entry name the cut audit_state holds.
bool RecordsCut(const std::string& details, const AuditHead& head) {
  const nlohmann::json d = nlohmann::json::parse(details, nullptr, /*allow_exceptions=*/false);
  if (!d.is_object()) return false;
  auto seq = d.find("through_seq");
  auto hash = d.find("through_hash");
  return seq != d.end() && hash != d.end() && seq->is_number_integer() && hash->is_string() &&
         seq->get<int64_t>() == head.pruned_through_seq && hash->get<std::string>() == ToHex(head.pruned_through_hash);
}

struct Finalizer {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};

}  // namespace

Result<AuditHead> ReadAuditHead(sqlite::Connection& conn) {
  AuditHead head;
  auto state = conn.QueryRow(
      "SELECT log_id, pruned_through_seq, pruned_through_hash FROM audit_state WHERE id = 1", "audit: read the state",
      [&](const sqlite::Stmt& st) {
        head.log_id = std::string(st.Blob(0));
        head.pruned_through_seq = st.Int(1);
        head.pruned_through_hash = std::string(st.Blob(2));
        return true;
      });
  if (!state.ok()) return state.status();
  if (!*state || head.log_id.size() != kAuditLogIdBytes)
    return Status::Corruption("audit: the audit_state row is missing or damaged");
  auto last = conn.QueryRow("SELECT seq, at, hash FROM audit_log ORDER BY seq DESC LIMIT 1", "audit: read the head",
                            [&](const sqlite::Stmt& st) {
                              head.seq = st.Int(0);
                              head.at = st.Int(1);
                              head.hash = std::string(st.Blob(2));
                              return true;
                            });
  if (!last.ok()) return last.status();
  if (!*last) {  // empty, or every entry removed by retention: the chain continues from the cut
    head.seq = head.pruned_through_seq;
    head.hash = head.pruned_through_hash;
  }
  if (head.seq == 0) head.hash.assign(kAuditHashBytes, '\0');
  if (head.hash.size() != kAuditHashBytes)
    return Status::Corruption(fmt::format("audit: entry {} has a damaged hash", head.seq));
  return head;
}

Result<AuditEntry> AppendAudit(sqlite::Connection& conn, const AuditRecord& r, int64_t now) {
  auto head = ReadAuditHead(conn);
  if (!head.ok()) return head.status();
  const std::string& prev_hash = head->hash;

  // One per thread: a hasher fetches OpenSSL's SHA-256 implementation once, not on every entry.
  thread_local AuditHasher hasher;
  std::optional<std::string> salt, personal_hash;
  if (r.ip_address || r.user_agent || r.personal) {
    auto random = util::RandomBytes(kAuditSaltBytes);
    if (!random.ok()) return random.status();
    salt = std::move(*random);
    personal_hash = hasher.PersonalHash({*salt, View(r.ip_address), View(r.user_agent), View(r.personal)});
  }
  AuditChainFields f;
  f.seq = head->seq + 1;
  f.prev_hash = prev_hash;
  f.at = std::max(now, head->at);
  f.actor = r.actor;
  f.actor_user = View(r.actor_user);
  f.subject_user = View(r.subject_user);
  f.action = r.action;
  f.resource_type = r.resource_type;
  f.resource_id = r.resource_id;
  f.details = r.details;
  f.personal_hash = View(personal_hash);
  const std::string hash = hasher.EntryHash(f);

  auto st = conn.Prepare(
      "INSERT INTO audit_log(seq, at, actor, actor_user, subject_user, action, resource_type, resource_id, details, "
      "ip_address, user_agent, personal, personal_salt, personal_hash, prev_hash, hash) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  if (!st.ok()) return st.status();
  st->Bind(1, f.seq).Bind(2, f.at).Bind(3, r.actor);
  if (r.actor_user) st->Bind(4, *r.actor_user); else st->BindNull(4);
  if (r.subject_user) st->Bind(5, *r.subject_user); else st->BindNull(5);
  st->Bind(6, r.action).Bind(7, r.resource_type).Bind(8, r.resource_id).Bind(9, r.details);
  if (r.ip_address) st->Bind(10, *r.ip_address); else st->BindNull(10);
  if (r.user_agent) st->Bind(11, *r.user_agent); else st->BindNull(11);
  if (r.personal) st->Bind(12, *r.personal); else st->BindNull(12);
  if (salt) st->BindBlob(13, *salt); else st->BindNull(13);
  if (personal_hash) st->BindBlob(14, *personal_hash); else st->BindNull(14);
  st->BindBlob(15, prev_hash).BindBlob(16, hash);
  CONVSTORE_RETURN_IF_ERROR(st->Run("audit: append an entry"));

  AuditEntry e;
  e.seq = f.seq;
  e.at = f.at;
  e.actor = r.actor;
  e.actor_user = r.actor_user.value_or("");
  e.subject_user = r.subject_user.value_or("");
  e.action = r.action;
  e.resource_type = r.resource_type;
  e.resource_id = r.resource_id;
  e.details_json = r.details;
  e.personal_json = r.personal.value_or("");
  e.ip_address = r.ip_address.value_or("");
  e.user_agent = r.user_agent.value_or("");
  e.prev_hash = ToHex(prev_hash);
  e.hash = ToHex(hash);
  return e;
}

Result<int64_t> CountAuditAbout(sqlite::Connection& conn, std::string_view pseudonym) {
  auto n = conn.QueryInt(
      "SELECT count(*) FROM (SELECT seq FROM audit_log WHERE actor_user = ?1"
      " UNION SELECT seq FROM audit_log WHERE subject_user = ?1)",
      "count audit entries about a user", pseudonym);
  if (!n.ok()) return n.status();
  return n->value_or(0);
}

Result<AuditPage> ReadAudit(sqlite::Connection& conn, const AuditQuery& q,
                            const std::optional<std::string>& pseudonym) {
  // Times never decrease along the sequence, so a time range is a range of sequence numbers: found through the
  // index on `at`, then walked by seq.
  int64_t from_seq = q.after_seq + 1;
  std::optional<int64_t> to_seq;  // exclusive
  if (q.since) {
    auto first = conn.QueryInt("SELECT min(seq) FROM audit_log WHERE at >= ?1", "audit: find a time", *q.since);
    if (!first.ok()) return first.status();
    if (!first->has_value() || **first == 0) return AuditPage{};
    from_seq = std::max(from_seq, **first);
  }
  if (q.until) {
    auto end = conn.QueryInt("SELECT min(seq) FROM audit_log WHERE at >= ?1", "audit: find a time", *q.until);
    if (!end.ok()) return end.status();
    if (end->has_value() && **end != 0) to_seq = **end;
  }
  // Built from fixed fragments by which filters are given (every value bound), so each shape can use its index.
  std::string sql = fmt::format("SELECT {} FROM audit_log WHERE seq >= ?1", kColumns);
  if (to_seq) sql += " AND seq < ?2";
  if (!q.action.empty()) sql += " AND action = ?3";
  if (!q.resource_type.empty()) sql += " AND resource_type = ?4";
  if (!q.resource_id.empty()) sql += " AND resource_id = ?5";
  if (!q.actor.empty()) sql += " AND actor = ?6";
  if (pseudonym)
    sql += " AND seq IN (SELECT seq FROM audit_log WHERE actor_user = ?7"
           " UNION SELECT seq FROM audit_log WHERE subject_user = ?7)";
  sql += " ORDER BY seq LIMIT ?8";
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(conn.raw(), sql.c_str(), -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, Finalizer> owned(raw);
  if (rc != SQLITE_OK) return sqlite::FromSqlite(rc, conn.raw(), "audit: read entries");
  sqlite::Stmt st(raw, conn.raw());
  st.Bind(1, from_seq);
  if (to_seq) st.Bind(2, *to_seq);
  if (!q.action.empty()) st.Bind(3, q.action);
  if (!q.resource_type.empty()) st.Bind(4, q.resource_type);
  if (!q.resource_id.empty()) st.Bind(5, q.resource_id);
  if (!q.actor.empty()) st.Bind(6, q.actor);
  if (pseudonym) st.Bind(7, *pseudonym);
  st.Bind(8, q.limit + 1);
  AuditPage page;
  for (;;) {
    auto row = st.Step("audit: read entries");
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (static_cast<int64_t>(page.entries.size()) == q.limit) {
      page.next_after_seq = page.entries.back().seq;
      break;
    }
    page.entries.push_back(EntryFrom(st));
  }
  return page;
}

Result<AuditPruneReport> PruneAudit(sqlite::Connection& conn, int64_t before_at, int64_t max_entries,
                                    const std::string& actor, int64_t now) {
  AuditPruneReport report;
  std::string through_hash;
  auto cut = conn.QueryRow(
      "SELECT seq, hash, (SELECT count(*) FROM audit_log WHERE seq <= c.last) FROM audit_log, "
      "(SELECT max(seq) AS last FROM (SELECT seq FROM audit_log WHERE at < ?1 "
      "AND seq < (SELECT max(seq) FROM audit_log) ORDER BY seq LIMIT ?2)) AS c WHERE seq = c.last",
      "audit: find the entries to remove",
      [&](const sqlite::Stmt& st) {
        report.through_seq = st.Int(0);
        through_hash = std::string(st.Blob(1));
        report.removed = st.Int(2);
        return true;
      },
      before_at, max_entries);
  if (!cut.ok()) return cut.status();
  if (!*cut || report.removed == 0) return AuditPruneReport{};
  if (through_hash.size() != kAuditHashBytes)
    return Status::Corruption(fmt::format("audit: entry {} has a damaged hash", report.through_seq));
  CONVSTORE_RETURN_IF_ERROR(conn.Run("DELETE FROM audit_log WHERE seq <= ?1", "audit: remove old entries",
                                     report.through_seq));
  auto state = conn.Prepare(
      "UPDATE audit_state SET pruned_through_seq = ?1, pruned_through_hash = ?2, "
      "pruned_entries = pruned_entries + ?3 WHERE id = 1");
  if (!state.ok()) return state.status();
  state->Bind(1, report.through_seq).BindBlob(2, through_hash).Bind(3, report.removed);
  CONVSTORE_RETURN_IF_ERROR(state->Run("audit: record the cut"));
  AuditRecord r;
  r.actor = actor;
  r.action = "audit.pruned";
  r.resource_type = "audit_log";
  r.details = fmt::format(R"({{"entries":{},"through_hash":"{}","through_seq":{}}})", report.removed,
                          ToHex(through_hash), report.through_seq);
  auto entry = AppendAudit(conn, r, now);
  if (!entry.ok()) return entry.status();
  return report;
}

Result<std::optional<std::string>> AuditEntryHash(sqlite::Connection& conn, int64_t seq) {
  auto hash = conn.QueryRow("SELECT hash FROM audit_log WHERE seq = ?1", "audit: read an entry",
                            [](const sqlite::Stmt& st) { return std::string(st.Blob(0)); }, seq);
  if (!hash.ok()) return hash.status();
  return *hash;
}

Result<AuditVerification> VerifyAuditChain(sqlite::Connection& conn) {
  auto head = ReadAuditHead(conn);
  if (!head.ok()) return head.status();
  AuditVerification v;
  int64_t expected_seq = head->pruned_through_seq + 1;
  std::string prev = head->pruned_through_seq == 0 ? std::string(kAuditHashBytes, '\0') : head->pruned_through_hash;
  if (prev.size() != kAuditHashBytes) {
    v.ok = false;
    v.first_bad_seq = expected_seq;
    v.problem = "the hash recorded where retention cut the chain is damaged";
    return v;
  }
  // The cut must be the one the log itself recorded: retention appends an "audit.pruned" entry naming it, and
  // that entry is inside the chain, so moving the cut (removing more entries) breaks either the chain or this.
  std::string recorded_cut;
  int64_t recorded_cut_seq = 0;

  AuditHasher hasher;
  auto fail = [&](int64_t seq, std::string problem) {
    v.ok = false;
    v.first_bad_seq = seq;
    v.problem = std::move(problem);
  };
  auto walked = conn.ForEachRow(
      "SELECT seq, at, actor, actor_user, subject_user, action, resource_type, resource_id, details, ip_address, "
      "user_agent, personal, personal_salt, personal_hash, prev_hash, hash FROM audit_log ORDER BY seq",
      "audit: verify the chain", [&](const sqlite::Stmt& st) {
        const int64_t seq = st.Int(0);
        if (v.first_seq == 0) v.first_seq = seq;
        if (seq != expected_seq) {
          fail(seq, fmt::format("entry {} follows entry {}: entries {} to {} are missing", seq, expected_seq - 1,
                                expected_seq, seq - 1));
          return false;
        }
        if (st.Blob(14) != std::string_view(prev)) {
          fail(seq, "its previous-entry hash is not the hash of the entry before it");
          return false;
        }
        std::optional<std::string> personal_hash;
        const bool has_salt = !st.IsNull(12);
        const bool has_personal = !st.IsNull(9) || !st.IsNull(10) || !st.IsNull(11);
        if (!st.IsNull(13) && st.Blob(13).size() != kAuditHashBytes) {
          fail(seq, "its personal-field hash is damaged");
          return false;
        }
        if (has_salt) {
          const std::string h =
              hasher.PersonalHash({st.Blob(12), OptText(st, 9), OptText(st, 10), OptText(st, 11)});
          if (st.IsNull(13) || st.Blob(13) != std::string_view(h)) {
            fail(seq, "its IP address, user agent or personal details were changed");
            return false;
          }
        } else if (has_personal) {
          fail(seq, "it holds personal fields without their salt");
          return false;
        } else if (!st.IsNull(13)) {
          ++v.personal_erased;
        }
        AuditChainFields f;
        f.seq = seq;
        f.prev_hash = prev;
        f.at = st.Int(1);
        f.actor = st.Text(2);
        f.actor_user = OptText(st, 3);
        f.subject_user = OptText(st, 4);
        f.action = st.Text(5);
        f.resource_type = st.Text(6);
        f.resource_id = st.Text(7);
        f.details = st.Text(8);
        f.personal_hash = OptBlob(st, 13);
        const std::string hash = hasher.EntryHash(f);
        if (st.Blob(15) != std::string_view(hash)) {
          fail(seq, "its fields do not match its hash (the entry was changed)");
          return false;
        }
        if (f.action == "audit.pruned") {
          recorded_cut = std::string(f.details);
          recorded_cut_seq = seq;
        }
        prev = hash;
        ++expected_seq;
        ++v.entries_checked;
        return true;
      });
  if (!walked.ok()) return walked.status();
  v.last_seq = expected_seq - 1;
  if (v.first_seq == 0) v.first_seq = expected_seq;
  v.head_hash = v.last_seq == 0 ? "" : ToHex(prev);
  if (v.ok && head->pruned_through_seq > 0 && !RecordsCut(recorded_cut, *head))
    fail(head->pruned_through_seq + 1,
         fmt::format("entries up to {} were removed, but no retention entry of the chain records that cut",
                     head->pruned_through_seq));
  return v;
}

const std::map<std::string, sqlite::Value>& AuditStrippedValues() {
  static const std::map<std::string, sqlite::Value> values = {{"ip_address", sqlite::Value::Null()},
                                                              {"user_agent", sqlite::Value::Null()},
                                                              {"personal", sqlite::Value::Null()},
                                                              {"personal_salt", sqlite::Value::Null()}};
  return values;
}

Result<std::vector<int64_t>> StripAuditPersonal(sqlite::Connection& conn, std::string_view pseudonym) {
  std::vector<int64_t> seqs;
  auto walked = conn.ForEachRow(
      "UPDATE audit_log SET ip_address = NULL, user_agent = NULL, personal = NULL, personal_salt = NULL"
      " WHERE (actor_user = ?1 OR subject_user = ?1) AND personal_salt IS NOT NULL RETURNING seq",
      "audit: remove a person's personal fields",
      [&](const sqlite::Stmt& st) {
        seqs.push_back(st.Int(0));
        return true;
      },
      pseudonym);
  if (!walked.ok()) return walked.status();
  return seqs;
}

}  // namespace convstore::ops
