#include "ops/journal.h"
#include "ops/journal_tables.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <memory>
#include <string>

#include "ops/changeset.h"
#include "sqlite/error.h"
#include "util/json_writer.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

struct Last {
  int64_t seq = 0;
  Micros committed_at = 0;
};

Result<Last> ReadLast(sqlite::Connection& conn) {
  auto row = conn.QueryRow("SELECT seq, committed_at FROM change_journal ORDER BY seq DESC LIMIT 1",
                           "journal: read the last entry",
                           [](const sqlite::Stmt& st) { return Last{st.Int(0), st.Int(1)}; });
  if (!row.ok()) return row.status();
  return row->value_or(Last{});
}

void WriteValue(util::JsonWriter& w, const Value& v) {
  switch (v.type) {
    case Value::kInteger: w.Int(v.i); break;
    case Value::kFloat: w.Double(v.f); break;
    case Value::kText: w.String(v.bytes); break;
    case Value::kBlob: {
      static const char kHex[] = "0123456789abcdef";
      std::string hex;
      hex.reserve(v.bytes.size() * 2);
      for (unsigned char b : v.bytes) {
        hex.push_back(kHex[b >> 4]);
        hex.push_back(kHex[b & 15]);
      }
      w.BeginObject().Key("$blob").String(hex).EndObject();
      break;
    }
    default: w.Null(); break;
  }
}

// Columns 0..3 of a change_journal row (seq, committed_at, kind, schema_version); kCorruption for a kind this build
// does not know.
struct Header {
  int64_t seq;
  Micros committed_at;
  EntryKind kind;
  int schema_version;
};

Result<Header> HeaderOf(const sqlite::Stmt& st) {
  const int64_t kind = st.Int(2);
  if (kind < 0 || kind > static_cast<int64_t>(EntryKind::kErasure))
    return Status::Corruption(fmt::format("journal: entry {} has an unknown kind {}", st.Int(0), kind));
  return Header{st.Int(0), st.Int(1), static_cast<EntryKind>(kind), static_cast<int>(st.Int(3))};
}

Status Insert(sqlite::Connection& conn, int64_t seq, Micros committed_at, EntryKind kind, int schema_version,
              std::string_view changes) {
  auto st = conn.Prepare(
      "INSERT INTO change_journal(seq, committed_at, kind, schema_version, changes) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!st.ok()) return st.status();
  st->Bind(1, seq).Bind(2, committed_at).Bind(3, static_cast<int64_t>(kind));
  st->Bind(4, static_cast<int64_t>(schema_version));
  if (CarriesChanges(kind)) st->BindBlob(5, changes);
  else st->BindNull(5);
  return st->Run("journal: append an entry");
}

std::string ColumnName(const std::vector<std::string>& names, int c) {
  return c < static_cast<int>(names.size()) ? names[c] : fmt::format("column{}", c);
}

}  // namespace

Result<bool> JournalEnabled(sqlite::Connection& conn) {
  auto enabled = conn.QueryInt("SELECT enabled FROM journal_state WHERE id = 1", "journal: read its state");
  if (!enabled.ok()) return enabled.status();
  return enabled->value_or(1) != 0;
}

Status AppendEntry(sqlite::Connection& conn, EntryKind kind, Micros now, int schema_version,
                   std::string_view changes) {
  auto last = ReadLast(conn);
  if (!last.ok()) return last.status();
  return Insert(conn, last->seq + 1, std::max(now, last->committed_at), kind, schema_version, changes);
}

