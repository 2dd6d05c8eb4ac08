// The cost engine: pricing, API usage, rollups against plain SQL over the raw rows (random workloads with deletes
// and repricing), summaries, usage statistics, the team view and budgets.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDb;

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kT0 = 1'780'000'000'000'000;  // 2026-05-28T20:26:40Z

// A settable clock.
struct Clock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(kT0);
  std::function<int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  // The Env a store reads this clock through (Options::env); lives as long as the Clock.
  Env* env() {
    if (!env_) env_ = std::make_unique<testing::ClockEnv>(fn());
    return env_.get();
  }

 private:
  std::unique_ptr<testing::ClockEnv> env_;
};

// Rows of a query on a separate raw connection, each column as text (NULL as "NULL").
std::vector<std::vector<std::string>> Rows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db) << "\n" << sql;
  std::vector<std::vector<std::string>> out;
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    auto& row = out.emplace_back();
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      row.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// ---- pricing ----------------------------------------------------------------------------------------------

TEST(PricingTest, CatalogShipsWithTheLibraryAndPricesMessages) {
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  auto prices = s->ListPrices();
  ASSERT_OK(prices);
  EXPECT_GT(prices->size(), 20u);
  for (const Price& p : *prices) {
    EXPECT_EQ(p.origin, "catalog");
    EXPECT_FALSE(p.source_date.empty()) << p.model;
  }
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  // gpt-4o: $2.50 in, $10 out, $1.25 cached per million tokens.
  auto m = s->AddMessage(conv->id, {.role = Role::kAssistant, .content = "x", .model = "gpt-4o",
                                    .tokens_input = 1000, .tokens_output = 500, .tokens_cached_input = 2000});
  ASSERT_OK(m);
  EXPECT_EQ(m->cost_nanousd, 2'500'000 + 5'000'000 + 2'500'000);
  ASSERT_TRUE(m->price_id.has_value());
  // A dated snapshot resolves through its pattern; an explicit cost wins; an unknown model stays unpriced.
  auto dated = s->AddMessage(conv->id, {.role = Role::kAssistant, .content = "x", .model = "claude-sonnet-4-5-20250929",
                                        .tokens_input = 1'000'000, .tokens_cache_write = 1'000'000});
  ASSERT_OK(dated);
  EXPECT_EQ(dated->cost_nanousd, 3'000'000'000 + 3'750'000'000);
  auto explicit_cost = s->AddMessage(conv->id, {.role = Role::kUser, .content = "x", .model = "gpt-4o",
                                                .tokens_input = 1000, .cost_nanousd = 7});
  ASSERT_OK(explicit_cost);
  EXPECT_EQ(explicit_cost->cost_nanousd, 7);
  EXPECT_FALSE(explicit_cost->price_id.has_value());
  auto unknown = s->AddMessage(conv->id, {.role = Role::kUser, .content = "x", .model = "my-local-llama",
                                          .tokens_input = 1000});
  ASSERT_OK(unknown);
  EXPECT_FALSE(unknown->cost_nanousd.has_value());
  auto info = s->GetConversationInfo(conv->id);
  ASSERT_OK(info);
  EXPECT_EQ(info->cost_nanousd, 10'000'000 + 6'750'000'000 + 7);
  EXPECT_EQ(info->tokens.cache_write, 1'000'000);
}

TEST(PricingTest, ResolutionOrderAndRounding) {
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->AddPrice({.model = "acme-*", .is_pattern = true, .effective_from = 0, .input_per_mtok = 1,
                         .output_per_mtok = 1}));
  ASSERT_OK(s->AddPrice({.model = "acme-large-*", .is_pattern = true, .effective_from = 0, .input_per_mtok = 2,
                         .output_per_mtok = 2}));
  ASSERT_OK(s->AddPrice({.model = "acme-large-2", .effective_from = kT0 - kDay, .input_per_mtok = 3,
                         .output_per_mtok = 3}));
  ASSERT_OK(s->AddPrice({.model = "acme-large-2", .effective_from = kT0 + kDay, .input_per_mtok = 4,
                         .output_per_mtok = 4}));
  EXPECT_EQ(s->ResolvePrice("acme-small", kT0)->input_per_mtok, 1);
  EXPECT_EQ(s->ResolvePrice("acme-large-9", kT0)->input_per_mtok, 2);        // longest pattern
  EXPECT_EQ(s->ResolvePrice("acme-large-2", kT0 - 2 * kDay)->input_per_mtok, 2);  // exact not yet in effect
  EXPECT_EQ(s->ResolvePrice("acme-large-2", kT0)->input_per_mtok, 3);
  EXPECT_EQ(s->ResolvePrice("acme-large-2", kT0 + 2 * kDay)->input_per_mtok, 4);
  EXPECT_CODE(s->ResolvePrice("nobody-model", kT0), Code::kNotFound);
  // A user price overrides the catalog's for the same model.
  ASSERT_OK(s->AddPrice({.model = "gpt-4o", .effective_from = 0, .input_per_mtok = 1'000'000'000,
                         .output_per_mtok = 1'000'000'000, .note = "contract"}));
  auto p = s->ResolvePrice("gpt-4o", kT0);
  ASSERT_OK(p);
  EXPECT_EQ(p->origin, "user");
  EXPECT_EQ(p->note, "contract");
  // Rounding: 1 token at $0.0000015/M-token-unit rates rounds half up to whole nano-USD.
  ASSERT_OK(s->AddPrice({.model = "half", .effective_from = 0, .input_per_mtok = 500'000, .output_per_mtok = 499'999}));
  auto conv = s->CreateConversation({.user_key = "ana"});
  auto up = s->AddMessage(conv->id, {.content = "x", .model = "half", .tokens_input = 1});
  auto down = s->AddMessage(conv->id, {.role = Role::kAssistant, .content = "x", .model = "half", .tokens_output = 1});
  EXPECT_EQ(up->cost_nanousd, 1);
  EXPECT_EQ(down->cost_nanousd, 0);
}

// ---- random workload against plain SQL ----------------------------------------------------------------------

struct Workload {
  std::vector<std::string> users = {"u0", "u1", "u2", "u3", "u4"};
  std::vector<std::string> models = {"gpt-4o", "claude-haiku-4-5", "acme-1", "local-llama"};
  std::vector<std::string> conversations;
};

// A file store on a settable clock with teams t1 and t2 (what RunWorkload expects).
std::unique_ptr<ConversationStore> WorkloadStore(const std::string& path, Clock& clock, Options o = {}) {
  o.env = clock.env();
  auto s = OpenOrDie(path, o);
  EXPECT_TRUE(s->UpsertTeam({.key = "t1"}).ok());
  EXPECT_TRUE(s->UpsertTeam({.key = "t2"}).ok());
  return s;
}

// batch_size: messages per AddMessages call; 0 draws 1..3 each time.
void RunWorkload(ConversationStore& s, Clock& clock, std::mt19937_64& rng, Workload& w, int steps,
                 size_t batch_size = 0) {
  auto pick = [&](auto& v) -> auto& { return v[rng() % v.size()]; };
  for (int i = 0; i < steps; ++i) {
    clock.now->fetch_add(static_cast<int64_t>(rng() % (3 * kHour)));
    int64_t at = clock.now->load() - static_cast<int64_t>(rng() % (2 * kDay));
    int what = static_cast<int>(rng() % 100);
    if (what < 5 || w.conversations.empty()) {
      auto c = s.CreateConversation({.user_key = pick(w.users)});
      ASSERT_OK(c);
      w.conversations.push_back(c->id);
    } else if (what < 8) {
      // Users move between teams: costs stay with the team they were incurred under.
      ASSERT_OK(s.UpsertUser({.key = pick(w.users), .team_key = std::string(rng() % 3 == 0 ? "" : rng() % 2 ? "t1" : "t2")}));
    } else if (what < 10 && w.conversations.size() > 3) {
      size_t k = rng() % w.conversations.size();
      ASSERT_OK(s.DeleteConversation(w.conversations[k]));
      w.conversations.erase(w.conversations.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (what < 70) {
      std::vector<NewMessage> batch(batch_size > 0 ? batch_size : 1 + rng() % 3);
      for (auto& m : batch) {
        m.role = static_cast<Role>(rng() % 4);
        m.content = "hello";
        m.model = pick(w.models);
        if (rng() % 4) m.tokens_input = static_cast<int64_t>(rng() % 5000);
        if (rng() % 3) m.tokens_output = static_cast<int64_t>(rng() % 3000);
        if (rng() % 5 == 0) m.tokens_cached_input = static_cast<int64_t>(rng() % 9000);
        if (rng() % 7 == 0) m.cost_nanousd = static_cast<int64_t>(rng() % 10'000'000);
        if (rng() % 2) m.latency_us = static_cast<int64_t>(rng() % 5'000'000);
        m.created_at = at;
      }
      ASSERT_OK(s.AddMessages(pick(w.conversations), batch));
    } else if (what < 74) {
      // History removed or corrected: what was spent stays counted.
      const std::string& conv = pick(w.conversations);
      auto last = s.GetLastMessages(conv, 5);
      ASSERT_OK(last);
      const int how = static_cast<int>(rng() % 10);
      if (how < 4 && !last->empty()) {
        ASSERT_OK(s.DeleteMessage(pick(*last).id));
      } else if (how < 7) {
        ASSERT_OK(s.PopMessage(conv));
      } else if (how < 8) {
        ASSERT_OK(s.ClearMessages(conv));
      } else if (!last->empty()) {
        ASSERT_OK(s.EditMessage(pick(*last).id, {.content = "edited", .metadata_json = R"({"edited":true})"}));
      }
    } else if (what < 95) {
      NewApiUsage u;
      u.user_key = pick(w.users);
      u.model = pick(w.models);
      u.endpoint = rng() % 2 ? "/v1/chat" : "/v1/embed";
      u.tokens_input = static_cast<int64_t>(rng() % 8000);
      u.tokens_output = static_cast<int64_t>(rng() % 2000);
      if (rng() % 6 == 0) u.cost_nanousd = static_cast<int64_t>(rng() % 1'000'000);
      if (rng() % 5 == 0) {
        u.status = "error";
        u.error_code = "rate_limited";
      }
      u.latency_us = static_cast<int64_t>(1000 + rng() % 3'000'000);
      if (rng() % 3 == 0 && !w.conversations.empty()) u.conversation_id = pick(w.conversations);
      u.recorded_at = at;
      ASSERT_OK(s.RecordApiUsage(u));
    } else {
      // A price correction, then repricing of a range.
      ASSERT_OK(s.AddPrice({.model = "acme-1", .effective_from = at - kDay,
                            .input_per_mtok = static_cast<int64_t>(rng() % 5'000'000'000),
                            .output_per_mtok = static_cast<int64_t>(rng() % 9'000'000'000)}));
      ASSERT_OK(s.Reprice(at - 3 * kDay, clock.now->load() + kDay));
    }
  }
}

// Every message row the cost engine counts: stored messages and the tombstones of deleted ones (alias it).
#define ALL_MESSAGE_ROWS                                                                                          \
  "(SELECT created_at, conversation_id, model, team_id, tokens_input, tokens_output, cost_nanousd, latency_us"   \
  " FROM messages UNION ALL SELECT created_at, conversation_id, model, team_id, tokens_input, tokens_output,"     \
  " cost_nanousd, latency_us FROM message_tombstones)"

// The plain SQL aggregate of the raw rows the summary covers, as "date count tin tout cost" lines, newest first.
std::vector<std::string> ReferenceDaily(const std::string& path, const CostSummary& got, const CostFilter& f) {
  int64_t offset = int64_t{f.utc_offset_minutes} * 60'000'000;
  std::string where = " WHERE t >= " + std::to_string(got.from) + " AND t < " + std::to_string(got.to);
  if (!f.user_key.empty()) where += " AND ukey = " + Quote(f.user_key);
  if (!f.team_key.empty()) where += " AND tkey = " + Quote(f.team_key);
  if (!f.model.empty()) where += " AND model = " + Quote(f.model);
  if (!f.conversation_id.empty()) where += " AND conv = " + Quote(f.conversation_id);
  std::string rows;
  if (f.source != "api")
    rows += "SELECT m.created_at t, u.key ukey, tm.key tkey, m.model model, c.uid conv, m.tokens_input tin,"
            " m.tokens_output tout, m.cost_nanousd cost FROM " ALL_MESSAGE_ROWS " m JOIN conversations c ON c.id = m.conversation_id"
            " JOIN users u ON u.id = c.user_id LEFT JOIN teams tm ON tm.id = m.team_id";
  if (f.source == "all") rows += " UNION ALL ";
  if (f.source != "message")
    rows += "SELECT a.recorded_at t, u.key ukey, tm.key tkey, a.model model, c.uid conv, a.tokens_input tin,"
            " a.tokens_output tout, a.cost_nanousd cost"
            " FROM api_usage a JOIN users u ON u.id = a.user_id LEFT JOIN teams tm ON tm.id = a.team_id"
            " LEFT JOIN conversations c ON c.id = a.conversation_id";
  auto out = Rows(path, "SELECT date((t + " + std::to_string(offset) + ") / 1000000, 'unixepoch') d, count(*),"
                        " total(tin), total(tout), coalesce(sum(cost), 0) FROM (" + rows + ")" + where +
                        " GROUP BY d ORDER BY d DESC");
  std::vector<std::string> lines;
  for (auto& r : out)
    lines.push_back(r[0] + " " + r[1] + " " + std::to_string(std::llround(std::stod(r[2]))) + " " +
                    std::to_string(std::llround(std::stod(r[3]))) + " " + r[4]);
  return lines;
}

std::vector<std::string> Lines(const CostSummary& s) {
  std::vector<std::string> lines;
  for (const DailyCost& d : s.daily)
    lines.push_back(d.date + " " + std::to_string(d.message_count) + " " + std::to_string(d.tokens_input) + " " +
                    std::to_string(d.tokens_output) + " " + std::to_string(d.cost_nanousd));
  return lines;
}

void CheckSummaries(ConversationStore& s, const std::string& path, const Workload& w) {
  std::vector<CostFilter> filters;
  for (const char* source : {"message", "api", "all"}) {
    for (int offset : {0, 120, -300, 330}) {
      CostFilter f;
      f.days = 10;
      f.source = source;
      f.utc_offset_minutes = offset;
      filters.push_back(f);
      f.user_key = w.users[1];
      filters.push_back(f);
      f.user_key.clear();
      f.team_key = "t1";
      filters.push_back(f);
      f.model = "acme-1";
      filters.push_back(f);
      f.team_key.clear();
      filters.push_back(f);
    }
  }
  CostFilter by_conv;
  by_conv.days = 30;
  by_conv.conversation_id = w.conversations.front();
  filters.push_back(by_conv);
  for (const CostFilter& f : filters) {
    auto got = s.GetCostSummary(f);
    ASSERT_OK(got);
    auto want = ReferenceDaily(path, *got, f);
    EXPECT_EQ(Lines(*got), want) << "plan " << got->plan << " source " << f.source << " user '" << f.user_key
                                 << "' team '" << f.team_key << "' model '" << f.model << "' offset "
                                 << f.utc_offset_minutes;
    int64_t total = 0, count = 0;
    for (const DailyCost& d : got->daily) total += d.cost_nanousd, count += d.message_count;
    EXPECT_EQ(got->total_cost_nanousd, total);
    EXPECT_EQ(got->total_messages, count);
  }
}

void CheckGroups(ConversationStore& s, const std::string& path) {
  CostFilter f;
  f.days = 3660;
  f.source = "all";
  auto got = s.GroupCosts(f, {"model", "team", "status"});
  ASSERT_OK(got);
  std::vector<std::string> lines;
  for (const CostGroup& g : got->groups)
    lines.push_back(g.keys[0] + "|" + g.keys[1] + "|" + g.keys[2] + " " + std::to_string(g.count) + " " +
                    std::to_string(g.errors) + " " + std::to_string(g.cost_nanousd) + " " +
                    std::to_string(g.latency_sum_us));
  auto rows = Rows(path,
                   "SELECT model, coalesce(tkey, ''), status, count(*), sum(status = 'error'), coalesce(sum(cost), 0),"
                   " coalesce(sum(lat), 0) FROM ("
                   " SELECT m.model model, tm.key tkey, '' status, m.cost_nanousd cost, m.latency_us lat FROM " ALL_MESSAGE_ROWS " m"
                   "  LEFT JOIN teams tm ON tm.id = m.team_id"
                   " UNION ALL SELECT a.model, tm.key, a.status, a.cost_nanousd, a.latency_us FROM api_usage a"
                   "  LEFT JOIN teams tm ON tm.id = a.team_id)"
                   " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
  std::vector<std::string> want;
  for (auto& r : rows) want.push_back(r[0] + "|" + r[1] + "|" + r[2] + " " + r[3] + " " + r[4] + " " + r[5] + " " + r[6]);
  EXPECT_EQ(lines, want);
}

// Usage statistics per user x model (all sources) against SQL: calls, errors, cost, latency count and average.
void CheckUsageStats(ConversationStore& s, const std::string& path) {
  CostFilter f;
  f.days = 3660;
  f.source = "all";
  auto got = s.GetUsageStats(f);
  ASSERT_OK(got);
  std::vector<std::string> lines;
  for (const UsageStat& u : *got)
    lines.push_back(u.user_key + "|" + u.model + " " + std::to_string(u.calls) + " " + std::to_string(u.errors) + " " +
                    std::to_string(u.cost_nanousd) + " " + std::to_string(u.latency_count) + " " +
                    std::to_string(u.avg_latency_us));
  auto rows = Rows(path,
                   "SELECT u.key, model, count(*), sum(status = 'error'), coalesce(sum(cost), 0), count(lat),"
                   " coalesce((2 * sum(lat) + count(lat)) / (2 * count(lat)), 0) FROM ("
                   " SELECT c.user_id uid, m.model model, '' status, m.cost_nanousd cost, m.latency_us lat"
                   "  FROM " ALL_MESSAGE_ROWS " m JOIN conversations c ON c.id = m.conversation_id"
                   " UNION ALL SELECT a.user_id, a.model, a.status, a.cost_nanousd, a.latency_us FROM api_usage a)"
                   " JOIN users u ON u.id = uid GROUP BY 1, 2 ORDER BY 1, 2");
  std::vector<std::string> want;
  for (auto& r : rows) want.push_back(r[0] + "|" + r[1] + " " + r[2] + " " + r[3] + " " + r[4] + " " + r[5] + " " + r[6]);
  EXPECT_EQ(lines, want);
}

TEST(CostEngineTest, RandomWorkloadsMatchPlainSqlToTheNanoDollar) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    TempDb db;
    Clock clock;
    Options o;
    auto s = WorkloadStore(db.path(), clock, o);
    ASSERT_OK(s->AddPrice({.model = "acme-1", .effective_from = 0, .input_per_mtok = 1'234'567'891,
                           .output_per_mtok = 3'333'333'333}));
    std::mt19937_64 rng(seed);
    Workload w;
    RunWorkload(*s, clock, rng, w, 700);
    if (HasFatalFailure()) return;
    auto report = s->VerifyRollups();
    ASSERT_OK(report);
    EXPECT_EQ(report->differences, 0) << (report->samples.empty() ? "" : report->samples.front());
    EXPECT_GT(report->raw_rows, 300);
    CheckSummaries(*s, db.path(), w);
    CheckGroups(*s, db.path());
    CheckUsageStats(*s, db.path());
    // Conversation counters still equal their messages and tombstones after deletes and repricing.
    EXPECT_EQ(QueryInt(db.path(), std::string("SELECT count(*) FROM ") + testing::kConversationsAsRead + " c WHERE cost_nanousd != (SELECT"
                                  " coalesce(sum(cost_nanousd), 0) FROM " ALL_MESSAGE_ROWS " WHERE conversation_id = c.id)"
                                  " OR message_count != (SELECT count(*) FROM messages WHERE conversation_id = c.id)"),
              0);
    EXPECT_GT(QueryInt(db.path(), "SELECT count(*) FROM message_tombstones"), 0);
    // Every stored rollup row counts something and no sum is negative (deletes and reprices fold the pending
    // messages first); the derived tables pass the open-time invariants.
    EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_rollups WHERE count < 1 OR cost_nanousd < 0 OR"
                                  " latency_count > count OR tokens_input < 0"),
              0);
    EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_totals WHERE count < 1 OR cost_nanousd < 0"), 0);
    s.reset();
    Options checked = o;
    checked.quick_check_on_open = true;
    ASSERT_OK(ConversationStore::Open(db.path(), checked));
  }
}

// Deleting every conversation leaves no message rollup row behind (an emptied row is removed, not kept at zero).
TEST(CostEngineTest, DeletingEverythingLeavesNoMessageRollups) {
  TempDb db;
  Clock clock;
  auto s = WorkloadStore(db.path(), clock);
  std::mt19937_64 rng(11);
  Workload w;
  RunWorkload(*s, clock, rng, w, 300);
  if (HasFatalFailure()) return;
  for (const std::string& c : w.conversations) ASSERT_OK(s->DeleteConversation(c));
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_rollups WHERE source = 0"), 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_totals WHERE source = 0"), 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_pending WHERE source = 0"), 0);
  auto report = s->VerifyRollups();
  ASSERT_OK(report);
  EXPECT_EQ(report->differences, 0);
}

// A file written by a version that let pending rows pile up: migration 4 folds them (and the answers stay exact).
TEST(CostEngineTest, Migration4FoldsPendingRowsLeftByOlderVersions) {
  TempDb db;
  Clock clock;
  Options o;
  o.env = clock.env();
  {
    auto s = OpenOrDie(db.path(), o);
    auto conv = s->CreateConversation({.user_key = "old"});
    ASSERT_OK(conv);
    std::vector<NewMessage> batch(300, NewMessage{.content = "x", .model = "m", .cost_nanousd = 7,
                                                 .created_at = kT0 - 3 * kDay});
    ASSERT_OK(s->AddMessages(conv->id, batch));  // a large batch: counted in the rollups directly
  }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);  // the store's background indexer may be writing
    // The same rows as an older version could have left them: all pending. Then back to schema version 3.
    const std::string sql =
        "DELETE FROM cost_rollups; DELETE FROM cost_totals;"
        "INSERT INTO cost_pending(at, user_id, team_id, model, source, role, endpoint, status,"
        " tokens_input, tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning,"
        " cost_nanousd, latency_us) SELECT m.created_at, c.user_id, 0, m.model, 0, m.role, '', '',"
        " 0, 0, 0, 0, 0, m.cost_nanousd, NULL FROM messages m JOIN conversations c"
        " ON c.id = m.conversation_id;" +
        testing::DowngradeSchemaSql(3);
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_pending"), 300);
  Options checked = o;
  checked.quick_check_on_open = true;
  auto s = OpenOrDie(db.path(), checked);
  EXPECT_EQ(s->schema_version(), testing::kSchemaVersion);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_pending"), 0);
  auto sum = s->GetCostSummary({.days = 10});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_cost_nanousd, 300 * 7);
  auto report = s->VerifyRollups();
  ASSERT_OK(report);
  EXPECT_EQ(report->differences, 0);
}

// A message is its own pending cost row while its id is above the watermark: deleting pending messages folds them
// first (their tombstones stay counted), and the next message takes an id above the watermark even though the
// freed ids are below it — so it is pending, and counted once.
TEST(CostEngineTest, MessagesPastTheWatermarkArePendingAndDeletesFoldThemFirst) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  std::vector<Message> added;
  for (int i = 0; i < 10; ++i) {
    auto m = s->AddMessage(conv->id, {.content = "x", .model = "m", .cost_nanousd = 100 + i});
    ASSERT_OK(m);
    added.push_back(*m);
  }
  EXPECT_EQ(QueryInt(db.path(), testing::kPendingMessagesSql), 10);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_pending"), 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_rollups"), 0);
  for (int i = 0; i < 3; ++i) ASSERT_OK(s->PopMessage(conv->id));
  EXPECT_EQ(QueryInt(db.path(), testing::kPendingMessagesSql), 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT messages_through FROM cost_fold"), 10);
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(id) FROM messages"), 7);
  ASSERT_OK(s->AddMessage(conv->id, {.content = "y", .model = "m", .cost_nanousd = 1000}));
  EXPECT_EQ(QueryInt(db.path(), "SELECT max(id) FROM messages"), 11);
  EXPECT_EQ(QueryInt(db.path(), testing::kPendingMessagesSql), 1);
  auto sum = s->GetCostSummary({.days = 1});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_messages, 11);  // 8 stored, 3 tombstones: money spent stays spent
  EXPECT_EQ(sum->total_cost_nanousd, 1045 + 1000);
  auto report = s->VerifyRollups();
  ASSERT_OK(report);
  EXPECT_EQ(report->differences, 0) << (report->samples.empty() ? "" : report->samples.front());
  // Deleting the conversation takes every message out of the counts, pending or folded.
  ASSERT_OK(s->DeleteConversation(conv->id));
  sum = s->GetCostSummary({.days = 1});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_messages, 0);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_rollups"), 0);
  report = s->VerifyRollups();
  ASSERT_OK(report);
  EXPECT_EQ(report->differences, 0);
}

// Large messages (their cost columns in overflow pages) are pending in place like any other: counted exactly
// before and after a fold, and through a delete.
TEST(CostEngineTest, LargeMessagesArePendingInPlaceAndCountedExactly) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  const std::string large(20'000, 'L');
  NanoUsd total = 0;
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(s->AddMessage(conv->id, {.content = i % 3 == 0 ? "small" : large, .model = "m",
                                       .tokens_input = 10, .cost_nanousd = 100 + i}));
    total += 100 + i;
    if (i == 200) {
      EXPECT_EQ(QueryInt(db.path(), testing::kPendingMessagesSql), 201);
      auto sum = s->GetCostSummary({.days = 1});
      ASSERT_OK(sum);
      EXPECT_EQ(sum->total_cost_nanousd, total);
    }
  }
  EXPECT_EQ(QueryInt(db.path(), testing::kPendingMessagesSql), 300 - 256);
  EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_pending"), 0);
  ASSERT_OK(s->PopMessage(conv->id));
  auto sum = s->GetCostSummary({.days = 1});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_messages, 300);
  EXPECT_EQ(sum->total_cost_nanousd, total);
  ASSERT_FALSE(sum->daily.empty());
  EXPECT_EQ(sum->daily.front().tokens_input, 3000);
  auto report = s->VerifyRollups();
  ASSERT_OK(report);
  EXPECT_EQ(report->differences, 0) << (report->samples.empty() ? "" : report->samples.front());
}

// Pending messages are folded whenever they reach the fold size, whatever the batch sizes: a batch adds several
// at once and must not step over the fold. Messages write no cost_pending row.
TEST(CostEngineTest, PendingRowsFoldWhateverTheBatchSizes) {
  for (size_t size : {2u, 3u, 7u, 15u, 16u}) {
    TempDb db;
    auto s = OpenOrDie(db.path());
    auto conv = s->CreateConversation({.user_key = "ana"});
    ASSERT_OK(conv);
    ASSERT_OK(s->AddMessage(conv->id, {.content = "one", .model = "m", .cost_nanousd = 1}));
    int64_t most = 0;
    std::vector<NewMessage> batch(size, NewMessage{.content = "x", .model = "m", .cost_nanousd = 1});
    for (int i = 0; i < 2000 / static_cast<int>(size); ++i) {
      ASSERT_OK(s->AddMessages(conv->id, batch));
      most = std::max(most, QueryInt(db.path(), testing::kPendingMessagesSql));
      EXPECT_EQ(QueryInt(db.path(), "SELECT count(*) FROM cost_pending"), 0);
    }
    EXPECT_GT(most, 0) << "batches of " << size;
    EXPECT_LT(most, 256) << "batches of " << size;
    auto sum = s->GetCostSummary({.days = 1});
    ASSERT_OK(sum);
    EXPECT_EQ(sum->total_messages, 1 + (2000 / static_cast<int64_t>(size)) * static_cast<int64_t>(size));
  }
}

// The random workload with constant batch sizes (2, 3, 7, 15): answers exact, pending rows below the fold size.
TEST(CostEngineTest, RandomWorkloadsWithBatchPatterns) {
  for (size_t size : {2u, 3u, 7u, 15u}) {
    TempDb db;
    Clock clock;
    Options o;
    auto s = WorkloadStore(db.path(), clock, o);
    std::mt19937_64 rng(size);
    Workload w;
    RunWorkload(*s, clock, rng, w, 400, size);
    if (HasFatalFailure()) return;
    EXPECT_LT(QueryInt(db.path(), "SELECT count(*) FROM cost_pending"), 256);
    EXPECT_LT(QueryInt(db.path(), testing::kPendingMessagesSql), 256);
    auto report = s->VerifyRollups();
    ASSERT_OK(report);
    EXPECT_EQ(report->differences, 0) << (report->samples.empty() ? "" : report->samples.front());
    CheckSummaries(*s, db.path(), w);
  }
}

TEST(CostEngineTest, VerifyFindsDamageAndRebuildRepairsIt) {
  TempDb db;
  Clock clock;
  // No background full-text indexer: its transactions would hold the write lock the damaging connection needs.
  Options o;
  o.background_indexing = false;
  auto s = WorkloadStore(db.path(), clock, o);
  std::mt19937_64 rng(7);
  Workload w;
  RunWorkload(*s, clock, rng, w, 100);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);  // the store's background indexer may be writing
    ASSERT_EQ(sqlite3_exec(raw, "UPDATE cost_rollups SET cost_nanousd = cost_nanousd + 1 WHERE day ="
                                " (SELECT max(day) FROM cost_rollups); UPDATE cost_totals SET count = count + 5;"
                                " DELETE FROM cost_rollups WHERE day = (SELECT min(day) FROM cost_rollups)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  auto bad = s->VerifyRollups();
  ASSERT_OK(bad);
  EXPECT_GT(bad->differences, 0);
  EXPECT_FALSE(bad->samples.empty());
  EXPECT_FALSE(bad->repaired);
  auto fixed = s->RebuildRollups();
  ASSERT_OK(fixed);
  EXPECT_TRUE(fixed->repaired);
  EXPECT_EQ(fixed->differences, bad->differences);
  auto again = s->VerifyRollups();
  ASSERT_OK(again);
  EXPECT_EQ(again->differences, 0);
}

TEST(CostEngineTest, SeedSummaryShapeAndUsageStats) {
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  // 1000 assistant messages with latencies 1..1000 ms over two days.
  for (int i = 1; i <= 1000; ++i) {
    ASSERT_OK(s->AddMessage(conv->id, {.role = Role::kAssistant, .content = "x", .model = "m",
                                       .tokens_input = 10, .tokens_output = 20, .cost_nanousd = 3,
                                       .latency_us = i * 1000, .created_at = kT0 - (i % 2) * kDay}));
  }
  auto sum = s->GetCostSummary({.days = 7});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->plan, "totals");
  ASSERT_EQ(sum->daily.size(), 2u);
  EXPECT_EQ(sum->daily[0].message_count, 500);
  EXPECT_EQ(sum->daily[0].tokens_input, 5000);
  EXPECT_EQ(sum->total_messages, 1000);
  EXPECT_EQ(sum->total_cost_nanousd, 3000);
  EXPECT_EQ(sum->avg_cost_per_message_nanousd, 3);
  auto stats = s->GetUsageStats({.days = 7});
  ASSERT_OK(stats);
  ASSERT_EQ(stats->size(), 1u);
  const UsageStat& u = stats->front();
  EXPECT_EQ(u.user_key, "ana");
  EXPECT_EQ(u.calls, 1000);
  EXPECT_EQ(u.avg_latency_us, 500'500);
  for (auto [got, exact] : {std::pair{u.p50_latency_us, 500'000.0}, {u.p95_latency_us, 950'000.0},
                            {u.p99_latency_us, 990'000.0}})
    EXPECT_LE(std::abs(static_cast<double>(got) - exact) / exact, 0.05) << got << " vs " << exact;
  // Week and month groups; an unknown dimension is refused.
  auto weeks = s->GroupCosts({.days = 7}, {"month", "week", "role"});
  ASSERT_OK(weeks);
  ASSERT_FALSE(weeks->groups.empty());
  EXPECT_EQ(weeks->groups[0].keys[0], "2026-05");
  EXPECT_EQ(weeks->groups[0].keys[1], "2026-05-25");  // the Monday of 2026-05-27 / 28
  EXPECT_CODE(s->GroupCosts({.days = 7}, {"planet"}), Code::kInvalidArgument);
}

TEST(CostEngineTest, TeamSpendView) {
  Clock clock;
  clock.now->store(1'781'265'600'000'000);  // 2026-06-12T12:00:00Z
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertTeam({.key = "netops", .monthly_budget_nanousd = 1000 * kNanoUsdPerUsd}));
  ASSERT_OK(s->UpsertUser({.key = "ana", .team_key = std::string("netops")}));
  // $10 a day for the last 40 days.
  for (int d = 0; d < 40; ++d)
    ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 10 * kNanoUsdPerUsd,
                                 .recorded_at = clock.now->load() - d * kDay}));
  auto view = s->GetTeamSpend("netops", 30);
  ASSERT_OK(view);
  EXPECT_EQ(view->month, "2026-06");
  EXPECT_EQ(view->month_to_date_nanousd, 12 * 10 * kNanoUsdPerUsd);  // June 1..12
  ASSERT_TRUE(view->budget_used_percent.has_value());
  EXPECT_NEAR(*view->budget_used_percent, 12.0, 1e-9);
  EXPECT_EQ(view->daily_average_nanousd, 10 * kNanoUsdPerUsd);
  EXPECT_EQ(view->monthly_projection_nanousd, 300 * kNanoUsdPerUsd);
  EXPECT_EQ(view->annual_projection_nanousd, 3600 * kNanoUsdPerUsd);
  // 11.5 days elapsed, $120 spent: 120 * 30 / 11.5.
  EXPECT_EQ(view->projected_month_end_nanousd, 313'043'478'261);
  EXPECT_CODE(s->GetTeamSpend("nobody", 30), Code::kNotFound);
  EXPECT_CODE(s->GetTeamSpend("netops", 0), Code::kInvalidArgument);
}

// ---- budgets ------------------------------------------------------------------------------------------

// The default summary counts what budgets count: messages and API usage (reserve/settle, RecordApiUsage).
TEST(BudgetTest, TheDefaultSummaryCountsWhatBudgetsCount) {
  auto s = OpenOrDie(":memory:");
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  auto conv = s->CreateConversation({.user_key = "ana"});
  ASSERT_OK(conv);
  ASSERT_OK(s->AddMessage(conv->id, {.role = Role::kAssistant, .content = "x", .cost_nanousd = 250}));
  auto b = s->SetBudget({.name = "day", .scope = "global", .period = "day", .hard_limit_nanousd = 10'000});
  ASSERT_OK(b);
  ASSERT_OK(s->Reserve({.request_id = "call-1", .user_key = "ana", .estimated_cost_nanousd = 1000}));
  ASSERT_OK(s->Settle("call-1", {.model = "m", .cost_nanousd = 500}));
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 125}));
  auto budgets = s->GetBudgets(0);
  ASSERT_OK(budgets);
  ASSERT_EQ(budgets->size(), 1u);
  auto summary = s->GetCostSummary({.from = b->window_from, .to = b->window_to});
  ASSERT_OK(summary);
  EXPECT_EQ(summary->total_cost_nanousd, 875);
  EXPECT_EQ(summary->total_cost_nanousd, (*budgets)[0].spent_nanousd);
  auto messages = s->GetCostSummary({.from = b->window_from, .to = b->window_to, .source = "message"});
  ASSERT_OK(messages);
  EXPECT_EQ(messages->total_cost_nanousd, 250);
}

TEST(BudgetTest, ReserveSettleReleaseExpire) {
  Clock clock;
  Options o;
  o.env = clock.env();
  std::vector<BudgetAlert> alerts;
  o.on_budget_alert = [&](const BudgetAlert& a) { alerts.push_back(a); };
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertTeam({.key = "netops"}));
  ASSERT_OK(s->UpsertUser({.key = "ana", .team_key = std::string("netops")}));
  auto b = s->SetBudget({.name = "netops-daily", .scope = "team", .scope_key = "netops", .period = "day",
                         .hard_limit_nanousd = 100, .soft_limit_nanousd = 80});
  ASSERT_OK(b);
  EXPECT_EQ(b->spent_nanousd, 0);

  auto r1 = s->Reserve({.request_id = "r1", .user_key = "ana", .estimated_cost_nanousd = 60});
  ASSERT_OK(r1);
  EXPECT_EQ(r1->state, "open");
  ASSERT_EQ(r1->budgets.size(), 1u);
  EXPECT_EQ(r1->budgets[0].reserved_nanousd, 60);
  // 60 reserved + 50 > 100: refused, nothing written.
  EXPECT_CODE(s->Reserve({.request_id = "r2", .user_key = "ana", .estimated_cost_nanousd = 50}),
              Code::kBudgetExceeded);
  EXPECT_CODE(s->Release("r2"), Code::kNotFound);
  // A retry of r1 is the same reservation.
  auto retry = s->Reserve({.request_id = "r1", .user_key = "ana", .estimated_cost_nanousd = 60});
  ASSERT_OK(retry);
  EXPECT_EQ(retry->amount_nanousd, 60);
  // Settling records the usage and frees the reservation; spend 85 crosses the soft limit.
  auto used = s->Settle("r1", {.model = "m", .tokens_input = 5, .cost_nanousd = 85});
  ASSERT_OK(used);
  EXPECT_EQ(used->request_id, "r1");
  EXPECT_EQ(used->user_key, "ana");
  EXPECT_EQ(used->team_key, "netops");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].budget_name, "netops-daily");
  EXPECT_EQ(alerts[0].limit, "soft");
  auto again = s->Settle("r1", {.model = "m", .cost_nanousd = 85});
  ASSERT_OK(again);
  EXPECT_EQ(again->id, used->id);
  EXPECT_EQ(alerts.size(), 1u);
  auto states = s->GetBudgets(0.8);
  ASSERT_OK(states);
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].spent_nanousd, 85);
  EXPECT_EQ((*states)[0].reserved_nanousd, 0);
  EXPECT_TRUE((*states)[0].over_soft);
  EXPECT_FALSE((*states)[0].over_hard);
  EXPECT_EQ(s->GetBudgets(0.9)->size(), 0u);

  // 85 spent: 20 more is refused, 15 admitted; an abandoned reservation expires and stops counting.
  EXPECT_CODE(s->Reserve({.request_id = "r3", .user_key = "ana", .estimated_cost_nanousd = 20}),
              Code::kBudgetExceeded);
  ASSERT_OK(s->Reserve({.request_id = "r4", .user_key = "ana", .estimated_cost_nanousd = 15, .ttl_us = 1'000'000}));
  EXPECT_CODE(s->Reserve({.request_id = "r5", .user_key = "ana", .estimated_cost_nanousd = 1}),
              Code::kBudgetExceeded);
  clock.now->fetch_add(2'000'000);
  auto r5 = s->Reserve({.request_id = "r5", .user_key = "ana", .estimated_cost_nanousd = 1});
  ASSERT_OK(r5);
  auto released = s->Release("r5");
  ASSERT_OK(released);
  EXPECT_EQ(released->state, "released");
  EXPECT_CODE(s->Settle("r5", {.model = "m"}), Code::kConflict);
  EXPECT_CODE(s->Release("r1"), Code::kConflict);
  // The next day is a new window: nothing to reset.
  clock.now->fetch_add(kDay);
  ASSERT_OK(s->Reserve({.request_id = "r6", .user_key = "ana", .estimated_cost_nanousd = 100}));
  ASSERT_OK(s->DeleteBudget("netops-daily"));
  EXPECT_CODE(s->DeleteBudget("netops-daily"), Code::kNotFound);
}

