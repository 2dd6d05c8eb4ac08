// Metadata-search benchmarks, each next to the raw-SQLite full scan a hand-rolled design runs for the same
// question on the same file in the same run (json_extract / json_each over every conversation):
//
//   * a selective containment query (one user's conversations, ~0.02% of rows; limit 10, newest first);
//   * a two-key containment query ({"source": ..., "team": ...}, ~0.3%; limit 10);
//   * a containment with an array element plus a range condition (explained, for the docs);
//   * what indexing a 5-key metadata document adds to a single add_message (the same writes with "{}"), as two
//     separate benchmarks and as one that interleaves the two call by call (BM_AddMessagePaired: overhead_pct).
//
//   build/bench/convstore_metadata_bench                                       # 100k and 1M conversations
//   CONVSTORE_METADATA_BENCH_SIZES=1m build/bench/convstore_metadata_bench      # one size
//
// The stores (1000 users; 5-10 metadata keys per conversation, some arrays, Zipf-skewed values) are written
// with raw SQL into a convstore file and indexed with RebuildMetadataIndex (the migration's backfill, timed and
// printed), under build/bench-data/ (or $CONVSTORE_BENCH_DIR), and reused; a .complete marker tells a finished
// build from an interrupted one.
#include <convstore/convstore.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "metadata/index.h"  // kFoldEvery (internal)