Status DecodeChanges(sqlite::Connection& conn, std::string_view changes, std::vector<JournalChange>* out) {
  TableColumns columns(conn);
  Status failed;
  std::string error;
  const bool ok = ReadChangeset(changes, &error, [&](const Change& c) {
    auto names = columns.Of(c.table);
    if (!names.ok()) {
      failed = names.status();
      return false;
    }
    JournalChange change;
    change.table = std::string(c.table);
    change.op = c.op == SQLITE_INSERT ? ChangeOp::kInsert : c.op == SQLITE_UPDATE ? ChangeOp::kUpdate : ChangeOp::kDelete;
    util::JsonWriter key, before, after;
    key.BeginObject();
    before.BeginObject();
    after.BeginObject();
    for (size_t col = 0; col < c.pk->size(); ++col) {
      const std::string name = ColumnName(**names, static_cast<int>(col));
      const bool pk = (*c.pk)[col];
      if (pk) WriteValue(key.Key(name), c.op == SQLITE_INSERT ? c.after[col] : c.before[col]);
      if (c.op != SQLITE_INSERT && c.before[col].type != Value::kUndefined && !(c.op == SQLITE_UPDATE && pk))
        WriteValue(before.Key(name), c.before[col]);
      if (c.op != SQLITE_DELETE && c.after[col].type != Value::kUndefined) WriteValue(after.Key(name), c.after[col]);
    }
    change.key_json = key.EndObject().Take();
    if (c.op != SQLITE_INSERT) change.old_json = before.EndObject().Take();
    if (c.op != SQLITE_DELETE) change.new_json = after.EndObject().Take();
    out->push_back(std::move(change));
    return true;
  });
  CONVSTORE_RETURN_IF_ERROR(failed);
  if (!ok) return Status::Corruption(fmt::format("journal: a changeset does not decode ({})", error));
  return Status::OK();
}

Result<std::vector<JournalEntry>> ReadEntries(sqlite::Connection& conn, const JournalQuery& query) {
  std::vector<JournalEntry> entries;
  Status failed;
  auto rows = conn.ForEachRow(
      "SELECT seq, committed_at, kind, schema_version, CASE WHEN ?5 THEN changes END, length(changes) "
      "FROM change_journal WHERE seq > ?1 AND committed_at >= ?2 AND committed_at <= ?3 ORDER BY seq LIMIT ?4",
      "journal: read entries",
      [&](const sqlite::Stmt& st) {
        auto header = HeaderOf(st);
        if (!header.ok()) {
          failed = header.status();
          return false;
        }
        JournalEntry e;
        e.seq = header->seq;
        e.committed_at = header->committed_at;
        e.kind = header->kind;
        e.schema_version = header->schema_version;
        e.bytes = st.Int(5);
        if (query.decode && CarriesChanges(e.kind)) {
          if (Status s = DecodeChanges(conn, st.Blob(4), &e.changes); !s.ok()) {
            failed = Status(s.code(), fmt::format("{} (entry {})", s.message(), e.seq));
            return false;
          }
        }
        entries.push_back(std::move(e));
        return true;
      },
      query.after_seq, query.since.value_or(INT64_MIN), query.until.value_or(INT64_MAX), query.limit,
      int64_t{query.decode ? 1 : 0});
  if (!rows.ok()) return rows.status();
  CONVSTORE_RETURN_IF_ERROR(failed);
  return entries;
}

Result<std::vector<StoredEntry>> ReadStoredEntries(sqlite::Connection& conn, int64_t after_seq, int64_t max_entries,
                                                   int64_t max_bytes) {
  std::vector<StoredEntry> entries;
  int64_t bytes = 0;
  Status failed;
  auto rows = conn.ForEachRow(
      "SELECT seq, committed_at, kind, schema_version, changes FROM change_journal WHERE seq > ?1 ORDER BY seq "
      "LIMIT ?2",
      "journal: read stored entries",
      [&](const sqlite::Stmt& st) {
        auto header = HeaderOf(st);
        if (!header.ok()) {
          failed = header.status();
          return false;
        }
        StoredEntry e{header->seq, header->committed_at, header->kind, header->schema_version, std::string(st.Blob(4))};
        bytes += static_cast<int64_t>(e.changes.size());
        entries.push_back(std::move(e));
        return bytes < max_bytes;
      },
      after_seq, max_entries);
  if (!rows.ok()) return rows.status();
  CONVSTORE_RETURN_IF_ERROR(failed);
  return entries;
}

Status InsertStoredEntry(sqlite::Connection& conn, const StoredEntry& e) {
  return Insert(conn, e.seq, e.committed_at, e.kind, e.schema_version, e.changes);
}

Result<std::optional<Micros>> CommitTimeOf(sqlite::Connection& conn, int64_t seq) {
  auto at = conn.QueryInt("SELECT committed_at FROM change_journal WHERE seq = ?1", "journal: read a commit time", seq);
  if (!at.ok()) return at.status();
  return *at;
}

