// Cost-engine benchmarks, each next to its raw-SQLite baseline on the same file in the same run:
//
//   * the 30-day cost summary (everything; one user) and a team budget check on stores of 100k, 1M and 10M
//     messages, against the full-scan GROUP BY / SUM over the raw rows a hand-rolled design runs;
//   * what rollup upkeep adds to a single add_message (the same writes with the rollup step switched off).
//
//   build/bench/convstore_cost_bench                                   # everything
//   CONVSTORE_COST_BENCH_SIZES=100k,1m build/bench/convstore_cost_bench # skip the 10M store
//
// The stores are built once (batched add_messages, ~3 minutes for 10M on 2 cores) under build/bench-data/ (or
// $CONVSTORE_BENCH_DIR) and reused; a .complete marker tells a finished build from an interrupted one.
#include <convstore/convstore.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "bench_support.h"
#include "cost/rollups.h"  // SetRollupsEnabledForBenchmark (internal)

namespace {

using convstore::ConversationStore;
using convstore::NewMessage;

constexpr int64_t kDay = 86'400'000'000;
constexpr int kUsers = 1000;
constexpr int kTeams = 20;
constexpr int kPerConversation = 100;
const char* const kModels[] = {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-pro"};

std::unique_ptr<ConversationStore> Open(const std::string& path) {
  auto s = ConversationStore::Open(path);
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return std::move(*s);
}

std::string UserKey(int u) { return "user" + std::to_string(u) + "@corp.example"; }
std::string TeamKey(int t) { return "team" + std::to_string(t); }

NewMessage CostMsg(int64_t i, int64_t at) {
  NewMessage m;
  m.role = i % 2 ? convstore::Role::kAssistant : convstore::Role::kUser;
  m.content = "How do I configure BGP route reflectors on the core routers? #" + std::to_string(i);
  m.model = kModels[i % 5];
  m.tokens_input = 200 + i % 1800;
  m.tokens_output = 100 + i % 900;
  m.cost_nanousd = 1'000'000 + (i * 7919) % 20'000'000;
  if (i % 2) m.latency_us = 200'000 + (i * 104729) % 3'000'000;
  m.created_at = at;
  return m;
}

struct CostStore {
  std::string path;
  int64_t messages = 0;
  int64_t built_at = 0;  // µs; data spans the 365 days before it
  std::unique_ptr<ConversationStore> store;
  std::vector<std::pair<int64_t, std::string>> recent_users;  // (row id, key) of users with spend in the last 30 days
};

// Users whose conversations fall in the last 30 days: the one-user benchmarks ask about them (ours and the raw
// baseline alike), so neither reads an empty month.
std::vector<std::pair<int64_t, std::string>> RecentUsers(const std::string& path) {
  sqlite3* db = bench::OpenRaw(path);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT DISTINCT u.id, u.key FROM conversations c JOIN users u ON u.id = c.user_id"
                     " WHERE c.created_at >= ?1 ORDER BY u.id",
                     -1, &st, nullptr);
  sqlite3_bind_int64(st, 1, std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count() - 29 * kDay);
  std::vector<std::pair<int64_t, std::string>> out;
  while (sqlite3_step(st) == SQLITE_ROW)
    out.emplace_back(sqlite3_column_int64(st, 0), reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (out.empty()) throw std::runtime_error("no user has conversations in the last 30 days of " + path);
  return out;
}

// Builds (or reuses) a store of n messages: 1000 users in 20 teams, 100 messages per conversation (conversation j
// belongs to user j mod 1000), conversations spread in a shuffled order over the 365 days before the build (so each
// user's spend is spread over the year), five models, explicit costs; a monthly budget on team0.
CostStore& GetStore(const std::string& label, int64_t n) {
  static std::map<std::string, CostStore> stores;
  auto it = stores.find(label);
  if (it != stores.end()) return it->second;
  CostStore c;
  c.path = bench::DataDir() + "/cost-" + label + ".db";
  c.messages = n;
  const std::string marker = c.path + ".complete";
  if (std::ifstream in(marker); in >> c.built_at) {
    c.store = Open(c.path);
  } else {
    bench::RemoveDb(c.path);
    auto start = std::chrono::steady_clock::now();
    c.built_at = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    c.store = Open(c.path);
    for (int t = 0; t < kTeams; ++t)
      bench::Must(c.store->UpsertTeam({.key = TeamKey(t), .monthly_budget_nanousd = 50'000'000'000'000}), "team");
    for (int u = 0; u < kUsers; ++u)
      bench::Must(c.store->UpsertUser({.key = UserKey(u), .team_key = TeamKey(u % kTeams)}), "user");
    const int64_t first = c.built_at - 365 * kDay;
    const int64_t step = 365 * kDay / n;
    const int64_t conversations = (n + kPerConversation - 1) / kPerConversation;
    std::vector<NewMessage> batch;
    for (int64_t conv = 0; conv * kPerConversation < n; ++conv) {
      const int64_t base = conv * kPerConversation;
      const int64_t slot = (conv * 7919) % conversations * kPerConversation;  // a permutation (7919 is prime)
      auto created = c.store->CreateConversation(
          {.user_key = UserKey(static_cast<int>(conv % kUsers)), .title = "Conversation " + std::to_string(conv),
           .created_at = first + slot * step});
      if (!created.ok()) throw std::runtime_error(created.status().ToString());
      batch.clear();
      for (int64_t k = 0; k < kPerConversation && base + k < n; ++k)
        batch.push_back(CostMsg(base + k, first + (slot + k) * step));
      auto r = c.store->AddMessages(created->id, batch);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      if (conv % 10000 == 0 && conv > 0)
        std::fprintf(stderr, "  building %s: %lld messages\n", label.c_str(), static_cast<long long>(base));
    }
    auto budget = c.store->SetBudget({.name = "team0-month", .scope = "team", .scope_key = TeamKey(0),
                                      .period = "month", .hard_limit_nanousd = 100'000'000'000'000,
                                      .soft_limit_nanousd = 80'000'000'000'000});
    if (!budget.ok()) throw std::runtime_error(budget.status().ToString());
    std::ofstream(marker) << c.built_at;
    std::fprintf(stderr, "  built %s (%lld messages) in %.0f s\n", c.path.c_str(), static_cast<long long>(n),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  c.recent_users = RecentUsers(c.path);
  return stores.emplace(label, std::move(c)).first->second;
}

// ---- reads on the big stores ---------------------------------------------------------------------------

void CostSummary(benchmark::State& state, const std::string& label, int64_t n, bool one_user) {
  CostStore& c = GetStore(label, n);
  convstore::CostFilter f;
  f.days = 30;
  size_t u = 0;
  for (auto _ : state) {
    if (one_user) f.user_key = c.recent_users[u++ % c.recent_users.size()].second;
    auto r = c.store->GetCostSummary(f);
    if (!r.ok() || r->daily.empty()) state.SkipWithError(r.ok() ? "empty summary" : r.status().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
}

void BudgetCheck(benchmark::State& state, const std::string& label, int64_t n) {
  CostStore& c = GetStore(label, n);
  for (auto _ : state) {
    auto r = c.store->GetBudgets(0);
    if (!r.ok() || r->size() != 1) state.SkipWithError("budget check");
    benchmark::DoNotOptimize(r);
  }
}

// Admission of a call: Reserve (spend + open reservations against the team's hard budget, then the reservation
// row, in one write transaction) and Release. Two commits per iteration; the store keeps released reservations.
void ReserveRelease(benchmark::State& state, const std::string& label, int64_t n) {
  CostStore& c = GetStore(label, n);
  int64_t i = 0;
  // Unique across runs on the cached store (a released id cannot be reserved again).
  const std::string prefix =
      "bench-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-";
  for (auto _ : state) {
    std::string id = prefix + std::to_string(i++);
    auto r = c.store->Reserve({.request_id = id, .user_key = UserKey(0), .estimated_cost_nanousd = 1000});
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    auto released = c.store->Release(id);
    if (!released.ok()) state.SkipWithError(released.status().ToString().c_str());
  }
}

// The raw baselines: what a hand-rolled design on the same tables runs (no rollups): a GROUP BY over every
// message row in range — a full scan, as the seed's get_cost_summary does.
void RawQuery(benchmark::State& state, const std::string& label, int64_t n, const char* sql, bool bind_user) {
  CostStore& c = GetStore(label, n);
  sqlite3* db = bench::OpenRaw(c.path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) state.SkipWithError(sqlite3_errmsg(db));
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  size_t u = 0;
  for (auto _ : state) {
    sqlite3_bind_int64(st, 1, now - 30 * kDay);
    if (bind_user) sqlite3_bind_int64(st, 2, c.recent_users[u++ % c.recent_users.size()].first);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) ++rows;
    sqlite3_reset(st);
    benchmark::DoNotOptimize(rows);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

const char* kRawSummary =
    "SELECT date(created_at / 1000000, 'unixepoch') AS d, count(*), sum(tokens_input), sum(tokens_output),"
    " sum(cost_nanousd) FROM messages WHERE created_at >= ?1 GROUP BY d ORDER BY d DESC";
const char* kRawUserSummary =
    "SELECT date(m.created_at / 1000000, 'unixepoch') AS d, count(*), sum(m.tokens_input), sum(m.tokens_output),"
    " sum(m.cost_nanousd) FROM messages m WHERE m.created_at >= ?1 AND m.conversation_id IN"
    " (SELECT id FROM conversations WHERE user_id = ?2) GROUP BY d ORDER BY d DESC";
// Month-to-date spend of team0 (users join through their conversations).
const char* kRawBudget =
    "SELECT coalesce(sum(m.cost_nanousd), 0) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
    " JOIN users u ON u.id = c.user_id JOIN teams t ON t.id = u.team_id"
    " WHERE t.key = 'team0' AND m.created_at >= ?1";

// ---- rollup upkeep on a single add_message ---------------------------------------------------------------

void AddMessage(benchmark::State& state, bool rollups) {
  std::string path = bench::ScratchPath(rollups ? "cost-add-rollups" : "cost-add-plain");
  auto store = Open(path);
  bench::Must(store->UpsertTeam({.key = "t"}), "team");
  std::vector<std::string> convs;
  for (int i = 0; i < 100; ++i) {
    bench::Must(store->UpsertUser({.key = UserKey(i % 10), .team_key = std::string("t")}), "user");
    convs.push_back(store->CreateConversation({.user_key = UserKey(i % 10)})->id);
  }
  convstore::cost::SetRollupsEnabledForBenchmark(rollups);
  int64_t i = 0;
  for (auto _ : state) {
    NewMessage m = CostMsg(i, 0);
    m.created_at.reset();
    auto r = store->AddMessage(convs[static_cast<size_t>(i++) % convs.size()], m);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  convstore::cost::SetRollupsEnabledForBenchmark(true);
  state.SetItemsProcessed(state.iterations());
  store.reset();
  bench::RemoveDb(path);
}

struct Size {
  std::string label;
  int64_t n;
};

std::vector<Size> Sizes() {
  const char* env = std::getenv("CONVSTORE_COST_BENCH_SIZES");
  std::string spec = env ? env : "100k,1m,10m";
  std::vector<Size> out;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item == "100k") out.push_back({item, 100'000});
    else if (item == "1m") out.push_back({item, 1'000'000});
    else if (item == "10m") out.push_back({item, 10'000'000});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::vector<bench::Pair> pairs;
  // Alternate the two variants so drift on a noisy machine hits both alike; CONVSTORE_UPKEEP_ROUNDS rounds (4).
  const char* rounds_env = std::getenv("CONVSTORE_UPKEEP_ROUNDS");
  const int rounds = rounds_env ? std::max(1, std::atoi(rounds_env)) : 4;
  for (int round = 0; round < rounds; ++round) {
    std::string suffix = round == 0 ? "" : "_round" + std::to_string(round + 1);
    benchmark::RegisterBenchmark(("BM_AddMessageNoRollups" + suffix).c_str(),
                                 [](benchmark::State& s) { AddMessage(s, false); })
        ->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_AddMessageWithRollups" + suffix).c_str(),
                                 [](benchmark::State& s) { AddMessage(s, true); })
        ->MinTime(2.0)->UseRealTime();
    pairs.push_back({"BM_AddMessageWithRollups" + suffix, "BM_AddMessageNoRollups" + suffix,
                     "throughput with rollups / without; target >= 0.80 (upkeep <= 25%)", true});
  }
  for (const Size& size : Sizes()) {
    const std::string l = size.label;
    const int64_t n = size.n;
    const int scan_iterations = n >= 10'000'000 ? 2 : n >= 1'000'000 ? 5 : 20;
    benchmark::RegisterBenchmark(("BM_CostSummary30d/" + l).c_str(),
                                 [=](benchmark::State& s) { CostSummary(s, l, n, false); })
        ->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_RawScanSummary30d/" + l).c_str(),
                                 [=](benchmark::State& s) { RawQuery(s, l, n, kRawSummary, false); })
        ->Iterations(scan_iterations)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_CostSummary30dOneUser/" + l).c_str(),
                                 [=](benchmark::State& s) { CostSummary(s, l, n, true); })
        ->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_RawScanSummary30dOneUser/" + l).c_str(),
                                 [=](benchmark::State& s) { RawQuery(s, l, n, kRawUserSummary, true); })
        ->Iterations(scan_iterations)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_BudgetCheck/" + l).c_str(),
                                 [=](benchmark::State& s) { BudgetCheck(s, l, n); })
        ->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_ReserveRelease/" + l).c_str(),
                                 [=](benchmark::State& s) { ReserveRelease(s, l, n); })
        ->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_RawScanBudget/" + l).c_str(),
                                 [=](benchmark::State& s) { RawQuery(s, l, n, kRawBudget, false); })
        ->Iterations(scan_iterations)->UseRealTime()->Unit(benchmark::kMillisecond);
    pairs.push_back({"BM_CostSummary30d/" + l, "BM_RawScanSummary30d/" + l, "time ratio; target <= 1 ms", false});
    pairs.push_back({"BM_CostSummary30dOneUser/" + l, "BM_RawScanSummary30dOneUser/" + l,
                     "time ratio; target <= 1 ms", false});
    pairs.push_back({"BM_BudgetCheck/" + l, "BM_RawScanBudget/" + l, "time ratio; target <= 1 ms", false});
    pairs.push_back({"BM_ReserveRelease/" + l, "BM_RawScanBudget/" + l,
                     "two commits (reserve + release) vs the scan a hand-rolled check needs", false});
  }
  bench::RatioReporter reporter(pairs);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