namespace {

using convstore::ConversationStore;
using convstore::MetadataQuery;
using nlohmann::json;

constexpr int kUsers = 1000;
constexpr int kMetaUsers = 5000;  // user.id values inside the metadata
constexpr int64_t kT0 = 1'735'689'600'000'000;  // 2025-01-01

std::unique_ptr<ConversationStore> Open(const std::string& path) {
  auto s = ConversationStore::Open(path);
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return std::move(*s);
}

// Zipf(s = 1.1) over n values: a few very common, a long tail.
class Zipf {
 public:
  explicit Zipf(int n) {
    double sum = 0;
    for (int i = 1; i <= n; ++i) cdf_.push_back(sum += 1.0 / std::pow(i, 1.1));
    for (double& c : cdf_) c /= sum;
  }
  int operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

const char* const kSources[] = {"cli", "web", "slack", "api", "ide", "mobile", "email", "cron"};
const char* const kEnvs[] = {"prod", "staging", "dev"};
const char* const kRegions[] = {"us-east", "us-west", "eu-west", "eu-central", "ap-south", "ap-east", "sa-east",
                                "af-south"};
const char* const kTiers[] = {"free", "pro", "enterprise"};
const char* const kTags[] = {"bgp", "ospf", "dns", "tls", "k8s", "terraform", "postgres", "redis", "kafka", "nginx",
                             "vpn", "ldap", "s3", "iam", "ci", "cd", "grafana", "prometheus", "istio", "envoy",
                             "ansible", "python", "go", "rust", "java", "linux", "windows", "macos", "ios", "android"};

// A realistic metadata document: 5-10 keys, an array of tags, a nested user object, skewed values.
json MetaDoc(int64_t i, std::mt19937_64& rng) {
  static const Zipf source(8), team(50), env(3), region(8), tag(30), user(kMetaUsers), experiment(10);
  json d = json::object();
  d["source"] = kSources[source(rng)];
  d["team"] = "team" + std::to_string(team(rng));
  d["env"] = kEnvs[env(rng)];
  d["priority"] = 1 + static_cast<int>(rng() % 5);
  json tags = json::array();
  for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) tags.push_back(kTags[tag(rng)]);
  d["tags"] = tags;
  // user.id: uniform, so "one user's conversations" is ~1/5000 of the rows whichever user is asked for.
  (void)user;
  d["user"] = {{"id", "u" + std::to_string(rng() % kMetaUsers)}, {"tier", kTiers[rng() % 3]}};
  if (rng() % 10 < 6) d["region"] = kRegions[region(rng)];
  if (rng() % 10 < 3) d["ticket"] = "INC-" + std::to_string(100000 + i);
  if (rng() % 10 < 2) d["experiment"] = "exp" + std::to_string(experiment(rng));
  if (rng() % 10 < 4) d["model"] = rng() % 2 ? "gpt-4o" : "claude-sonnet-4-5";
  return d;
}

struct MetaStore {
  std::string path;
  int64_t n = 0;
  std::unique_ptr<ConversationStore> store;
};

// Searches read the rows not yet folded into the posting lists directly. A freshly rebuilt store has none, so the
// benchmark tops the tail up to its largest size (kFoldEvery - 1 conversations, added through the API): the
// figures are for the worst case a search meets.
void FillTail(MetaStore& m) {
  sqlite3* db = bench::OpenRaw(m.path);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT (SELECT max(id) FROM conversations) - (SELECT indexed_upto FROM metadata_index"
                     " WHERE kind = 0)",
                     -1, &st, nullptr);
  int64_t pending = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::mt19937_64 rng(static_cast<uint64_t>(pending) + 99);
  for (int64_t i = pending; i < convstore::metadata::kFoldEvery - 1; ++i) {
    auto r = m.store->CreateConversation({.user_key = "user0@corp.example", .title = "tail " + std::to_string(i),
                                          .metadata_json = MetaDoc(m.n + i, rng).dump()});
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
  }
}

MetaStore& GetStore(const std::string& label, int64_t n) {
  static std::map<std::string, MetaStore> stores;
  auto it = stores.find(label);
  if (it != stores.end()) return it->second;
  MetaStore m;
  m.path = bench::DataDir() + "/metadata-" + label + ".db";
  m.n = n;
  const std::string marker = m.path + ".complete";
  if (!std::ifstream(marker)) {
    bench::RemoveDb(m.path);
    auto start = std::chrono::steady_clock::now();
    {
      auto s = Open(m.path);
      for (int u = 0; u < kUsers; ++u)
        bench::Must(s->UpsertUser({.key = "user" + std::to_string(u) + "@corp.example"}), "user");
    }
    sqlite3* db = bench::OpenRaw(m.path);
    bench::Exec(db, "BEGIN");
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO conversations(uid, user_id, title, metadata, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                       -1, &st, nullptr);
    std::mt19937_64 rng(42);
    for (int64_t i = 0; i < n; ++i) {
      const std::string uid = "conv-" + std::to_string(i);
      const std::string title = "Conversation " + std::to_string(i);
      const std::string meta = MetaDoc(i, rng).dump();
      sqlite3_bind_text(st, 1, uid.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, 1 + i % kUsers);
      sqlite3_bind_text(st, 3, title.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 4, meta.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 5, kT0 + i * 1'000'000);
      if (sqlite3_step(st) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bench::Exec(db, "COMMIT");
    sqlite3_close(db);
    const double written = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto s = Open(m.path);
    auto index_start = std::chrono::steady_clock::now();
    auto report = s->RebuildMetadataIndex();
    if (!report.ok()) throw std::runtime_error(report.status().ToString());
    const double indexed = std::chrono::duration<double>(std::chrono::steady_clock::now() - index_start).count();
    std::fprintf(stderr,
                 "  built %s: %lld conversations written in %.1f s; index backfill (RebuildMetadataIndex) %.1f s "
                 "= %.0f documents/s, %lld postings in %lld lists\n",
                 m.path.c_str(), static_cast<long long>(n), written, indexed, static_cast<double>(n) / indexed,
                 static_cast<long long>(report->postings), static_cast<long long>(report->terms));
    std::ofstream(marker) << n;
    m.store = std::move(s);
  } else {
    m.store = Open(m.path);
  }
  FillTail(m);
  return stores.emplace(label, std::move(m)).first->second;
}

// The queries, as (contains, where) for convstore and SQL for the raw scan. %s is replaced per iteration.
struct Query {
  const char* name;
  std::function<MetadataQuery(int64_t)> ours;
  const char* raw_sql;  // ?1 bound to raw_param(i)
  std::function<std::string(int64_t)> raw_param;
};

std::string MetaUser(int64_t i) { return "u" + std::to_string((i * 7919) % kMetaUsers); }

std::vector<Query> Queries() {
  return {
      {"Selective",  // one metadata user: ~200 of 1M rows (0.02%)
       [](int64_t i) {
         MetadataQuery q;
         q.contains_json = json({{"user", {{"id", MetaUser(i)}}}}).dump();
         return q;
       },
       "SELECT id, title, json_extract(metadata, '$.source'), created_at FROM conversations"
       " WHERE json_extract(metadata, '$.user.id') = ?1 ORDER BY created_at DESC LIMIT 10",
       MetaUser},
      {"TwoKey",  // a mid-tail source and team: ~0.1-0.5% of rows
       [](int64_t i) {
         MetadataQuery q;
         q.contains_json = json({{"source", "ide"}, {"team", "team" + std::to_string(5 + i % 5)}}).dump();
         return q;
       },
       "SELECT id, title, json_extract(metadata, '$.source'), created_at FROM conversations"
       " WHERE json_extract(metadata, '$.source') = 'ide' AND json_extract(metadata, '$.team') = ?1"
       " ORDER BY created_at DESC LIMIT 10",
       [](int64_t i) { return "team" + std::to_string(5 + i % 5); }},
      {"ArrayAndRange",  // a tag inside the array, an environment, and priority >= 4
       [](int64_t) {
         MetadataQuery q;
         q.contains_json = R"({"tags": ["kafka"], "env": "staging"})";
         q.where_json = R"({"priority": {"$gte": 4}})";
         return q;
       },
       "SELECT c.id, c.title, json_extract(c.metadata, '$.source'), c.created_at FROM conversations c"
       " WHERE EXISTS (SELECT 1 FROM json_each(c.metadata, '$.tags') WHERE value = ?1)"
       " AND json_extract(c.metadata, '$.env') = 'staging' AND json_extract(c.metadata, '$.priority') >= 4"
       " ORDER BY c.created_at DESC LIMIT 10",
       [](int64_t) { return std::string("kafka"); }},
  };
}

void Search(benchmark::State& state, const std::string& label, int64_t n, const Query& query) {
  MetaStore& m = GetStore(label, n);
  int64_t i = 0, rows = 0, candidates = 0, verified = 0;
  for (auto _ : state) {
    auto r = m.store->SearchMetadata(query.ours(i++));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    rows += static_cast<int64_t>(r->conversations.size());
    candidates += r->plan.candidates;
    verified += r->plan.verified;
  }
  state.counters["rows"] = static_cast<double>(rows) / static_cast<double>(std::max<int64_t>(1, i));
  state.counters["candidates"] = static_cast<double>(candidates) / static_cast<double>(std::max<int64_t>(1, i));
  state.counters["verified"] = static_cast<double>(verified) / static_cast<double>(std::max<int64_t>(1, i));
}

void RawScan(benchmark::State& state, const std::string& label, int64_t n, const Query& query) {
  MetaStore& m = GetStore(label, n);
  sqlite3* db = bench::OpenRaw(m.path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, query.raw_sql, -1, &st, nullptr) != SQLITE_OK) state.SkipWithError(sqlite3_errmsg(db));
  int64_t i = 0, rows = 0;
  for (auto _ : state) {
    const std::string param = query.raw_param(i++);
    sqlite3_bind_text(st, 1, param.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) ++rows;
    sqlite3_reset(st);
  }
  state.counters["rows"] = static_cast<double>(rows) / static_cast<double>(std::max<int64_t>(1, i));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// Prints each query's plan once (for docs/benchmarks.md and docs/metadata.md).
void PrintPlans(const std::string& label, int64_t n) {
  MetaStore& m = GetStore(label, n);
  for (const Query& q : Queries()) {
    auto r = m.store->SearchMetadata(q.ours(0));
    if (!r.ok()) continue;
    std::fprintf(stderr, "  plan %s/%s: %s; ", q.name, label.c_str(), r->plan.strategy.c_str());
    for (const auto& p : r->plan.postings)
      std::fprintf(stderr, "%s=%s (%lld, %s) ", p.path.c_str(), p.value.c_str(), static_cast<long long>(p.count),
                   p.role.c_str());
    std::fprintf(stderr, "; candidates %lld, probe-rejected %lld, verified %lld, matched %lld, tail %lld\n",
                 static_cast<long long>(r->plan.candidates), static_cast<long long>(r->plan.probe_rejected),
                 static_cast<long long>(r->plan.verified), static_cast<long long>(r->plan.matched),
                 static_cast<long long>(r->plan.unindexed_checked));
  }
}

// ---- what a 5-key document adds to add_message ----------------------------------------------------------

convstore::NewMessage Message(int64_t i, bool with_metadata, std::mt19937_64& rng) {
    convstore::NewMessage m;
    m.role = i % 2 ? convstore::Role::kAssistant : convstore::Role::kUser;
    m.content = bench::Content(static_cast<int>(i));
    m.tokens_input = 200 + i % 1800;
    m.tokens_output = 100 + i % 900;
    m.cost_nanousd = 1'000'000;
    if (with_metadata) {
      char trace[17];
      std::snprintf(trace, sizeof trace, "%016llx", static_cast<unsigned long long>(rng()));
      m.metadata_json = json({{"tool", kTags[i % 7]}, {"step", i % 20}, {"ok", i % 9 != 0}, {"trace_id", trace},
                              {"source", kSources[i % 3]}})
                            .dump();
    }
    return m;
}

struct AddStore {
  std::string path;
  std::unique_ptr<ConversationStore> store;
  std::vector<std::string> convs;
  explicit AddStore(const std::string& name) : path(bench::ScratchPath(name)), store(Open(path)) {
    for (int i = 0; i < 100; ++i)
      convs.push_back(store->CreateConversation({.user_key = "user" + std::to_string(i % 10)})->id);
  }
  ~AddStore() {
    store.reset();
    bench::RemoveDb(path);
  }
};

void AddMessage(benchmark::State& state, bool with_metadata) {
  AddStore s(with_metadata ? "meta-add-doc" : "meta-add-empty");
  std::mt19937_64 rng(7);
  int64_t i = 0;
  for (auto _ : state) {
    convstore::NewMessage m = Message(i, with_metadata, rng);
    auto r = s.store->AddMessage(s.convs[static_cast<size_t>(i++) % s.convs.size()], m);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

// The same two workloads interleaved call by call (alternating which goes first) on two stores, each call timed:
// machine noise hits both alike, so their ratio holds on a noisy VM. Reports both means and the overhead.
void AddMessagePaired(benchmark::State& state) {
  AddStore plain("meta-pair-empty"), doc("meta-pair-doc");
  std::mt19937_64 rng_plain(7), rng_doc(7);
  double plain_s = 0, doc_s = 0;
  int64_t i = 0;
  auto timed = [&](AddStore& s, bool with_metadata, std::mt19937_64& rng, double& total) {
    convstore::NewMessage m = Message(i, with_metadata, rng);
    auto start = std::chrono::steady_clock::now();
    auto r = s.store->AddMessage(s.convs[static_cast<size_t>(i) % s.convs.size()], m);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  };
  for (auto _ : state) {
    if (i % 2 == 0) {
      timed(plain, false, rng_plain, plain_s);
      timed(doc, true, rng_doc, doc_s);
    } else {
      timed(doc, true, rng_doc, doc_s);
      timed(plain, false, rng_plain, plain_s);
    }
    ++i;
  }
  const double n = static_cast<double>(std::max<int64_t>(1, i));
  state.counters["empty_us"] = plain_s / n * 1e6;
  state.counters["doc5_us"] = doc_s / n * 1e6;
  state.counters["overhead_pct"] = plain_s > 0 ? (doc_s / plain_s - 1) * 100 : 0;
}

struct Size {
  std::string label;
  int64_t n;
};

std::vector<Size> Sizes() {
  const char* env = std::getenv("CONVSTORE_METADATA_BENCH_SIZES");
  std::string spec = env ? env : "100k,1m";
  std::vector<Size> out;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item == "100k") out.push_back({item, 100'000});
    else if (item == "1m") out.push_back({item, 1'000'000});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::vector<bench::Pair> pairs;
  const char* rounds_env = std::getenv("CONVSTORE_UPKEEP_ROUNDS");
  const int rounds = rounds_env ? std::max(1, std::atoi(rounds_env)) : 4;
  for (int round = 0; round < rounds; ++round) {  // alternated so drift hits both variants alike
    std::string suffix = round == 0 ? "" : "_round" + std::to_string(round + 1);
    benchmark::RegisterBenchmark(("BM_AddMessageEmptyMetadata" + suffix).c_str(),
                                 [](benchmark::State& s) { AddMessage(s, false); })
        ->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_AddMessage5KeyMetadata" + suffix).c_str(),
                                 [](benchmark::State& s) { AddMessage(s, true); })
        ->MinTime(2.0)->UseRealTime();
    pairs.push_back({"BM_AddMessage5KeyMetadata" + suffix, "BM_AddMessageEmptyMetadata" + suffix,
                     "throughput with a 5-key document / with {}; target >= 0.77 (indexing adds <= 30%)", true});
    benchmark::RegisterBenchmark(("BM_AddMessagePaired" + suffix).c_str(), AddMessagePaired)
        ->MinTime(4.0)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  static const std::vector<Query> queries = Queries();
  for (const Size& size : Sizes()) {
    const std::string l = size.label;
    const int64_t n = size.n;
    for (const Query& q : queries) {
      const std::string ours = std::string("BM_Metadata") + q.name + "/" + l;
      const std::string raw = std::string("BM_RawJsonScan") + q.name + "/" + l;
      benchmark::RegisterBenchmark(ours.c_str(), [=, &q](benchmark::State& s) { Search(s, l, n, q); })
          ->MinTime(1.0)->UseRealTime()->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(raw.c_str(), [=, &q](benchmark::State& s) { RawScan(s, l, n, q); })
          ->Iterations(n >= 1'000'000 ? 3 : 10)->UseRealTime()->Unit(benchmark::kMillisecond);
      pairs.push_back({ours, raw, "time ratio; targets: selective <= 1 ms, two-key <= 2 ms, >= 100x", false});
    }
  }
  for (const Size& size : Sizes()) PrintPlans(size.label, size.n);
  bench::RatioReporter reporter(pairs);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
