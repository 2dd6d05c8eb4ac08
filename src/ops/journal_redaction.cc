#include "ops/journal_redaction.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <vector>

#include "ops/journal_tables.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

// Column index -> value, for the rows of one table whose columns an erasure rewrote.
using ColumnValues = std::map<int, Value>;

// The (last) integer primary-key column of the row a change is about; nullopt when it has none.
std::optional<int64_t> IntegerKey(const Change& c) {
  const std::vector<Value>& row = c.op == SQLITE_INSERT ? c.after : c.before;
  std::optional<int64_t> key;
  for (size_t i = 0; i < c.pk->size(); ++i)
    if ((*c.pk)[i] && row[i].type == Value::kInteger) key = row[i].i;
  return key;
}

class Redactor {
 public:
  Redactor(sqlite::Connection& conn, JournalRedaction& r) : r_(r), columns_(conn) {}

  // Adds to r_.dropped (and r_.replaced) the rows this changeset shows to be about the person; true when any.
  Result<bool> FindOwned(int64_t seq, std::string_view bytes) {
    bool grew = false;
    std::string error;
    Status failed;
    const bool read = ReadChangeset(bytes, &error, [&](const Change& c) {
      if (c.op == SQLITE_UPDATE) return true;  // only full images name their owners
      const std::vector<Value>& row = c.op == SQLITE_INSERT ? c.after : c.before;
      const std::string table(c.table);
      const std::optional<int64_t> key = IntegerKey(c);
      if (!key) return true;
      auto integer = [&](const std::string& column) -> std::optional<int64_t> {
        auto index = columns_.IndexOf(table, column);
        if (!index.ok()) {
          failed = index.status();
          return std::nullopt;
        }
        if (*index < 0 || static_cast<size_t>(*index) >= row.size() || row[*index].type != Value::kInteger)
          return std::nullopt;
        return row[*index].i;
      };
      auto text = [&](const std::string& column) -> std::optional<std::string> {
        auto index = columns_.IndexOf(table, column);
        if (!index.ok() || *index < 0 || static_cast<size_t>(*index) >= row.size() ||
            row[*index].type != Value::kText)
          return std::nullopt;
        return row[*index].bytes;
      };
      for (const auto& rule : r_.owned) {
        if (rule.table != table || r_.dropped[table].count(*key)) continue;
        const auto parent = integer(rule.column);
        if (!failed.ok()) return false;
        if (!parent) continue;
        const bool owned_by_parent =
            r_.dropped[rule.parent].count(*parent) || (r_.replaced.count(rule.parent) &&
                                                       r_.replaced[rule.parent].count(*parent));
        if (!owned_by_parent) continue;
        if (!rule.where_column.empty()) {
          const auto where = integer(rule.where_column);
          if (!where || *where != rule.where_value) continue;
        }
        r_.dropped[table].insert(*key);
        grew = true;
      }
      if (table == r_.personal_table && !r_.replaced[table].count(*key)) {
        for (const std::string& column : r_.personal_by) {
          if (text(column) != r_.personal_of) continue;
          r_.replaced[table][*key] = r_.personal_values;
          grew = true;
          break;
        }
      }
      return true;
    });
    if (!failed.ok()) return failed;
    if (!read) return Status::Corruption(fmt::format("journal: entry {} does not read as a changeset: {}", seq, error));
    return grew;
  }

  // The rewritten changeset, or nullopt when nothing in it changes.
  Result<std::optional<std::string>> Rewrite(int64_t seq, std::string_view bytes, RedactionReport& report) {
    ChangesetWriter out;
    std::string error;
    std::string_view table;
    size_t header_at = 0, changes_at = 0;
    bool changed = false;
    Status failed;
    const bool read = ReadChangeset(bytes, &error, [&](const Change& c) {
      if (c.table != table || out.empty()) {
        if (!out.empty() && out.size() == changes_at) out.Truncate(header_at);  // every change of it dropped
        table = c.table;
        header_at = out.size();
        out.BeginTable(c.table, *c.pk);
        changes_at = out.size();
      }
      const std::optional<int64_t> key = IntegerKey(c);
      const std::string name(c.table);
      if (key) {
        if (auto d = r_.dropped.find(name); d != r_.dropped.end() && d->second.count(*key)) {
          changed = true;
          ++report.changes_dropped;
          return true;
        }
        if (auto t = r_.replaced.find(name); t != r_.replaced.end()) {
          if (auto row = t->second.find(*key); row != t->second.end()) {
            auto columns = Columns(name, row->second, c.pk->size());
            if (!columns.ok()) {
              failed = columns.status();
              return false;
            }
            std::vector<Value> before = c.before, after = c.after;
            for (const auto& [index, value] : *columns) {
              if (static_cast<size_t>(index) < before.size() && before[index].type != Value::kUndefined)
                before[index] = value;
              if (static_cast<size_t>(index) < after.size() && after[index].type != Value::kUndefined)
                after[index] = value;
            }
            changed = true;
            ++report.changes_rewritten;
            if (c.op == SQLITE_INSERT) out.Insert(after);
            else if (c.op == SQLITE_DELETE) out.Delete(before, *c.pk);
            else out.Update(before, after, *c.pk);  // nothing written when only rewritten columns changed
            return true;
          }
        }
      }
      if (c.op == SQLITE_INSERT) out.Insert(c.after);
      else if (c.op == SQLITE_DELETE) out.Delete(c.before, *c.pk);
      else out.Update(c.before, c.after, *c.pk);
      return true;
    });
    if (!failed.ok()) return failed;
    if (!read) return Status::Corruption(fmt::format("journal: entry {} does not read as a changeset: {}", seq, error));
    if (!changed) return std::optional<std::string>();
    if (!out.empty() && out.size() == changes_at) out.Truncate(header_at);
    return std::optional<std::string>(out.Take());
  }

