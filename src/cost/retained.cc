#include "cost/retained.h"

#include <cstdint>
#include <map>
#include <utility>

#include "cost/cost_rows.h"
#include "cost/pending.h"
#include "util/status_macros.h"

namespace convstore::cost {

namespace {

struct RetainedKey {
  FineKey fine;
  int hour;
  bool operator<(const RetainedKey& o) const { return std::tie(fine, hour) < std::tie(o.fine, o.hour); }
};

int HourOf(Micros at, Micros day) { return static_cast<int>((at - day) / kMicrosPerHour); }

// Reads the row's 8 measure columns and its latency fields starting at column c.
Status ReadRetainedMeasures(const sqlite::Stmt& st, int c, Measures& m) {
  ReadMeasures(st, c, m);
  m.latency_count = st.Int(c + 8);
  m.latency_sum = st.Int(c + 9);
  const std::string_view blob = st.Blob(c + 10);
  if (!blob.empty() && !LatencyHistogram::Decode(blob, m.hist))
    return Status::Corruption("cost_retained holds a latency histogram that does not decode");
  return Status::OK();
}

}  // namespace

Status RetainCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows) {
  if (rows.empty()) return Status::OK();
  CONVSTORE_RETURN_IF_ERROR(FoldPendingMessages(conn));
  std::map<RetainedKey, Measures> sums;
  for (const CostRow& r : rows) {
    FineKey k = FineKeyOf(r);
    const int hour = HourOf(r.at, k.day);
    sums[RetainedKey{std::move(k), hour}].Add(r, +1);
  }
  auto st = conn.Prepare(
      "INSERT INTO cost_retained(day, hour, user_id, team_id, model, source, role, endpoint, status, count, errors,"
      " tokens_input, tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd,"
      " latency_count, latency_sum_us, latency_hist)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
      " ON CONFLICT (day, hour, user_id, team_id, model, source, role, endpoint, status) DO UPDATE SET"
      CONVSTORE_MEASURES_ADD_EXCLUDED " RETURNING" CONVSTORE_MEASURES_STILL_INTEGER);
  if (!st.ok()) return st.status();
  const Status too_large = Status::TooLarge("a retained cost or token sum would leave the 64-bit integer range");
  for (const auto& [k, m] : sums) {
    if (m.overflow) return too_large;
    st->Bind(1, k.fine.day).Bind(2, int64_t{k.hour}).Bind(3, k.fine.user_id).Bind(4, k.fine.team_id);
    st->Bind(5, k.fine.model).Bind(6, int64_t{k.fine.source}).Bind(7, k.fine.role).Bind(8, k.fine.endpoint);
    st->Bind(9, k.fine.status).Bind(10, m.count).Bind(11, m.errors);
    for (int i = 0; i < 5; ++i) st->Bind(12 + i, m.tokens[i]);
    st->Bind(17, m.cost).Bind(18, m.latency_count).Bind(19, m.latency_sum);
    const std::string hist = m.hist.Encode();
    if (hist.empty())
      st->BindNull(20);
    else
      st->BindBlob(20, hist);
    auto row = st->Step("retain cost");
    if (!row.ok()) return row.status();
    if (*row && st->Int(0) == 0) return too_large;
    CONVSTORE_RETURN_IF_ERROR(st->Run("retain cost"));
  }
  return Status::OK();
}