TEST(BudgetTest, UserBudgetsCountDaysAndRollingTeamBudgetsCountHours) {
  Clock clock;
  clock.now->store(1'781'265'600'000'000);  // 2026-06-12T12:00:00Z
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertTeam({.key = "t"}));
  ASSERT_OK(s->UpsertUser({.key = "ana", .team_key = std::string("t")}));
  EXPECT_CODE(s->SetBudget({.name = "ana-36h", .scope = "user", .scope_key = "ana", .period = "rolling",
                            .window_hours = 36, .hard_limit_nanousd = 100}),
              Code::kInvalidArgument);
  auto ana = s->SetBudget({.name = "ana-2d", .scope = "user", .scope_key = "ana", .period = "rolling",
                           .window_hours = 48, .hard_limit_nanousd = 100});
  ASSERT_OK(ana);
  EXPECT_EQ(ana->window_from, 1'781'136'000'000'000);  // 2026-06-11T00:00Z
  EXPECT_EQ(ana->window_to, 1'781'308'800'000'000);    // 2026-06-13T00:00Z
  auto team = s->SetBudget({.name = "t-3h", .scope = "team", .scope_key = "t", .period = "rolling",
                            .window_hours = 3, .hard_limit_nanousd = 100});
  ASSERT_OK(team);
  EXPECT_EQ(team->window_to - team->window_from, 3 * kHour);
  // Spend 5 hours ago counts for the user's two days but not for the team's three hours.
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 40,
                               .recorded_at = clock.now->load() - 5 * kHour}));
  auto states = s->GetBudgets(0);
  ASSERT_OK(states);
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].budget.name, "ana-2d");
  EXPECT_EQ((*states)[0].spent_nanousd, 40);
  EXPECT_EQ((*states)[1].spent_nanousd, 0);
  EXPECT_CODE(s->Reserve({.request_id = "big", .user_key = "ana", .estimated_cost_nanousd = 61}),
              Code::kBudgetExceeded);
  ASSERT_OK(s->Reserve({.request_id = "ok", .user_key = "ana", .estimated_cost_nanousd = 60}));
}