 private:
  // The replacement values of a row by column index, for a change recorded with `width` columns: the indexes of
  // the table as it is now, which is the width of every version convstore wrote of the tables it rewrites.
  Result<ColumnValues> Columns(const std::string& table, const std::map<std::string, Value>& by_name, size_t width) {
    auto names = columns_.Of(table);
    if (!names.ok()) return names.status();
    if ((*names)->size() != width)
      return Status::Corruption(fmt::format("journal: a change of {} has {} columns, the table {}", table, width,
                                            (*names)->size()));
    ColumnValues out;
    for (const auto& [column, value] : by_name) {
      auto index = columns_.IndexOf(table, column);
      if (!index.ok()) return index.status();
      if (*index < 0) return Status::Internal(fmt::format("journal: {} has no column {}", table, column));
      out[*index] = value;
    }
    return out;
  }

  JournalRedaction& r_;
  TableColumns columns_;
};

// The first entry committed at or after `since` (0 when none): committed_at never decreases along seq, so a
// binary search over the sequence finds it with a few point reads.
Result<int64_t> FirstSeqSince(sqlite::Connection& conn, Micros since) {
  auto bounds = conn.QueryRow("SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM change_journal",
                              "journal: read its bounds",
                              [](const sqlite::Stmt& st) { return std::pair<int64_t, int64_t>(st.Int(0), st.Int(1)); });
  if (!bounds.ok()) return bounds.status();
  int64_t lo = (*bounds)->first, hi = (*bounds)->second + 1;  // answer in [lo, hi]; hi: none
  if (lo == 0) return int64_t{0};
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    // The first entry at or after mid (entries removed by retention leave no gaps inside, but be safe).
    auto at = conn.QueryRow("SELECT seq, committed_at FROM change_journal WHERE seq >= ?1 ORDER BY seq LIMIT 1",
                            "journal: read an entry's time",
                            [](const sqlite::Stmt& st) { return std::pair<int64_t, int64_t>(st.Int(0), st.Int(1)); },
                            mid);
    if (!at.ok()) return at.status();
    if (!*at || (*at)->second >= since) hi = mid;
    else lo = (*at)->first + 1;
  }
  return lo;
}

}  // namespace

namespace {

// Calls visit(seq, changeset) for every entry from `first` on that holds changes, in slices (no statement reads the
// journal while `visit` rewrites an entry).
template <typename Visit>
Status ForEachEntry(sqlite::Connection& conn, int64_t first, Visit&& visit) {
  constexpr int64_t kSlice = 512;
  int64_t after = first - 1;
  for (;;) {
    std::vector<std::pair<int64_t, std::string>> slice;
    auto walked = conn.ForEachRow(
        "SELECT seq, changes FROM change_journal WHERE seq > ?1 AND changes IS NOT NULL ORDER BY seq LIMIT ?2",
        "journal: read entries to redact",
        [&](const sqlite::Stmt& st) {
          slice.emplace_back(st.Int(0), std::string(st.Blob(1)));
          return true;
        },
        after, kSlice);
    if (!walked.ok()) return walked.status();
    if (slice.empty()) return Status::OK();
    for (const auto& [seq, bytes] : slice) CONVSTORE_RETURN_IF_ERROR(visit(seq, bytes));
    after = slice.back().first;
  }
}

}  // namespace

Result<RedactionReport> RedactJournal(sqlite::Connection& conn, JournalRedaction& redaction, Micros since) {
  RedactionReport report;
  if (redaction.empty()) return report;
  auto first = FirstSeqSince(conn, since);
  if (!first.ok()) return first.status();
  if (*first == 0) return report;
  Redactor redactor(conn, redaction);
  // What the journal shows to be about the person, until a pass finds nothing new (an owner's row may first
  // appear in an entry after its children's, when its insert was pruned and its delete is later).
  for (int pass = 0; pass < 8; ++pass) {
    bool grew = false;
    const Status searched = ForEachEntry(conn, *first, [&](int64_t seq, const std::string& bytes) -> Status {
      auto found = redactor.FindOwned(seq, bytes);
      if (!found.ok()) return found.status();
      grew = grew || *found;
      return Status::OK();
    });
    if (!searched.ok()) return searched;
    if (!grew) break;
  }
  const Status rewritten_all = ForEachEntry(conn, *first, [&](int64_t seq, const std::string& bytes) -> Status {
    ++report.entries_read;
    auto rewritten = redactor.Rewrite(seq, bytes, report);
    if (!rewritten.ok()) return rewritten.status();
    if (!*rewritten) return Status::OK();
    auto update = conn.Prepare("UPDATE change_journal SET changes = ?2 WHERE seq = ?1");
    if (!update.ok()) return update.status();
    update->Bind(1, seq).BindBlob(2, **rewritten);
    CONVSTORE_RETURN_IF_ERROR(update->Run("journal: rewrite a redacted entry"));
    ++report.entries_rewritten;
    return Status::OK();
  });
  if (!rewritten_all.ok()) return rewritten_all;
  return report;
}

}  // namespace convstore::ops
