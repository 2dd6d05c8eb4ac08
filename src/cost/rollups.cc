#include "cost/rollups.h"

#include <fmt/format.h>

#include <atomic>

#include "convstore/limits.h"
#include "cost/cost_rows.h"
#include "cost/price_lookup.h"
#include "util/logging.h"
#include "util/validate.h"

namespace convstore::cost {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void Measures::Add(const CostRow& row, int sign) {
  // Each value of a row is within its documented limit (<= 1e18), so sign * value cannot overflow.
  bool ok = AddInto(count, sign);
  if (row.status == "error") ok &= AddInto(errors, sign);
  for (int i = 0; i < 5; ++i) ok &= AddInto(tokens[i], sign * row.tokens[i]);
  ok &= AddInto(cost, sign * row.cost);
  if (row.latency_us) {
    ok &= AddInto(latency_count, sign);
    ok &= AddInto(latency_sum, sign * *row.latency_us);
    hist.Add(*row.latency_us, sign);
  }
  overflow |= !ok;
}

void Measures::Merge(const Measures& o) {
  bool ok = AddInto(count, o.count);  // `ok &= ...` runs every addition: none is skipped after an overflow
  ok &= AddInto(errors, o.errors);
  for (int i = 0; i < 5; ++i) ok &= AddInto(tokens[i], o.tokens[i]);
  ok &= AddInto(cost, o.cost);
  ok &= AddInto(latency_count, o.latency_count);
  ok &= AddInto(latency_sum, o.latency_sum);
  hist.Merge(o.hist);
  overflow |= !ok || o.overflow;
}

bool Measures::zero() const {
  if (count || errors || cost || latency_count || latency_sum || !hist.empty()) return false;
  for (int64_t t : tokens)
    if (t) return false;
  return true;
}

bool Measures::operator==(const Measures& o) const {
  for (int i = 0; i < 5; ++i)
    if (tokens[i] != o.tokens[i]) return false;
  return count == o.count && errors == o.errors && cost == o.cost && latency_count == o.latency_count &&
         latency_sum == o.latency_sum && hist == o.hist;
}

FineKey FineKeyOf(const CostRow& row) {
  const int64_t day = FloorDiv(row.at, kMicrosPerDay) * kMicrosPerDay;
  return FineKey{day, row.user_id, row.team_id, row.model, row.source, row.role, row.endpoint, row.status};
}

int TotalKeysOf(const CostRow& row, TotalKey keys[2]) {
  const int64_t day = FloorDiv(row.at, kMicrosPerDay) * kMicrosPerDay;
  const int hour = static_cast<int>((row.at - day) / kMicrosPerHour);
  keys[0] = TotalKey{day, kScopeAll, 0, row.source, hour};
  if (row.team_id == 0) return 1;
  keys[1] = TotalKey{day, kScopeTeam, row.team_id, row.source, hour};
  return 2;
}

namespace {

void BindMeasures(sqlite::Stmt& st, int first, const Measures& m) {
  st.Bind(first, m.count).Bind(first + 1, m.errors);
  for (int i = 0; i < 5; ++i) st.Bind(first + 2 + i, m.tokens[i]);
  st.Bind(first + 7, m.cost);
}

}  // namespace

namespace {
std::atomic<bool> rollups_enabled{true};
}  // namespace

void SetRollupsEnabledForBenchmark(bool enabled) { rollups_enabled.store(enabled); }
bool RollupsEnabled() { return rollups_enabled.load(std::memory_order_relaxed); }

void ReadMeasures(const sqlite::Stmt& st, int c, Measures& m) {
  m.count = st.Int(c);
  m.errors = st.Int(c + 1);
  for (int i = 0; i < 5; ++i) m.tokens[i] = st.Int(c + 2 + i);
  m.cost = st.Int(c + 7);
}

Status ApplyDelta(sqlite::Connection& conn, const RollupDelta& delta) {
  if (!rollups_enabled.load(std::memory_order_relaxed)) return Status::OK();
  const Status too_large = Status::TooLarge("a day's cost or token totals would leave the 64-bit integer range");
  auto fine = conn.Prepare(
      "INSERT INTO cost_rollups(day, user_id, team_id, model, source, role, endpoint, status, count, errors,"
      " tokens_input, tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd,"
      " latency_count, latency_sum_us, latency_hist)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
      " ON CONFLICT (day, user_id, team_id, model, source, role, endpoint, status) DO UPDATE SET"
      CONVSTORE_MEASURES_ADD_EXCLUDED
      " RETURNING count = 0 AND errors = 0 AND cost_nanousd = 0 AND tokens_input = 0 AND tokens_output = 0"
      " AND tokens_cached_input = 0 AND tokens_cache_write = 0 AND tokens_reasoning = 0 AND latency_count = 0"
      // typeof(): SQLite 3.40 answers "latency_hist IS NULL" wrongly (false) in RETURNING of an upsert into a
      // WITHOUT ROWID table, which left emptied rows behind.
      " AND latency_sum_us = 0 AND typeof(latency_hist) = 'null',"
      // SQLite turns an overflowing integer sum into a REAL: refuse the write instead.
      CONVSTORE_MEASURES_STILL_INTEGER);
  if (!fine.ok()) return fine.status();
  auto fine_gc = conn.Prepare(
      "DELETE FROM cost_rollups WHERE day = ?1 AND user_id = ?2 AND team_id = ?3 AND model = ?4 AND source = ?5"
      " AND role = ?6 AND endpoint = ?7 AND status = ?8");
  if (!fine_gc.ok()) return fine_gc.status();
  for (const auto& [k, m] : delta.fine) {
    if (m.overflow) return too_large;
    if (m.zero()) continue;
    std::string hist = m.hist.Encode();
    fine->Bind(1, k.day).Bind(2, k.user_id).Bind(3, k.team_id).Bind(4, k.model).Bind(5, int64_t{k.source});
    fine->Bind(6, k.role).Bind(7, k.endpoint).Bind(8, k.status);
    BindMeasures(*fine, 9, m);
    fine->Bind(17, m.latency_count).Bind(18, m.latency_sum);
    if (hist.empty())
      fine->BindNull(19);
    else
      fine->BindBlob(19, hist);
    auto row = fine->Step("update cost rollup");
    if (!row.ok()) return row.status();
    // A delete (or a reprice of a row still pending) can bring every measure to zero: drop the row.
    const bool emptied = *row && fine->Int(0) != 0;
    if (*row && fine->Int(1) == 0) return too_large;
    CONVSTORE_RETURN_IF_ERROR(fine->Run("update cost rollup"));
    if (emptied) {
      fine_gc->Bind(1, k.day).Bind(2, k.user_id).Bind(3, k.team_id).Bind(4, k.model).Bind(5, int64_t{k.source});
      fine_gc->Bind(6, k.role).Bind(7, k.endpoint).Bind(8, k.status);
      CONVSTORE_RETURN_IF_ERROR(fine_gc->Run("drop empty cost rollup"));
    }
  }

  // A write touches up to two totals (everything, its team): one statement for both.
#define CONVSTORE_TOTALS_UPSERT_TAIL                                                                             \
  " ON CONFLICT (day, scope, scope_id, source, hour) DO UPDATE SET"                                             \
  " count = count + excluded.count, errors = errors + excluded.errors,"                                         \
  " tokens_input = tokens_input + excluded.tokens_input, tokens_output = tokens_output + excluded.tokens_output," \
  " tokens_cached_input = tokens_cached_input + excluded.tokens_cached_input,"                                  \
  " tokens_cache_write = tokens_cache_write + excluded.tokens_cache_write,"                                     \
  " tokens_reasoning = tokens_reasoning + excluded.tokens_reasoning,"                                           \
  " cost_nanousd = cost_nanousd + excluded.cost_nanousd RETURNING day, scope, scope_id, source, hour,"           \
  " count = 0 AND errors = 0 AND cost_nanousd = 0 AND tokens_input = 0 AND tokens_output = 0"                   \
  " AND tokens_cached_input = 0 AND tokens_cache_write = 0 AND tokens_reasoning = 0,"                            \
  " typeof(count) || typeof(cost_nanousd) || typeof(tokens_input) || typeof(tokens_output) ||"                   \
  " typeof(tokens_cached_input) || typeof(tokens_cache_write) || typeof(tokens_reasoning) ="                     \
  " 'integerintegerintegerintegerintegerintegerinteger'"
#define CONVSTORE_TOTALS_INSERT                                                                                \
  "INSERT INTO cost_totals(day, scope, scope_id, source, hour, count, errors, tokens_input, tokens_output,"      \
  " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd) VALUES "
  auto one = conn.Prepare(CONVSTORE_TOTALS_INSERT
                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)" CONVSTORE_TOTALS_UPSERT_TAIL);
  if (!one.ok()) return one.status();
  auto two = conn.Prepare(CONVSTORE_TOTALS_INSERT
                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13),"
                          " (?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)"
                          CONVSTORE_TOTALS_UPSERT_TAIL);
  if (!two.ok()) return two.status();
#undef CONVSTORE_TOTALS_INSERT
#undef CONVSTORE_TOTALS_UPSERT_TAIL
  auto total_gc = conn.Prepare(
      "DELETE FROM cost_totals WHERE day = ?1 AND scope = ?2 AND scope_id = ?3 AND source = ?4 AND hour = ?5");
  if (!total_gc.ok()) return total_gc.status();
  std::vector<const std::pair<const TotalKey, Measures>*> rows;
  rows.reserve(delta.totals.size());
  for (const auto& entry : delta.totals)
    if (!entry.second.zero()) rows.push_back(&entry);
  auto bind = [](sqlite::Stmt& st, int first, const TotalKey& k, const Measures& m) {
    st.Bind(first, k.day).Bind(first + 1, int64_t{k.scope}).Bind(first + 2, k.scope_id);
    st.Bind(first + 3, int64_t{k.source}).Bind(first + 4, int64_t{k.hour});
    BindMeasures(st, first + 5, m);
  };
  std::vector<TotalKey> emptied;
  auto run = [&](sqlite::Stmt& st) -> Status {
    for (;;) {
      auto row = st.Step("update cost totals");
      if (!row.ok()) return row.status();
      if (!*row) {
        st.Reset();
        return Status::OK();
      }
      if (st.Int(6) == 0) {
        st.Reset();
        return too_large;
      }
      if (st.Int(5) != 0)
        emptied.push_back(TotalKey{st.Int(0), static_cast<int>(st.Int(1)), st.Int(2), static_cast<int>(st.Int(3)),
                                   static_cast<int>(st.Int(4))});
    }
  };
  size_t i = 0;
  for (; i + 2 <= rows.size(); i += 2) {
    for (size_t j = 0; j < 2; ++j) bind(*two, 1 + static_cast<int>(j) * 13, rows[i + j]->first, rows[i + j]->second);
    CONVSTORE_RETURN_IF_ERROR(run(*two));
  }
  for (; i < rows.size(); ++i) {
    bind(*one, 1, rows[i]->first, rows[i]->second);
    CONVSTORE_RETURN_IF_ERROR(run(*one));
  }
  for (const TotalKey& k : emptied) {
    total_gc->Bind(1, k.day).Bind(2, int64_t{k.scope}).Bind(3, k.scope_id).Bind(4, int64_t{k.source});
    total_gc->Bind(5, int64_t{k.hour});
    CONVSTORE_RETURN_IF_ERROR(total_gc->Run("drop empty cost total"));
  }
  return Status::OK();
}

Status ConversationCostRows(sqlite::Connection& conn, int64_t conversation_row, std::vector<CostRow>& rows) {
  auto st = conn.Prepare(CONVSTORE_MESSAGE_COST_ROWS("WHERE m.conversation_id = ?1"));
  if (!st.ok()) return st.status();
  st->Bind(1, conversation_row);
  for (;;) {
    auto row = st->Step("read conversation costs");
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    ReadMessageCostRow(*st, 0, rows.emplace_back());
  }
}

bool Plausible(const Measures& m) {
  if (m.count < 1 || m.errors < 0 || m.errors > m.count || m.cost < 0 || m.latency_count < 0 ||
      m.latency_count > m.count || m.latency_sum < 0)
    return false;
  for (int64_t t : m.tokens)
    if (t < 0) return false;
  return true;
}

Status CheckStoredRow(const Measures& m, const char* table, Micros day) {
  if (Plausible(m)) return Status::OK();
  return Status::Corruption(fmt::format(
      "{} holds a row for day {} with impossible sums (count {}, cost {}, a negative or inconsistent measure): the "
      "file was changed outside convstore; verify_rollups shows the damage and rebuild_rollups repairs it",
      table, day, m.count, m.cost));
}

}  // namespace convstore::cost