Result<std::optional<Micros>> FirstCommitAfter(sqlite::Connection& conn, int64_t seq) {
  auto at = conn.QueryInt("SELECT committed_at FROM change_journal WHERE seq > ?1 ORDER BY seq LIMIT 1",
                          "journal: read a commit time", seq);
  if (!at.ok()) return at.status();
  return *at;
}

namespace {

Result<std::optional<std::pair<bool, JournalRetention>>> ReadState(sqlite::Connection& conn) {
  return conn.QueryRow("SELECT enabled, max_age_us, max_bytes FROM journal_state WHERE id = 1",
                       "journal: read its state", [](const sqlite::Stmt& st) {
                         return std::pair<bool, JournalRetention>(st.Int(0) != 0,
                                                                  JournalRetention{st.OptInt(1), st.OptInt(2)});
                       });
}

}  // namespace

Result<JournalRetention> ReadRetention(sqlite::Connection& conn) {
  auto state = ReadState(conn);
  if (!state.ok()) return state.status();
  return *state ? (*state)->second : JournalRetention{};
}

Result<JournalStatus> ReadStatus(sqlite::Connection& conn) {
  JournalStatus s;
  auto state = ReadState(conn);
  if (!state.ok()) return state.status();
  if (*state) {
    s.enabled = (*state)->first;
    s.retention = (*state)->second;
  }
  auto totals = conn.QueryRow(
      "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0), coalesce(sum(length(changes)), 0) "
      "FROM change_journal",
      "journal: count entries", [&](const sqlite::Stmt& st) {
        s.entries = st.Int(0);
        s.first_seq = st.Int(1);
        s.last_seq = st.Int(2);
        s.bytes = st.Int(3);
        return 0;
      });
  if (!totals.ok()) return totals.status();
  auto times = conn.QueryRow(
      "SELECT (SELECT committed_at FROM change_journal ORDER BY seq LIMIT 1), "
      "(SELECT committed_at FROM change_journal ORDER BY seq DESC LIMIT 1), "
      "(SELECT count(*) FROM change_journal WHERE kind <> 0), "
      "(SELECT coalesce(max(seq), 0) FROM change_journal WHERE kind <> 0)",
      "journal: read its times", [&](const sqlite::Stmt& st) {
        s.oldest_at = st.OptInt(0).value_or(0);
        s.newest_at = st.OptInt(1).value_or(0);
        s.markers = st.Int(2);
        s.last_marker_seq = st.Int(3);
        return 0;
      });
  if (!times.ok()) return times.status();
  auto consumers = ReadConsumers(conn);
  if (!consumers.ok()) return consumers.status();
  s.consumers = std::move(*consumers);
  return s;
}

Result<std::vector<JournalConsumer>> ReadConsumers(sqlite::Connection& conn) {
  std::vector<JournalConsumer> out;
  auto read = conn.ForEachRow("SELECT name, seq, updated_at FROM journal_consumers ORDER BY name",
                              "journal: read consumers", [&](const sqlite::Stmt& st) {
                                out.push_back({st.String(0), st.Int(1), st.Int(2)});
                                return true;
                              });
  if (!read.ok()) return read.status();
  return out;
}

Result<bool> SetEnabled(sqlite::Connection& conn, bool enabled, Micros now, int schema_version) {
  auto current = JournalEnabled(conn);
  if (!current.ok()) return current.status();
  if (*current == enabled) return false;
  CONVSTORE_RETURN_IF_ERROR(conn.Run("UPDATE journal_state SET enabled = ?1 WHERE id = 1", "journal: switch",
                                     int64_t{enabled ? 1 : 0}));
  CONVSTORE_RETURN_IF_ERROR(
      AppendEntry(conn, enabled ? EntryKind::kJournalOn : EntryKind::kJournalOff, now, schema_version, {}));
  return true;
}

Status SetRetention(sqlite::Connection& conn, const JournalRetention& retention) {
  return conn.Run("UPDATE journal_state SET max_age_us = ?1, max_bytes = ?2 WHERE id = 1",
                  "journal: set retention", retention.max_age_us, retention.max_bytes);
}