Result<NanoUsd> ReleaseRetainedCostRows(sqlite::Connection& conn, const std::vector<CostRow>& rows,
                                        std::vector<CostRow>& not_retained) {
  std::map<RetainedKey, std::vector<const CostRow*>> groups;
  for (const CostRow& r : rows) {
    FineKey k = FineKeyOf(r);
    const int hour = HourOf(r.at, k.day);
    groups[RetainedKey{std::move(k), hour}].push_back(&r);
  }
  auto read = conn.Prepare(
      "SELECT count, errors, tokens_input, tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning,"
      " cost_nanousd, latency_count, latency_sum_us, latency_hist FROM cost_retained WHERE day = ?1 AND hour = ?2"
      " AND user_id = ?3 AND team_id = ?4 AND model = ?5 AND source = ?6 AND role = ?7 AND endpoint = ?8"
      " AND status = ?9");
  if (!read.ok()) return read.status();
  NanoUsd released = 0;
  for (const auto& [k, group] : groups) {
    auto bind_key = [&k = k](sqlite::Stmt& st) {
      st.Bind(1, k.fine.day).Bind(2, int64_t{k.hour}).Bind(3, k.fine.user_id).Bind(4, k.fine.team_id);
      st.Bind(5, k.fine.model).Bind(6, int64_t{k.fine.source}).Bind(7, k.fine.role).Bind(8, k.fine.endpoint);
      st.Bind(9, k.fine.status);
    };
    bind_key(*read);
    auto row = read->Step("read retained cost");
    if (!row.ok()) return row.status();
    Measures left;
    const bool found = *row;
    if (found) CONVSTORE_RETURN_IF_ERROR(ReadRetainedMeasures(*read, 0, left));
    read->Reset();
    Measures taken;
    for (const CostRow* r : group) taken.Add(*r, +1);
    for (const CostRow* r : group) left.Add(*r, -1);
    bool enough = found && !left.overflow && left.count >= 0 && left.errors >= 0 && left.cost >= 0 &&
                  left.latency_count >= 0 && left.latency_sum >= 0 && !left.hist.any_negative();
    for (int64_t t : left.tokens) enough = enough && t >= 0;
    if (!enough) {
      for (const CostRow* r : group) not_retained.push_back(*r);
      continue;
    }
    if (left.zero()) {
      auto del = conn.Prepare(
          "DELETE FROM cost_retained WHERE day = ?1 AND hour = ?2 AND user_id = ?3 AND team_id = ?4 AND model = ?5"
          " AND source = ?6 AND role = ?7 AND endpoint = ?8 AND status = ?9");
      if (!del.ok()) return del.status();
      bind_key(*del);
      CONVSTORE_RETURN_IF_ERROR(del->Run("release retained cost"));
    } else {
      auto upd = conn.Prepare(
          "UPDATE cost_retained SET count = ?10, errors = ?11, tokens_input = ?12, tokens_output = ?13,"
          " tokens_cached_input = ?14, tokens_cache_write = ?15, tokens_reasoning = ?16, cost_nanousd = ?17,"
          " latency_count = ?18, latency_sum_us = ?19, latency_hist = ?20 WHERE day = ?1 AND hour = ?2"
          " AND user_id = ?3 AND team_id = ?4 AND model = ?5 AND source = ?6 AND role = ?7 AND endpoint = ?8"
          " AND status = ?9");
      if (!upd.ok()) return upd.status();
      bind_key(*upd);
      upd->Bind(10, left.count).Bind(11, left.errors);
      for (int i = 0; i < 5; ++i) upd->Bind(12 + i, left.tokens[i]);
      upd->Bind(17, left.cost).Bind(18, left.latency_count).Bind(19, left.latency_sum);
      const std::string hist = left.hist.Encode();
      if (hist.empty())
        upd->BindNull(20);
      else
        upd->BindBlob(20, hist);
      CONVSTORE_RETURN_IF_ERROR(upd->Run("release retained cost"));
    }
    released += taken.cost;
  }
  return released;
}

Status VisitRetained(sqlite::Connection& conn, Micros from, Micros to,
                     const std::function<void(const CostRow& key, const Measures& measures)>& visit) {
  // Days overlapping [from, to); hours outside it are skipped below.
  auto st = conn.Prepare(
      "SELECT day, hour, user_id, team_id, model, source, role, endpoint, status, count, errors, tokens_input,"
      " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_count,"
      " latency_sum_us, latency_hist FROM cost_retained WHERE day >= ?1 AND day < ?2");
  if (!st.ok()) return st.status();
  const Micros first_day = from < INT64_MIN + kMicrosPerDay ? INT64_MIN : FloorDiv(from, kMicrosPerDay) * kMicrosPerDay;
  st->Bind(1, first_day).Bind(2, to);
  CostRow key;
  for (;;) {
    auto row = st->Step("read retained cost");
    if (!row.ok()) return row.status();
    if (!*row) return Status::OK();
    const int64_t hour = st->Int(1);
    if (hour < 0 || hour > 23) return Status::Corruption("cost_retained holds an hour outside 0-23");
    key = CostRow{};
    key.at = st->Int(0) + hour * kMicrosPerHour;
    if (key.at < from || key.at >= to) continue;
    key.user_id = st->Int(2);
    key.team_id = st->Int(3);
    key.model = st->String(4);
    key.source = static_cast<int>(st->Int(5));
    key.role = st->String(6);
    key.endpoint = st->String(7);
    key.status = st->String(8);
    Measures m;
    CONVSTORE_RETURN_IF_ERROR(ReadRetainedMeasures(*st, 9, m));
    if (!Plausible(m)) return Status::Corruption("cost_retained holds a row with impossible sums");
    visit(key, m);
  }
}

namespace {

Status ReadRowsById(sqlite::Connection& conn, const char* sql, const std::vector<int64_t>& row_ids,
                    void (*read)(const sqlite::Stmt&, int, CostRow&), std::vector<CostRow>& rows) {
  auto st = conn.Prepare(sql);
  if (!st.ok()) return st.status();
  for (int64_t id : row_ids) {
    st->Bind(1, id);
    auto row = st->Step("read cost row");
    if (!row.ok()) return row.status();
    if (*row) read(*st, 0, rows.emplace_back());
    st->Reset();
  }
  return Status::OK();
}

}  // namespace

Status ApiUsageCostRows(sqlite::Connection& conn, const std::vector<int64_t>& row_ids, std::vector<CostRow>& rows) {
  return ReadRowsById(conn, "SELECT " CONVSTORE_USAGE_COST_COLUMNS " FROM api_usage a WHERE a.id = ?1", row_ids,
                      ReadUsageCostRow, rows);
}

Status MessageCostRows(sqlite::Connection& conn, const std::vector<int64_t>& row_ids, std::vector<CostRow>& rows) {
  return ReadRowsById(conn,
                      "SELECT " CONVSTORE_MESSAGE_COST_COLUMNS
                      " FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?1",
                      row_ids, ReadMessageCostRow, rows);
}

}  // namespace convstore::cost