TEST(BudgetTest, RacingReservationsNeverExceedTheHardLimit) {
  TempDb db;
  {
    auto setup = OpenOrDie(db.path());
    ASSERT_OK(setup->UpsertTeam({.key = "t"}));
    for (int u = 0; u < 4; ++u)
      ASSERT_OK(setup->UpsertUser({.key = "u" + std::to_string(u), .team_key = std::string("t")}));
    ASSERT_OK(setup->SetBudget({.name = "t-month", .scope = "team", .scope_key = "t", .period = "month",
                                .hard_limit_nanousd = 1000}));
  }
  // Two store handles on the same file (as two processes would be), four threads each.
  auto a = OpenOrDie(db.path());
  auto b = OpenOrDie(db.path());
  std::atomic<int> admitted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ConversationStore& s = t % 2 ? *a : *b;
      for (int i = 0; i < 60; ++i) {
        std::string id = "req-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = s.Reserve({.request_id = id, .user_key = "u" + std::to_string(t % 4), .estimated_cost_nanousd = 7});
        if (r.ok()) {
          ++admitted;
          if (i % 3 == 0) {
            auto settled = s.Settle(id, {.model = "m", .cost_nanousd = 7});
            EXPECT_TRUE(settled.ok()) << settled.status().ToString();
          }
        } else {
          EXPECT_EQ(r.status().code(), Code::kBudgetExceeded) << r.status().ToString();
          ++refused;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 1000 / 7);  // exactly as many as fit: 142 x 7 = 994
  EXPECT_EQ(admitted + refused, 480);
  EXPECT_LE(QueryInt(db.path(), "SELECT sum(amount_nanousd) FROM budget_reservations WHERE state IN (0, 1)"), 1000);
}

TEST(BudgetTest, RequestIdsAreNotSharedAcrossUsersOrReusedAfterRelease) {
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  ASSERT_OK(s->UpsertUser({.key = "bob"}));
  ASSERT_OK(s->RecordApiUsage({.user_key = "bob", .model = "m", .cost_nanousd = 5, .request_id = "r1"}));
  // Another user's retry key is a conflict, not bob's record (and not a reservation settled against it).
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 8, .request_id = "r1"}),
              Code::kConflict);
  EXPECT_CODE(s->Reserve({.request_id = "r1", .user_key = "ana", .estimated_cost_nanousd = 10}), Code::kConflict);
  ASSERT_OK(s->Reserve({.request_id = "r2", .user_key = "ana", .estimated_cost_nanousd = 10}));
  EXPECT_CODE(s->Reserve({.request_id = "r2", .user_key = "bob", .estimated_cost_nanousd = 10}), Code::kConflict);
  ASSERT_OK(s->Release("r2"));
  // Retrying a released (or expired) reservation is refused: it no longer holds budget.
  EXPECT_CODE(s->Reserve({.request_id = "r2", .user_key = "ana", .estimated_cost_nanousd = 10}), Code::kConflict);
  ASSERT_OK(s->Reserve({.request_id = "r3", .user_key = "ana", .estimated_cost_nanousd = 10, .ttl_us = 1'000'000}));
  clock.now->fetch_add(2'000'000);
  EXPECT_CODE(s->Reserve({.request_id = "r3", .user_key = "ana", .estimated_cost_nanousd = 10}), Code::kConflict);
}

