// The sync into PostgreSQL, against a throw-away PostgreSQL 15 cluster (tests/pg_cluster.h):
//
//   BM_SyncInitialLoad   the initial load of a store into tables another store created (CONVSTORE_BENCH_SYNC_MESSAGES messages, default 100,000, in
//                        1,000 conversations, with metadata; 10,000 API-usage rows) in rows/s, next to PostgreSQL's
//                        own COPY of the same rows from files on the server into tables of the same shape and
//                        indexes (created LIKE ours: no foreign keys, no partitions, so the baseline does less
//                        work), alternating, one pair per iteration.
//   BM_SyncLag1000       a writer paced at 1,000 add_message/s for CONVSTORE_BENCH_SYNC_SECONDS (default 10) in
//                        blocks alternating between a store synced in-process every 250 ms (the default) (the sync running
//                        throughout) and an identical store without sync: each journal entry's lag from its
//                        commit in the store to the PostgreSQL transaction that applied it (a benchmark-only
//                        trigger records each round's clock_timestamp() and position), and the writer's
//                        add_message latency on either side (the sync's cost).
//   BM_GlobalReserve     Reserve + Release of one call against a team's hard budget, alternating in blocks of 200
//                        between a store using global budgets (each admission locked and recorded in PostgreSQL,
//                        each release recorded there) and an identical store with only its own budget; next to
//                        them the same admission hand-rolled in PostgreSQL through libpq (one transaction: the
//                        budget row FOR UPDATE, the sum of open reservations, the insert; then the release's
//                        UPDATE) — the floor a PostgreSQL-side budget costs. Per-call µs. The ledger holds
//                        CONVSTORE_BENCH_GLOBAL_HISTORY (default 100,000) settled calls of this month first.
//
//   build/bench/convstore_sync_bench --benchmark_filter=Load --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "pg_cluster.h"