Result<int64_t> PruneHorizon(sqlite::Connection& conn, Micros now, const JournalRetention* retention) {
  auto status = ReadStatus(conn);
  if (!status.ok()) return status.status();
  if (retention) status->retention = *retention;
  int64_t upto = 0;  // remove entries with seq <= upto
  if (status->retention.max_age_us) {
    auto aged = conn.QueryInt("SELECT coalesce(max(seq), 0) FROM change_journal WHERE committed_at < ?1",
                              "journal: find aged entries", now - *status->retention.max_age_us);
    if (!aged.ok()) return aged.status();
    upto = std::max(upto, aged->value_or(0));
  }
  if (status->retention.max_bytes && status->bytes > *status->retention.max_bytes) {
    // The oldest entries whose removal brings the total within the limit.
    int64_t excess = status->bytes - *status->retention.max_bytes;
    int64_t last = 0;
    auto rows = conn.ForEachRow("SELECT seq, coalesce(length(changes), 0) FROM change_journal ORDER BY seq",
                                "journal: find entries over the size limit", [&](const sqlite::Stmt& st) {
                                  last = st.Int(0);
                                  excess -= st.Int(1);
                                  return excess > 0;
                                });
    if (!rows.ok()) return rows.status();
    upto = std::max(upto, last);
  }
  return upto;
}

Result<bool> PruneUpTo(sqlite::Connection& conn, int64_t upto, int64_t batch, JournalPruneReport* report) {
  // Checked in each batch, since consumers may come or move meanwhile: the newest entry always stays (it carries
  // the sequence and the time the next entry continues from), and so does every entry a consumer has not read.
  auto limits = conn.QueryRow(
      "SELECT coalesce((SELECT min(seq) FROM change_journal), 0), coalesce((SELECT max(seq) FROM change_journal), 0), "
      "(SELECT min(seq) FROM journal_consumers)",
      "journal: read the pruning limits",
      [](const sqlite::Stmt& st) { return std::tuple(st.Int(0), st.Int(1), st.OptInt(2)); });
  if (!limits.ok()) return limits.status();
  const auto [first_seq, last_seq, consumer_seq] = **limits;
  upto = std::min(upto, last_seq - 1);
  if (consumer_seq) upto = std::min(upto, *consumer_seq);
  report->first_seq = first_seq;
  if (upto < first_seq) return false;
  const int64_t end = std::min(upto, first_seq + batch - 1);
  auto removed = conn.QueryRow(
      "SELECT count(*), coalesce(sum(length(changes)), 0) FROM change_journal WHERE seq <= ?1",
      "journal: measure the entries to remove",
      [](const sqlite::Stmt& st) { return std::pair<int64_t, int64_t>(st.Int(0), st.Int(1)); }, end);
  if (!removed.ok()) return removed.status();
  CONVSTORE_RETURN_IF_ERROR(conn.Run("DELETE FROM change_journal WHERE seq <= ?1", "journal: prune", end));
  report->removed += (*removed)->first;
  report->bytes_removed += (*removed)->second;
  auto first = conn.QueryInt("SELECT coalesce(min(seq), 0) FROM change_journal", "journal: first entry");
  if (!first.ok()) return first.status();
  report->first_seq = first->value_or(0);
  return end < upto;
}

Result<bool> HasJournal(sqlite::Connection& conn) {
  auto n = conn.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'change_journal'",
                         "inspect the schema");
  if (!n.ok()) return n.status();
  return n->value_or(0) != 0;
}

Status SetConsumer(sqlite::Connection& conn, std::string_view name, int64_t seq, Micros now) {
  return conn.Run(
      "INSERT INTO journal_consumers(name, seq, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
      "journal: set a consumer", name, seq, now);
}

Status RemoveConsumer(sqlite::Connection& conn, std::string_view name) {
  return conn.Run("DELETE FROM journal_consumers WHERE name = ?1", "journal: remove a consumer", name);
}

Result<int64_t> LastSeq(sqlite::Connection& conn) {
  auto last = ReadLast(conn);
  if (!last.ok()) return last.status();
  return last->seq;
}

}  // namespace convstore::ops