// A reservation's request_id belongs to its settle: recording usage under it is refused (as reserving the
// request_id of recorded usage is), so the real usage is never lost behind a record that settle then returns.
TEST(BudgetTest, RecordingUsageUnderAReservationsRequestIdIsAConflict) {
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  ASSERT_OK(s->Reserve({.request_id = "call-1", .user_key = "ana", .estimated_cost_nanousd = 4 * kNanoUsdPerUsd}));
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 1, .request_id = "call-1"}),
              Code::kConflict);
  auto settled = s->Settle("call-1", {.model = "m", .cost_nanousd = 9 * kNanoUsdPerUsd});
  ASSERT_OK(settled);
  EXPECT_EQ(settled->cost_nanousd, 9 * kNanoUsdPerUsd);
  // Once settled, recording the same request_id again is the settle's retry: the settled record, nothing new.
  auto retry = s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 1, .request_id = "call-1"});
  ASSERT_OK(retry);
  EXPECT_EQ(retry->id, settled->id);
  EXPECT_EQ(retry->cost_nanousd, 9 * kNanoUsdPerUsd);
  // A released reservation's request_id stays spent.
  ASSERT_OK(s->Reserve({.request_id = "call-2", .user_key = "ana", .estimated_cost_nanousd = 1}));
  ASSERT_OK(s->Release("call-2"));
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 1, .request_id = "call-2"}),
              Code::kConflict);
  auto sum = s->GetCostSummary({.days = 1, .source = "api"});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_cost_nanousd, 9 * kNanoUsdPerUsd);
}