namespace {

using Clock = std::chrono::steady_clock;
using convstore::testing::PgCluster;
using convstore::testing::PgSession;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

PgCluster& Cluster() {
  static PgCluster* cluster = new PgCluster();
  if (!cluster->started()) {
    std::fprintf(stderr, "PostgreSQL: %s\n", cluster->error().c_str());
    std::exit(1);
  }
  return *cluster;
}

const char* kTables[] = {"teams", "users", "convstore_prices", "conversations", "messages", "tool_calls",
                         "convstore_message_tombstones", "api_usage", "convstore_budgets",
                         "convstore_budget_reservations"};

// The store the load benchmark loads (made once).
const std::string& LoadStore() {
  static std::string path = [] {
    const std::string p = bench::ScratchPath("sync_load.db");
    bench::RemoveDb(p);
    auto store = bench::Open(p);
    const int64_t messages = EnvInt("CONVSTORE_BENCH_SYNC_MESSAGES", 100'000);
    auto convs = bench::MakeConversations(*store, 1000, 50);
    std::vector<convstore::NewMessage> batch;
    for (int64_t i = 0; i < messages; ++i) {
      batch.push_back(bench::Msg(static_cast<int>(i)));
      batch.back().metadata_json = R"({"source":"cli","n":)" + std::to_string(i % 97) + "}";
      if (batch.size() == 1000) {
        bench::Must(store->AddMessages(convs[static_cast<size_t>(i / 1000) % convs.size()], batch), "add");
        batch.clear();
      }
    }
    if (!batch.empty()) bench::Must(store->AddMessages(convs[0], batch), "add");
    for (int i = 0; i < 10'000; ++i)
      bench::Must(store->RecordApiUsage({.user_key = "user" + std::to_string(i % 50), .model = "gpt-4o",
                                         .tokens_input = i, .cost_nanousd = i}),
                  "usage");
    return p;
  }();
  return path;
}

void BM_SyncInitialLoad(benchmark::State& state) {
  PgCluster& cluster = Cluster();
  static int round = 0;
  const std::string db = cluster.CreateDatabase("load_" + std::to_string(++round));
  auto store = bench::Open(LoadStore());
  PgSession pg(cluster.ConnInfo(db));
  const std::string files = cluster.socket_dir() + "/copy";
  std::filesystem::create_directories(files);
  (void)std::system(("chown postgres " + files + " 2>/dev/null").c_str());
  double ours_s = 0, copy_s = 0;
  int64_t rows = 0;
  int pair = 0;
  for (auto _ : state) {
    ++pair;
    const std::string ours = "ours_" + std::to_string(pair), base = "base_" + std::to_string(pair);
    convstore::SyncOptions o;
    o.postgres_url = cluster.ConnInfo(db);
    o.schema = ours;
    {
      // The tables exist when a host's store is loaded into a fleet's database: another store made them.
      auto other = bench::Open(bench::ScratchPath("sync_load_other.db"));
      bench::Must(other->SyncToPostgres(o), "create the tables");
    }
    const auto t0 = Clock::now();
    auto r = bench::Must(store->SyncToPostgres(o), "load");
    ours_s += std::chrono::duration<double>(Clock::now() - t0).count();
    rows = r.rows_loaded;
    // The baseline: the same rows (the columns that are not generated), dumped to files by the server, then
    // COPY FROM those files into tables LIKE ours (indexes included).
    pg.Exec("CREATE SCHEMA " + base);
    std::vector<std::pair<std::string, std::string>> copies;
    for (const char* t : kTables) {
      std::string cols;
      for (auto& row : pg.Rows("SELECT attname FROM pg_attribute WHERE attrelid = '" + ours + "." + t +
                               "'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"))
        cols += (cols.empty() ? "" : ", ") + *row[0];
      const std::string file = files + "/" + t + ".copy";
      pg.Exec("COPY (SELECT " + cols + " FROM " + ours + "." + t + ") TO '" + file + "'");
      pg.Exec("CREATE TABLE " + base + "." + t + " (LIKE " + ours + "." + t + " INCLUDING ALL)");
      copies.emplace_back("COPY " + base + "." + t + " (" + cols + ") FROM '" + file + "'", file);
    }
    const auto t1 = Clock::now();
    pg.Exec("BEGIN");
    for (auto& [sql, file] : copies) pg.Exec(sql);
    pg.Exec("COMMIT");
    copy_s += std::chrono::duration<double>(Clock::now() - t1).count();
    for (auto& [sql, file] : copies) std::filesystem::remove(file);
    pg.Exec("DROP SCHEMA " + base + " CASCADE");
    pg.Exec("DROP SCHEMA " + ours + " CASCADE");
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows_per_s_sync"] = static_cast<double>(rows) / (ours_s / n);
  state.counters["rows_per_s_copy_from_file"] = static_cast<double>(rows) / (copy_s / n);
  state.counters["ratio_to_copy"] = copy_s / ours_s;
}
BENCHMARK(BM_SyncInitialLoad)->Iterations(2)->UseRealTime()->Unit(benchmark::kSecond);

// add_message at a fixed rate for `seconds`: each call's latency in µs.
std::vector<double> PacedWriter(convstore::ConversationStore& store, const std::vector<std::string>& convs,
                                double seconds, int rate) {
  std::vector<double> lat;
  const auto start = Clock::now();
  const auto step = std::chrono::microseconds(1'000'000 / rate);
  for (int i = 0;; ++i) {
    const auto due = start + step * i;
    if (due - start > std::chrono::duration<double>(seconds)) break;
    std::this_thread::sleep_until(due);
    const auto t = Clock::now();
    bench::Must(store.AddMessage(convs[static_cast<size_t>(i) % convs.size()], bench::Msg(i)), "add");
    lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  return lat;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

void BM_SyncLag1000(benchmark::State& state) {
  PgCluster& cluster = Cluster();
  static int round = 0;
  const std::string db = cluster.CreateDatabase("lag_" + std::to_string(++round));
  const double seconds = static_cast<double>(EnvInt("CONVSTORE_BENCH_SYNC_SECONDS", 10));
  const std::string synced_path = bench::ScratchPath("sync_lag.db"), plain_path = bench::ScratchPath("sync_plain.db");
  for (auto _ : state) {
    bench::RemoveDb(synced_path);
    bench::RemoveDb(plain_path);
    auto synced = bench::Open(synced_path);
    auto plain = bench::Open(plain_path);
    auto synced_convs = bench::MakeConversations(*synced, 100, 10);
    auto plain_convs = bench::MakeConversations(*plain, 100, 10);
    convstore::SyncOptions o;
    o.postgres_url = cluster.ConnInfo(db);
    bench::Must(synced->SyncToPostgres(o), "first sync");  // the tables and the load; default interval
    PgSession pg(cluster.ConnInfo(db));
    pg.Exec("CREATE TABLE IF NOT EXISTS bench_rounds (at_us bigint, position bigint)");
    pg.Exec("TRUNCATE bench_rounds");
    pg.Exec("CREATE OR REPLACE FUNCTION bench_round() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO bench_rounds VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, "
            "NEW.position); RETURN NEW; END $$");
    pg.Exec("DROP TRIGGER IF EXISTS bench_round ON convstore_stores");
    pg.Exec("CREATE TRIGGER bench_round AFTER UPDATE ON convstore_stores FOR EACH ROW EXECUTE FUNCTION bench_round()");
    const int64_t first_seq = bench::Must(synced->GetJournalStatus(), "status").last_seq;
    bench::Must(synced->StartSync(o), "start");

    // Blocks alternate between the synced store (its sync running throughout) and an identical store without one:
    // the same writer at 1,000/s, so the latency difference is the sync's cost.
    std::vector<double> with, without;
    for (int block = 0; block < 4; ++block) {
      const bool sync_side = block % 2 == 0;
      auto lat = sync_side ? PacedWriter(*synced, synced_convs, seconds / 4, 1000)
                           : PacedWriter(*plain, plain_convs, seconds / 4, 1000);
      (sync_side ? with : without).insert((sync_side ? with : without).end(), lat.begin(), lat.end());
    }
    bench::Must(synced->StopSync(), "stop");
    // Each entry's lag: the first round whose position covers it, minus its commit time in the store.
    std::vector<std::pair<int64_t, int64_t>> rounds;
    for (auto& r : pg.Rows("SELECT at_us, position FROM bench_rounds ORDER BY at_us"))
      rounds.emplace_back(std::stoll(*r[0]), std::stoll(*r[1]));
    std::vector<double> lags;
    convstore::JournalQuery q;
    q.after_seq = first_seq;
    q.decode = false;
    q.limit = 10'000;
    for (;;) {
      auto entries = bench::Must(synced->ReadJournal(q), "journal");
      if (entries.empty()) break;
      for (const auto& e : entries) {
        auto it = std::find_if(rounds.begin(), rounds.end(), [&](auto& r) { return r.second >= e.seq; });
        if (it != rounds.end()) lags.push_back(static_cast<double>(it->first - e.committed_at) / 1000.0);
      }
      q.after_seq = entries.back().seq;
    }
    state.counters["entries"] = static_cast<double>(lags.size());
    state.counters["lag_ms_p50"] = Percentile(lags, 0.50);
    state.counters["lag_ms_p99"] = Percentile(lags, 0.99);
    state.counters["lag_ms_max"] = Percentile(lags, 1.0);
    state.counters["add_us_mean_sync"] = Mean(with);
    state.counters["add_us_mean_nosync"] = Mean(without);
    state.counters["add_us_p99_sync"] = Percentile(with, 0.99);
    state.counters["add_us_p99_nosync"] = Percentile(without, 0.99);
    state.counters["writer_cost_ratio"] = Mean(with) / Mean(without);
    synced.reset();
    plain.reset();
    bench::RemoveDb(synced_path);
    bench::RemoveDb(plain_path);
  }
}
BENCHMARK(BM_SyncLag1000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

void BM_GlobalReserve(benchmark::State& state) {
  PgCluster& cluster = Cluster();
  static int round = 0;
  const std::string db = cluster.CreateDatabase("global_" + std::to_string(++round));
  const std::string global_path = bench::ScratchPath("global.db"), local_path = bench::ScratchPath("local.db");
  const int blocks = static_cast<int>(EnvInt("CONVSTORE_BENCH_GLOBAL_BLOCKS", 10));
  for (auto _ : state) {
    std::vector<double> global_us, local_us, raw_us;
    bench::RemoveDb(global_path);
    bench::RemoveDb(local_path);
    auto global = bench::Open(global_path);
    auto local = bench::Open(local_path);
    for (auto* s : {global.get(), local.get()}) {
      bench::Must(s->UpsertTeam({.key = "netops"}), "team");
      bench::Must(s->UpsertUser({.key = "ana", .team_key = "netops"}), "user");
      bench::Must(s->SetBudget({.name = "local", .scope = "team", .scope_key = "netops", .period = "month",
                                .hard_limit_nanousd = int64_t{1'000'000'000'000'000'000}}),
                  "budget");
    }
    convstore::GlobalBudgetOptions o;
    o.postgres_url = cluster.ConnInfo(db);
    bench::Must(global->UseGlobalBudgets(o), "use");
    bench::Must(global->SetGlobalBudget({.name = "fleet", .scope = "team", .scope_key = "netops", .period = "month",
                                         .hard_limit_nanousd = int64_t{1'000'000'000'000'000'000}}),
                "global budget");
    PgSession pg(cluster.ConnInfo(db));
    // A month's history in the ledger: settled calls from other hosts, which admission must not rescan. Written
    // in one statement with the ledger's trigger off, its hourly totals then added at once (one transaction
    // updating one total 100,000 times would leave a chain of dead versions no real workload makes), and vacuumed.
    const int64_t history = EnvInt("CONVSTORE_BENCH_GLOBAL_HISTORY", 100'000);
    pg.Exec("SET session_replication_role = replica");
    pg.Exec("INSERT INTO convstore_global_ledger (budget, store_id, request_id, user_key, team_key, state, "
            "amount_nanousd, created_at_us, expires_at_us) SELECT 'fleet', gen_random_uuid(), 'h' || i, 'bob', "
            "'netops', 'settled', 1000, (extract(epoch FROM date_trunc('month', now())) * 1000000)::bigint + i, "
            "(extract(epoch FROM now()) * 1000000)::bigint FROM generate_series(1, " + std::to_string(history) + ") i");
    pg.Exec("RESET session_replication_role");
    pg.Exec("INSERT INTO convstore_global_settled SELECT budget, created_at_us - created_at_us % 3600000000, "
            "sum(amount_nanousd) FROM convstore_global_ledger WHERE request_id LIKE 'h%' GROUP BY 1, 2");
    pg.Exec("VACUUM ANALYZE convstore_global_ledger");
    pg.Exec("VACUUM ANALYZE convstore_global_settled");
    pg.Exec("CREATE TABLE IF NOT EXISTS raw_budgets (name text PRIMARY KEY, hard bigint)");
    pg.Exec("CREATE TABLE IF NOT EXISTS raw_reservations (id text PRIMARY KEY, budget text, amount bigint, "
            "open boolean)");
    pg.Exec("INSERT INTO raw_budgets VALUES ('fleet', 1000000000000000000) ON CONFLICT DO NOTHING");
    int n = 0;
    auto timed = [](std::vector<double>& out, auto&& fn) {
      const auto t = Clock::now();
      fn();
      out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
    };
    for (int block = 0; block < blocks * 3; ++block) {
      for (int i = 0; i < 200; ++i, ++n) {
        const std::string id = "r" + std::to_string(round) + "-" + std::to_string(n);
        switch (block % 3) {
          case 0:
            timed(global_us, [&] {
              bench::Must(global->Reserve({.request_id = id, .user_key = "ana", .estimated_cost_nanousd = 1000}), "g");
              bench::Must(global->Release(id), "release");
            });
            break;
          case 1:
            timed(local_us, [&] {
              bench::Must(local->Reserve({.request_id = id, .user_key = "ana", .estimated_cost_nanousd = 1000}), "l");
              bench::Must(local->Release(id), "release");
            });
            break;
          default:
            timed(raw_us, [&] {
              pg.Exec("BEGIN");
              pg.Value("SELECT hard FROM raw_budgets WHERE name = 'fleet' FOR UPDATE");
              pg.Value("SELECT coalesce(sum(amount), 0) FROM raw_reservations WHERE budget = 'fleet' AND open");
              pg.Exec("INSERT INTO raw_reservations VALUES ('" + id + "', 'fleet', 1000, true)");
              pg.Exec("COMMIT");
              pg.Exec("UPDATE raw_reservations SET open = false WHERE id = '" + id + "'");
            });
        }
      }
    }
    state.counters["global_us_p50"] = Percentile(global_us, 0.50);
    state.counters["global_us_p99"] = Percentile(global_us, 0.99);
    state.counters["local_us_p50"] = Percentile(local_us, 0.50);
    state.counters["local_us_p99"] = Percentile(local_us, 0.99);
    state.counters["raw_pg_us_p50"] = Percentile(raw_us, 0.50);
    state.counters["raw_pg_us_p99"] = Percentile(raw_us, 0.99);
    global.reset();
    local.reset();
    bench::RemoveDb(global_path);
    bench::RemoveDb(local_path);
  }
}
BENCHMARK(BM_GlobalReserve)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
