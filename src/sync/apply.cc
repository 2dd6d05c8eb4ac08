#include "sync/apply.h"

#include <sqlite3.h>

#include <map>

#include "sync/pg_schema.h"
#include "sync/table_map.h"
#include "util/json_writer.h"
#include "util/status_macros.h"
#include "util/time.h"
#include "util/utf8.h"

namespace convstore::sync {
namespace {

int IndexOf(const std::vector<std::string>& names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

// The value of column `name` in `row` (undefined when the record is narrower or the column unknown).
const sqlite::Value* Field(const std::vector<sqlite::Value>& row, const std::vector<std::string>& names,
                           std::string_view name) {
  const int i = IndexOf(names, name);
  if (i < 0 || static_cast<size_t>(i) >= row.size() || row[static_cast<size_t>(i)].type == sqlite::Value::kUndefined)
    return nullptr;
  return &row[static_cast<size_t>(i)];
}

void AppendValue(util::JsonWriter& w, const sqlite::Value& v) {
  switch (v.type) {
    case sqlite::Value::kInteger: w.Int(v.i); break;
    case sqlite::Value::kFloat: w.Double(v.f); break;
    case sqlite::Value::kText:
      if (util::IsValidUtf8(v.bytes)) {
        w.String(v.bytes);
        break;
      }
      [[fallthrough]];  // bytes that are not UTF-8 (written by another program) as hex, like a blob
    case sqlite::Value::kBlob: {
      static const char* kHex = "0123456789abcdef";
      std::string hex = "x'";
      for (unsigned char c : v.bytes) hex += {kHex[c >> 4], kHex[c & 15]};
      w.String(hex + "'");
      break;
    }
    default: w.Null(); break;
  }
}

void AppendRow(util::JsonWriter& w, const std::vector<sqlite::Value>& row, const std::vector<std::string>& names) {
  w.BeginObject();
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i].type == sqlite::Value::kUndefined) continue;
    w.Key(i < names.size() ? names[i] : "column " + std::to_string(i));
    AppendValue(w, row[i]);
  }
  w.EndObject();
}

const char* OpName(int op) { return op == kOpInsert ? "insert" : op == kOpUpdate ? "update" : "delete"; }

}  // namespace

bool IsRowRefusal(const std::string& sqlstate) {
  if (sqlstate.size() != 5) return false;
  const std::string cls = sqlstate.substr(0, 2);
  // Data exceptions, integrity constraints, a view's check option, and an exception raised by a trigger someone
  // added on the PostgreSQL side: each about this row.
  return cls == "22" || cls == "23" || cls == "44" || cls == "P0";
}

std::string ChangeJson(const RowChange& change, const std::vector<std::string>& names) {
  util::JsonWriter w;
  w.BeginObject().Key("table").String(change.table).Key("op").String(OpName(change.op));
  if (!change.before.empty()) {
    w.Key("before");
    AppendRow(w, change.before, names);
  }
  if (!change.after.empty()) {
    w.Key("after");
    AppendRow(w, change.after, names);
  }
  w.EndObject();
  return w.Take();
}