// Hard budgets cap what reservations admit, not what calls cost: a settle above its reservation (or after it
// expired) is recorded, and the overage is reported in its result and raised as a hard alert.
TEST(BudgetTest, SettleReportsSpendPastAHardLimitAndAlerts) {
  Clock clock;
  Options o;
  o.env = clock.env();
  std::vector<BudgetAlert> alerts;
  o.on_budget_alert = [&](const BudgetAlert& a) { alerts.push_back(a); };
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  ASSERT_OK(s->SetBudget({.name = "day", .scope = "user", .scope_key = "ana", .period = "day",
                          .hard_limit_nanousd = 10 * kNanoUsdPerUsd}));
  ASSERT_OK(s->Reserve({.request_id = "r1", .user_key = "ana", .estimated_cost_nanousd = 1 * kNanoUsdPerUsd}));
  auto settled = s->Settle("r1", {.model = "m", .cost_nanousd = 50 * kNanoUsdPerUsd});
  ASSERT_OK(settled);
  EXPECT_EQ(settled->cost_nanousd, 50 * kNanoUsdPerUsd);  // recorded: the call happened
  ASSERT_EQ(settled->budget_overages.size(), 1u);
  EXPECT_EQ(settled->budget_overages[0].budget_name, "day");
  EXPECT_EQ(settled->budget_overages[0].limit_nanousd, 10 * kNanoUsdPerUsd);
  EXPECT_EQ(settled->budget_overages[0].spent_nanousd, 50 * kNanoUsdPerUsd);
  EXPECT_EQ(settled->budget_overages[0].overage_nanousd, 40 * kNanoUsdPerUsd);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].limit, "hard");
  EXPECT_EQ(alerts[0].spent_nanousd, 50 * kNanoUsdPerUsd);
  // Already past the limit: a reservation is refused, and a late settle of an expired one still records and
  // reports (and alerts again: this call added to the overage).
  ASSERT_OK(s->SetBudget({.name = "day", .scope = "user", .scope_key = "ana", .period = "day",
                          .hard_limit_nanousd = 60 * kNanoUsdPerUsd}));
  ASSERT_OK(s->Reserve({.request_id = "r2", .user_key = "ana", .estimated_cost_nanousd = 5 * kNanoUsdPerUsd,
                        .ttl_us = 1'000'000}));
  clock.now->fetch_add(2'000'000);  // r2 expires
  ASSERT_OK(s->Reserve({.request_id = "r3", .user_key = "ana", .estimated_cost_nanousd = 9 * kNanoUsdPerUsd}));
  auto late = s->Settle("r2", {.model = "m", .cost_nanousd = 5 * kNanoUsdPerUsd});
  ASSERT_OK(late);
  EXPECT_TRUE(late->budget_overages.empty());  // 55 <= 60 (r3's reservation is not spend)
  auto r3 = s->Settle("r3", {.model = "m", .cost_nanousd = 9 * kNanoUsdPerUsd});
  ASSERT_OK(r3);
  ASSERT_EQ(r3->budget_overages.size(), 1u);
  EXPECT_EQ(r3->budget_overages[0].overage_nanousd, 4 * kNanoUsdPerUsd);
  EXPECT_EQ(alerts.size(), 2u);
  // A settle within its reservation and within the limit reports nothing.
  ASSERT_OK(s->SetBudget({.name = "day", .scope = "user", .scope_key = "ana", .period = "day",
                          .hard_limit_nanousd = 1000 * kNanoUsdPerUsd}));
  ASSERT_OK(s->Reserve({.request_id = "r4", .user_key = "ana", .estimated_cost_nanousd = 2 * kNanoUsdPerUsd}));
  auto fine = s->Settle("r4", {.model = "m", .cost_nanousd = 1 * kNanoUsdPerUsd});
  ASSERT_OK(fine);
  EXPECT_TRUE(fine->budget_overages.empty());
  EXPECT_EQ(alerts.size(), 2u);
}

TEST(BudgetTest, BackdatedSpendOutsideTheWindowRaisesNoAlert) {
  Clock clock;
  Options o;
  o.env = clock.env();
  std::vector<BudgetAlert> alerts;
  o.on_budget_alert = [&](const BudgetAlert& a) { alerts.push_back(a); };
  auto s = OpenOrDie(":memory:", o);
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  ASSERT_OK(s->SetBudget({.name = "day", .scope = "global", .period = "day", .hard_limit_nanousd = 100}));
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 120}));
  ASSERT_EQ(alerts.size(), 1u);
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 30, .recorded_at = kT0 - 2 * kDay}));
  EXPECT_EQ(alerts.size(), 1u);
}

TEST(CostEngineTest, TotalsBeyondInt64AreReportedNotWrapped) {
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(":memory:", o);
  // A hard budget over the user: its check of each record must not refuse the write either.
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  ASSERT_OK(s->SetBudget({.name = "cap", .scope = "user", .scope_key = "ana", .period = "day",
                          .hard_limit_nanousd = 1'000'000'000'000'000'000}));
  // $1M per row (the limit) x 9,300 rows in one hour: the day's cost total passes INT64_MAX nano-USD ($9.2e9).
  // Every row is stored (raw rows are never refused for the rollups' sake); queries over that day say kTooLarge.
  for (int i = 0; i < 9300; ++i)
    ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 1'000'000'000'000'000,
                                 .recorded_at = kT0 - kHour}));
  EXPECT_CODE(s->GetCostSummary({.days = 2, .source = "api"}), Code::kTooLarge);
  EXPECT_CODE(s->GetCostSummary({.days = 2, .user_key = "ana", .source = "api"}), Code::kTooLarge);
  // Other days are unaffected.
  ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 5, .recorded_at = kT0 - 10 * kDay}));
  auto old = s->GetCostSummary({.from = kT0 - 11 * kDay, .to = kT0 - 9 * kDay, .source = "api"});
  ASSERT_OK(old);
  EXPECT_EQ(old->total_cost_nanousd, 5);
}