Result<SourceColumns> ReadSourceColumns(sqlite::Connection& conn) {
  SourceColumns out;
  for (const TableMap& t : SyncedTables()) {
    std::vector<std::string> names;
    sqlite3_stmt* st = nullptr;
    const std::string sql = "SELECT name FROM pragma_table_info('" + std::string(t.source) + "') ORDER BY cid";
    if (sqlite3_prepare_v2(conn.raw(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      return Status::Internal(std::string("reading the columns of ") + std::string(t.source) + ": " +
                              sqlite3_errmsg(conn.raw()));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Status::IoError("reading the columns of " + std::string(t.source));
    out.emplace(std::string(t.source), std::move(names));
  }
  return out;
}

Applier::Applier(PgConnection& pg, std::string schema, std::string store_id)
    : pg_(pg), schema_(std::move(schema)), q_(QuoteIdentifier(schema_)), store_id_(std::move(store_id)) {}

Status Applier::EnsurePartitions(const SourceColumns& columns, const std::vector<SourceEntry>& entries) {
  std::map<std::string_view, std::set<int64_t>> wanted;
  for (const SourceEntry& e : entries) {
    for (const RowChange& c : e.changes) {
      const TableMap* t = FindSyncedTable(c.table);
      if (t == nullptr || t->month_column.empty() || c.op == kOpDelete) continue;
      auto names = columns.find(c.table);
      if (names == columns.end()) continue;
      const sqlite::Value* v = Field(c.after, names->second, t->month_column);
      if (v != nullptr && v->type == sqlite::Value::kInteger) {
        const int64_t month = util::MonthStartMicros(v->i);
        if (!months_.count({std::string(t->target), month})) wanted[t->target].insert(month);
      }
    }
  }
  for (const auto& [table, months] : wanted) CONVSTORE_RETURN_IF_ERROR(EnsureMonths(table, months));
  return Status::OK();
}

Status Applier::EnsureMonths(std::string_view table, const std::set<int64_t>& wanted) {
  for (int64_t month : wanted) {
    if (months_.count({std::string(table), month})) continue;
    // Its own short transaction: the partition lock is not held through a batch.
    CONVSTORE_RETURN_IF_ERROR(pg_.Exec("BEGIN"));
    Status s = EnsureMonthPartition(pg_, schema_, std::string(table), month);
    if (s.ok()) s = pg_.Exec("COMMIT");
    if (!s.ok()) {
      (void)pg_.Exec("ROLLBACK");
      return s;
    }
    months_.insert({std::string(table), month});
  }
  return Status::OK();
}

Result<Applier::Outcome> Applier::ApplyChange(const std::vector<std::string>& names, const RowChange& change) {
  Outcome outcome;
  const TableMap* t = FindSyncedTable(change.table);
  if (t == nullptr) return outcome;  // not a synced table (meta, schema_migrations)
  const std::string table = q_ + "." + QuoteIdentifier(t->target);
  const std::vector<sqlite::Value>& key_row = change.op == kOpInsert ? change.after : change.before;
  const sqlite::Value* key = Field(key_row, names, t->key);
  if (key == nullptr || key->type != sqlite::Value::kInteger) {
    outcome.dead = true;
    outcome.reason = "the change has no integer row id";
    return outcome;
  }
  PgParams params{store_id_, std::to_string(key->i)};

  if (change.op == kOpDelete) {
    auto n = pg_.Run("DELETE FROM " + table + " WHERE store_id = $1 AND src_id = $2", params);
    if (!n.ok()) {
      if (!IsRowRefusal(pg_.sqlstate())) return n.status();
      return Outcome{true, n.status().message(), pg_.sqlstate()};
    }
    return outcome;  // 0 rows: already gone (a cascade from its parent's delete)
  }

  std::string assignments, nul_members, nul_columns;
  std::vector<std::string> targets, values;
  const std::vector<sqlite::Value>& row = change.after;
  for (size_t ci = 1; ci < t->columns.size(); ++ci) {  // columns[0] is the row id
    const ColumnMap& c = t->columns[ci];
    const sqlite::Value* v = Field(row, names, c.source);
    if (v == nullptr) continue;  // an update that leaves it as it was, or a column this entry predates
    std::optional<std::string> text;
    bool had_nul = false;
    Status conv = ToPgText(*v, c, &text, &had_nul);
    if (!conv.ok()) return Outcome{true, conv.message(), ""};
    if (had_nul) AppendNulOriginal(&nul_members, c.target, v->bytes);
    if (c.kind == ColumnKind::kText || c.kind == ColumnKind::kJson || c.kind == ColumnKind::kUuid)
      nul_columns += (nul_columns.empty() ? "" : ",") + std::string(c.target);
    params.push_back(std::move(text));
    std::string value = "$" + std::to_string(params.size());
    if (c.kind == ColumnKind::kLookup) {
      const TableMap* other = FindSyncedTable(c.table);
      value = "(SELECT " + QuoteIdentifier(c.pg_column) + " FROM " + q_ + "." + QuoteIdentifier(other->target) +
              " WHERE store_id = $1 AND src_id = " + value + ")";
    }
    targets.push_back(QuoteIdentifier(c.target));
    values.push_back(std::move(value));
  }
  std::string sql;
  if (change.op == kOpInsert) {
    params.push_back(nul_members.empty() ? std::nullopt : std::optional<std::string>("{" + nul_members + "}"));
    sql = "INSERT INTO " + table + " (store_id, src_id";
    for (const std::string& c : targets) sql += ", " + c;
    sql += ", convstore_nul) VALUES ($1, $2";
    for (const std::string& v : values) sql += ", " + v;
    sql += ", $" + std::to_string(params.size()) + "::jsonb)";
  } else {
    if (targets.empty()) return outcome;  // only columns PostgreSQL does not keep changed
    sql = "UPDATE " + table + " SET ";
    for (size_t i = 0; i < targets.size(); ++i) sql += (i ? ", " : "") + targets[i] + " = " + values[i];
    if (!nul_columns.empty()) {
      params.push_back("{" + nul_columns + "}");
      params.push_back("{" + nul_members + "}");
      sql += ", convstore_nul = nullif((coalesce(convstore_nul, '{}'::jsonb) - $" + std::to_string(params.size() - 1) +
             "::text[]) || $" + std::to_string(params.size()) + "::jsonb, '{}'::jsonb)";
    }
    sql += " WHERE store_id = $1 AND src_id = $2";
  }
  auto n = pg_.Run(sql, params);
  if (!n.ok()) {
    if (!IsRowRefusal(pg_.sqlstate())) return n.status();
    return Outcome{true, n.status().message(), pg_.sqlstate()};
  }
  if (change.op == kOpUpdate && *n == 0)
    return Outcome{true, "the row is not in PostgreSQL (its insert was refused earlier?)", ""};
  return outcome;
}

Status Applier::RecordDeadLetter(const SourceEntry& entry, const RowChange& change,
                                 const std::vector<std::string>& names, const Outcome& outcome) {
  const std::vector<sqlite::Value>& key_row = change.op == kOpInsert ? change.after : change.before;
  const TableMap* t = FindSyncedTable(change.table);
  const sqlite::Value* key = Field(key_row, names, t ? t->key : std::string_view("id"));
  std::optional<std::string> src;
  if (key != nullptr && key->type == sqlite::Value::kInteger) src = std::to_string(key->i);
  const std::string sql = "INSERT INTO " + q_ +
                          ".convstore_dead_letters (store_id, seq, source_table, op, src_id, change, sqlstate, reason) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
  const std::string table = t ? std::string(t->source) : std::string("(not a synced table)");
  // Under its own savepoint: a dead letter PostgreSQL refuses too (a trigger on the table, say) is recorded again
  // without the change, so it never stalls the sync.
  CONVSTORE_RETURN_IF_ERROR(pg_.Exec("SAVEPOINT convstore_dead_letter"));
  auto n = pg_.Run(sql, {store_id_, std::to_string(entry.seq), table, OpName(change.op), src, ChangeJson(change, names),
                         outcome.sqlstate, outcome.reason});
  if (!n.ok()) {
    if (!IsRowRefusal(pg_.sqlstate())) return n.status();
    CONVSTORE_RETURN_IF_ERROR(pg_.Exec("ROLLBACK TO SAVEPOINT convstore_dead_letter"));
    n = pg_.Run(sql, {store_id_, std::to_string(entry.seq), table, OpName(change.op), src, std::string("{}"),
                      outcome.sqlstate, "the change could not be recorded either (" + pg_.sqlstate() + ")"});
    if (!n.ok()) return n.status();
  }
  return pg_.Exec("RELEASE SAVEPOINT convstore_dead_letter");
}

namespace {

// Adds the source row id of the conversation whose counters `c` may change: a conversation written, or a message
// inserted into or moved out of one.
void NoteConversation(const SourceColumns& columns, const RowChange& c, std::set<int64_t>& out) {
  const std::vector<sqlite::Value>& row = c.op == kOpInsert ? c.after : c.before;
  if (c.table == "conversations") {
    if (!row.empty() && row[0].type == sqlite::Value::kInteger) out.insert(row[0].i);
    return;
  }
  if (c.table != "messages" || c.op == kOpUpdate) return;
  auto names = columns.find("messages");
  if (names == columns.end()) return;
  const int at = IndexOf(names->second, "conversation_id");
  if (at >= 0 && static_cast<size_t>(at) < row.size() && row[at].type == sqlite::Value::kInteger)
    out.insert(row[at].i);
}

}  // namespace

Status Applier::RecountConversations(const std::vector<int64_t>* src_ids) {
  std::string ids = "{";
  if (src_ids) {
    if (src_ids->empty()) return Status::OK();
    for (size_t i = 0; i < src_ids->size(); ++i) ids += (i ? "," : "") + std::to_string((*src_ids)[i]);
  }
  ids += "}";
  const std::string sql =
      "UPDATE " + q_ + ".conversations c SET message_count = c.src_message_count + p.n,"
      " next_position = greatest(c.src_next_position, p.next), tokens_input = c.src_tokens_input + p.ti,"
      " tokens_output = c.src_tokens_output + p.tout, tokens_cached_input = c.src_tokens_cached_input + p.tc,"
      " tokens_reasoning = c.src_tokens_reasoning + p.tr, tokens_cache_write = c.src_tokens_cache_write + p.tw,"
      " cost_nanousd = c.src_cost_nanousd + p.cost, updated_at_us = greatest(c.src_updated_at_us, p.newest)"
      " FROM (SELECT c2.src_id, count(m.src_id) AS n, coalesce(max(m.position) + 1, 0) AS next,"
      "   coalesce(sum(m.tokens_input), 0) AS ti, coalesce(sum(m.tokens_output), 0) AS tout,"
      "   coalesce(sum(m.tokens_cached_input), 0) AS tc, coalesce(sum(m.tokens_reasoning), 0) AS tr,"
      "   coalesce(sum(m.tokens_cache_write), 0) AS tw, coalesce(sum(m.cost_nanousd), 0) AS cost,"
      "   coalesce(max((extract(epoch FROM m.created_at) * 1000000)::bigint), 0) AS newest"
      "   FROM " + q_ + ".conversations c2 LEFT JOIN " + q_ + ".messages m ON m.store_id = c2.store_id"
      "   AND m.conversation_src = c2.src_id AND m.position >= c2.src_next_position"
      "   WHERE c2.store_id = $1 AND ($2::bigint[] IS NULL OR c2.src_id = ANY($2::bigint[])) GROUP BY c2.src_id) p"
      " WHERE c.store_id = $1 AND c.src_id = p.src_id";
  return pg_.Run(sql, {store_id_, src_ids ? std::optional<std::string>(ids) : std::nullopt}).status();
}

Status Applier::Attempt(const SourceColumns& columns, const std::vector<SourceEntry>& entries, int64_t from_seq,
                        bool savepoints, ApplyCounts* counts, bool* refused) {
  *counts = ApplyCounts{};
  *refused = false;
  CONVSTORE_RETURN_IF_ERROR(pg_.Exec("BEGIN"));
  auto position = pg_.Query("SELECT position FROM " + q_ + ".convstore_stores WHERE store_id = $1 FOR UPDATE",
                            {store_id_});
  if (!position.ok()) return position.status();
  if (position->rows() == 0 || position->Int(0, 0, -1) != from_seq)
    return Status::Conflict("the sync position of store " + store_id_ + " in " + pg_.describe() + " is " +
                            (position->rows() ? std::to_string(position->Int(0, 0)) : std::string("missing")) +
                            ", not " + std::to_string(from_seq) + ": another sync of this store moved it");
  static const std::vector<std::string> kNoNames;
  std::set<int64_t> touched;  // conversations whose counters the batch may change
  for (const SourceEntry& e : entries) {
    for (const RowChange& c : e.changes) {
      auto names_it = columns.find(c.table);
      const std::vector<std::string>& names = names_it == columns.end() ? kNoNames : names_it->second;
      if (savepoints) CONVSTORE_RETURN_IF_ERROR(pg_.Exec("SAVEPOINT convstore_change"));
      auto outcome = ApplyChange(names, c);
      if (!outcome.ok()) return outcome.status();
      if (outcome->dead) {
        // A refusal by the server aborts the transaction: without savepoints the batch starts over with them.
        if (!outcome->sqlstate.empty() && !savepoints) {
          *refused = true;
          return Status::InvalidArgument(outcome->reason);
        }
        if (savepoints && !outcome->sqlstate.empty())
          CONVSTORE_RETURN_IF_ERROR(pg_.Exec("ROLLBACK TO SAVEPOINT convstore_change"));
        CONVSTORE_RETURN_IF_ERROR(RecordDeadLetter(e, c, names, *outcome));
        ++counts->dead_letters;
      }
      if (savepoints) CONVSTORE_RETURN_IF_ERROR(pg_.Exec("RELEASE SAVEPOINT convstore_change"));
      ++counts->changes;
      NoteConversation(columns, c, touched);
    }
    ++counts->entries;
  }
  const std::vector<int64_t> recount(touched.begin(), touched.end());
  CONVSTORE_RETURN_IF_ERROR(RecountConversations(&recount));
  const SourceEntry& last = entries.back();
  CONVSTORE_RETURN_IF_ERROR(
      pg_.Run("UPDATE " + q_ +
                  ".convstore_stores SET position = $2, position_committed_us = $3, position_committed_at = $4, "
                  "source_schema_version = $5, synced_at = now() WHERE store_id = $1",
              {store_id_, std::to_string(last.seq), std::to_string(last.committed_at),
               util::FormatIso8601(last.committed_at), std::to_string(last.schema_version)})
          .status());
  return pg_.Exec("COMMIT");
}

Result<ApplyCounts> Applier::ApplyInTransaction(const SourceColumns& columns, const SourceEntry& entry) {
  ApplyCounts counts;
  static const std::vector<std::string> kNoNames;
  for (const RowChange& c : entry.changes) {
    auto names_it = columns.find(c.table);
    const std::vector<std::string>& names = names_it == columns.end() ? kNoNames : names_it->second;
    CONVSTORE_RETURN_IF_ERROR(pg_.Exec("SAVEPOINT convstore_change"));
    auto outcome = ApplyChange(names, c);
    if (!outcome.ok()) return outcome.status();
    if (outcome->dead) {
      if (!outcome->sqlstate.empty()) CONVSTORE_RETURN_IF_ERROR(pg_.Exec("ROLLBACK TO SAVEPOINT convstore_change"));
      CONVSTORE_RETURN_IF_ERROR(RecordDeadLetter(entry, c, names, *outcome));
      ++counts.dead_letters;
    }
    CONVSTORE_RETURN_IF_ERROR(pg_.Exec("RELEASE SAVEPOINT convstore_change"));
    ++counts.changes;
  }
  return counts;
}

Result<ApplyCounts> Applier::Apply(const SourceColumns& columns, const std::vector<SourceEntry>& entries,
                                   int64_t from_seq) {
  ApplyCounts counts;
  if (entries.empty()) return counts;
  CONVSTORE_RETURN_IF_ERROR(EnsurePartitions(columns, entries));
  bool refused = false;
  Status s = Attempt(columns, entries, from_seq, /*savepoints=*/false, &counts, &refused);
  if (!s.ok() && pg_.healthy()) (void)pg_.Exec("ROLLBACK");
  if (s.ok()) return counts;
  if (!refused) return s;
  s = Attempt(columns, entries, from_seq, /*savepoints=*/true, &counts, &refused);
  if (!s.ok()) {
    if (pg_.healthy()) (void)pg_.Exec("ROLLBACK");
    return s;
  }
  return counts;
}

}  // namespace convstore::sync