// A day whose exact sum passes INT64_MAX: verify compares exactly and says "overflow" (not a difference), and a
// rebuild keeps the rows that do not fit pending instead of failing.
TEST(CostEngineTest, VerifyAndRebuildAreExactBeyondInt64) {
  TempDb db;
  Clock clock;
  Options o;
  o.env = clock.env();
  auto s = OpenOrDie(db.path(), o);
  for (int i = 0; i < 9300; ++i)
    ASSERT_OK(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 1'000'000'000'000'000,
                                 .recorded_at = kT0 - kHour}));
  ASSERT_OK(s->RecordApiUsage({.user_key = "bob", .model = "m", .cost_nanousd = 7, .recorded_at = kT0 - 5 * kDay}));
  auto report = s->VerifyRollups();
  ASSERT_OK(report);
  EXPECT_EQ(report->differences, 0) << (report->samples.empty() ? "" : report->samples.front());
  EXPECT_GT(report->overflows, 0);
  ASSERT_FALSE(report->samples.empty());
  EXPECT_NE(report->samples.front().find("overflow"), std::string::npos) << report->samples.front();
  // Damage another day; the rebuild repairs it and keeps the overflowing day's rows pending.
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);  // the store's background indexer may be writing
    ASSERT_EQ(sqlite3_exec(raw, "UPDATE cost_rollups SET cost_nanousd = 99 WHERE day = (SELECT min(day) FROM cost_rollups)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto bad = s->VerifyRollups();
  ASSERT_OK(bad);
  EXPECT_EQ(bad->differences, 1);
  auto fixed = s->RebuildRollups();
  ASSERT_OK(fixed);
  EXPECT_TRUE(fixed->repaired);
  auto again = s->VerifyRollups();
  ASSERT_OK(again);
  EXPECT_EQ(again->differences, 0) << (again->samples.empty() ? "" : again->samples.front());
  EXPECT_EQ(again->overflows, report->overflows);
  EXPECT_CODE(s->GetCostSummary({.days = 2, .source = "api"}), Code::kTooLarge);
  auto old = s->GetCostSummary({.from = kT0 - 6 * kDay, .to = kT0 - 4 * kDay, .source = "api"});
  ASSERT_OK(old);
  EXPECT_EQ(old->total_cost_nanousd, 7);
}

// ---- bad input: a clear error, nothing written ---------------------------------------------------------

TEST(CostBadInputTest, EveryEntryPointRefusesBadInputAndWritesNothing) {
  TempDb db;
  auto s = OpenOrDie(db.path());
  ASSERT_OK(s->UpsertUser({.key = "ana"}));
  auto snapshot = [&] {
    return QueryInt(db.path(), "SELECT (SELECT count(*) FROM prices) * 1000000 + (SELECT count(*) FROM api_usage) * 10000"
                               " + (SELECT count(*) FROM budgets) * 100 + (SELECT count(*) FROM budget_reservations)");
  };
  const int64_t before = snapshot();
  EXPECT_CODE(s->AddPrice({.model = ""}), Code::kInvalidArgument);
  EXPECT_CODE(s->AddPrice({.model = "m", .input_per_mtok = -1}), Code::kInvalidArgument);
  EXPECT_CODE(s->AddPrice({.model = "m", .output_per_mtok = INT64_MAX}), Code::kInvalidArgument);
  EXPECT_CODE(s->AddPrice({.model = "m", .effective_from = -5}), Code::kInvalidArgument);
  EXPECT_CODE(s->AddPrice({.model = std::string("\xff", 1)}), Code::kInvalidArgument);
  EXPECT_CODE(s->ResolvePrice("m", -1), Code::kInvalidArgument);
  EXPECT_CODE(s->Reprice(10, 5), Code::kInvalidArgument);
  EXPECT_CODE(s->RecordApiUsage({.model = "m"}), Code::kInvalidArgument);  // no user
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana"}), Code::kInvalidArgument);  // no model
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .tokens_input = -1}), Code::kInvalidArgument);
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_nanousd = 1, .cost_usd = 1.0}),
              Code::kInvalidArgument);
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .cost_usd = NAN}), Code::kInvalidArgument);
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .status = "maybe"}), Code::kInvalidArgument);
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .model = "m", .metadata_json = "[1]"}), Code::kInvalidArgument);
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .team_key = std::string("nope"), .model = "m"}), Code::kNotFound);
  EXPECT_CODE(s->RecordApiUsage({.user_key = "ana", .conversation_id = "nope", .model = "m"}), Code::kNotFound);
  EXPECT_CODE(s->GetCostSummary({.days = 0}), Code::kInvalidArgument);
  EXPECT_CODE(s->GetCostSummary({.from = 10, .to = 5}), Code::kInvalidArgument);
  EXPECT_CODE(s->GetCostSummary({.source = "everything"}), Code::kInvalidArgument);
  EXPECT_CODE(s->GetCostSummary({.utc_offset_minutes = 1441}), Code::kInvalidArgument);
  auto nobody = s->GetCostSummary({.user_key = "nobody"});  // an unknown key selects nothing
  ASSERT_OK(nobody);
  EXPECT_EQ(nobody->total_cost_nanousd, 0);
  // ... a team's too, whichever plan serves it.
  auto no_team_summary = s->GetCostSummary({.team_key = "nobody"});
  ASSERT_OK(no_team_summary);
  EXPECT_EQ(no_team_summary->total_cost_nanousd, 0);
  EXPECT_EQ(no_team_summary->total_messages, 0);
  auto no_team_groups = s->GroupCosts({.team_key = "nobody"}, {"user"});
  ASSERT_OK(no_team_groups);
  EXPECT_TRUE(no_team_groups->groups.empty());
  EXPECT_CODE(s->GroupCosts({}, {}), Code::kInvalidArgument);
  EXPECT_CODE(s->GroupCosts({}, {"day", "day"}), Code::kInvalidArgument);
  auto no_team = s->GetUsageStats({.team_key = "nobody"});
  ASSERT_OK(no_team);
  EXPECT_TRUE(no_team->empty());
  EXPECT_CODE(s->SetBudget({.name = "b", .scope = "planet", .period = "day", .hard_limit_nanousd = 1}),
              Code::kInvalidArgument);
  EXPECT_CODE(s->SetBudget({.name = "b", .scope = "team", .scope_key = "nope", .period = "day",
                            .hard_limit_nanousd = 1}),
              Code::kNotFound);
  EXPECT_CODE(s->SetBudget({.name = "b", .scope = "global", .period = "day"}), Code::kInvalidArgument);
  EXPECT_CODE(s->SetBudget({.name = "b", .scope = "global", .period = "rolling", .hard_limit_nanousd = 1}),
              Code::kInvalidArgument);
  EXPECT_CODE(s->SetBudget({.name = "b", .scope = "global", .period = "day", .window_hours = 3,
                            .hard_limit_nanousd = 1}),
              Code::kInvalidArgument);
  EXPECT_CODE(s->SetBudget({.name = "", .scope = "global", .period = "day", .hard_limit_nanousd = 1}),
              Code::kInvalidArgument);
  EXPECT_CODE(s->GetBudgets(-1), Code::kInvalidArgument);
  EXPECT_CODE(s->GetBudgets(NAN), Code::kInvalidArgument);
  EXPECT_CODE(s->Reserve({.request_id = "", .user_key = "ana"}), Code::kInvalidArgument);
  EXPECT_CODE(s->Reserve({.request_id = "r", .user_key = "nobody"}), Code::kNotFound);
  EXPECT_CODE(s->Reserve({.request_id = "r", .user_key = "ana", .estimated_cost_nanousd = -1}),
              Code::kInvalidArgument);
  EXPECT_CODE(s->Reserve({.request_id = "r", .user_key = "ana", .ttl_us = 0}), Code::kInvalidArgument);
  EXPECT_CODE(s->Settle("nothing", {.model = "m"}), Code::kNotFound);
  EXPECT_CODE(s->Settle("r", {.model = "m", .request_id = "other"}), Code::kInvalidArgument);
  EXPECT_CODE(s->Release(""), Code::kInvalidArgument);
  EXPECT_CODE(s->DeleteBudget("nope"), Code::kNotFound);
  EXPECT_EQ(snapshot(), before);
}

}  // namespace
}  // namespace convstore
