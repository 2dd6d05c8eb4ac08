#include "bench_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <convstore/store.h>

namespace bench {

std::unique_ptr<convstore::ConversationStore> Open(const std::string& path, const convstore::Options& options) {
  auto s = convstore::ConversationStore::Open(path, options);
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return std::move(*s);
}

std::vector<std::string> MakeConversations(convstore::ConversationStore& store, int n, int users) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    convstore::NewConversation nc;
    nc.user_key = "user" + std::to_string(i % users) + "@corp.example";
    nc.title = "Conversation " + std::to_string(i);
    nc.metadata_json = R"({"source":"cli","team":"netops"})";
    auto c = store.CreateConversation(nc);
    if (!c.ok()) throw std::runtime_error(c.status().ToString());
    ids.push_back(c->id);
  }
  return ids;
}

convstore::NewMessage Msg(int i) {
  convstore::NewMessage m;
  m.role = i % 2 ? convstore::Role::kAssistant : convstore::Role::kUser;
  m.content = Content(i);
  m.model = "claude-sonnet-4-5";
  m.tokens_input = 1250;
  m.tokens_output = 890;
  m.cost_nanousd = 15'000'000;
  return m;
}


// Binds one raw row shaped like convstore's insert of Msg(i) (metadata: "{}" or the given document).
void BindRaw(sqlite3_stmt* st, int64_t counter, int64_t conv, int64_t position, int i,
             const char* metadata) {
  char uid[40];
  std::snprintf(uid, sizeof uid, "0190a1b2-c3d4-7e5f-8a6b-%012lld", static_cast<long long>(counter));
  const std::string& content = Content(i);
  sqlite3_bind_text(st, 1, uid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, conv);
  sqlite3_bind_int64(st, 3, position);
  sqlite3_bind_text(st, 4, i % 2 ? "assistant" : "user", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, content.data(), static_cast<int>(content.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 6, "claude-sonnet-4-5", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, 1250);
  sqlite3_bind_int64(st, 9, 890);
  sqlite3_bind_null(st, 10);
  sqlite3_bind_null(st, 11);
  sqlite3_bind_int64(st, 12, 15'000'000);
  sqlite3_bind_null(st, 13);
  sqlite3_bind_text(st, 14, metadata, -1, SQLITE_STATIC);
  sqlite3_bind_null(st, 15);
  sqlite3_bind_int64(st, 16, 1770800400000000 + counter);
}


void Must(const convstore::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "benchmark setup failed: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::string DataDir() {
  const char* env = std::getenv("CONVSTORE_BENCH_DIR");
  std::string dir = env != nullptr ? env : CONVSTORE_BENCH_DATA_DIR;
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ScratchPath(const std::string& name) {
  std::string p = DataDir() + "/scratch-" + std::to_string(::getpid()) + "-" + name + ".db";
  RemoveDb(p);
  return p;
}

std::string BuiltOnce(const std::string& name, const std::function<void(const std::string& path)>& build) {
  const std::string p = DataDir() + "/" + name;
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) return p;
  const std::string building = p + ".building";
  RemoveDb(building);
  build(building);
  std::filesystem::rename(building, p);
  return p;
}

std::string FreshCopyOf(const std::string& source, const std::string& name) {
  const std::string copy = ScratchPath(name);
  std::filesystem::copy_file(source, copy, std::filesystem::copy_options::overwrite_existing);
  const int fd = ::open(copy.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) throw std::runtime_error("could not write out the copy " + copy);
  ::close(fd);
  return copy;
}

void RemoveDb(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm", "-journal"}) std::remove((path + s).c_str());
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + msg + " in " + sql);
  }
}

sqlite3* OpenRaw(const std::string& path, bool full_sync, bool exclusive) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
  sqlite3_busy_timeout(db, 5000);
  if (exclusive) Exec(db, "PRAGMA locking_mode=EXCLUSIVE");
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;");
  Exec(db, full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  return db;
}

const char* kRawSchema = R"(
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, conversation_id INTEGER NOT NULL, position INTEGER NOT NULL,
  role TEXT NOT NULL, content TEXT NOT NULL, model TEXT NOT NULL DEFAULT '', model_version TEXT NOT NULL DEFAULT '',
  tokens_input INTEGER, tokens_output INTEGER, tokens_cached_input INTEGER, tokens_reasoning INTEGER,
  cost_nanousd INTEGER, latency_us INTEGER, metadata TEXT NOT NULL DEFAULT '{}', request_id TEXT,
  created_at INTEGER NOT NULL, UNIQUE (conversation_id, position));
)";

const char* kRawInsert =
    "INSERT INTO messages(uid, conversation_id, position, role, content, model, model_version, tokens_input, "
    "tokens_output, tokens_cached_input, tokens_reasoning, cost_nanousd, latency_us, metadata, request_id, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

const std::string& Content(int i) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> v;
    const char* base[] = {
        "Analyze this BGP config and identify potential issues with the route-maps on the edge routers.",
        "I found 3 issues: 1) Missing route-map on neighbor 10.0.0.2, 2) no max-prefix limit, 3) MD5 auth off.",
        "Show me the OSPF adjacencies on core-sw-01 and explain why area 0 is flapping every few minutes.",
        "The adjacency flaps because the hello/dead timers differ: 10/40 on core-sw-01 and 5/20 on dist-2."};
    for (int k = 0; k < 16; ++k) v.push_back(std::string(base[k % 4]) + " Ticket NET-" + std::to_string(4100 + k) +
                                             ". Please keep the answer short and actionable for the on-call.");
    return v;
  }();
  return texts[static_cast<size_t>(i) % texts.size()];
}

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const auto& r : runs) {
    if (r.run_type != Run::RT_Iteration) continue;
    double ns = r.GetAdjustedRealTime();  // in the run's time unit
    switch (r.time_unit) {
      case benchmark::kSecond: ns *= 1e9; break;
      case benchmark::kMillisecond: ns *= 1e6; break;
      case benchmark::kMicrosecond: ns *= 1e3; break;
      default: break;
    }
    double items = 0;
    auto it = r.counters.find("items_per_second");
    if (it != r.counters.end()) items = it->second.value;
    seen_[r.run_name.function_name] = {ns, items};
  }
  ConsoleReporter::ReportRuns(runs);
}

void RatioReporter::Finalize() {
  ConsoleReporter::Finalize();
  if (finalized_) return;  // Google Benchmark may finalize the display reporter more than once
  finalized_ = true;
  std::printf("\n%-34s %-28s %12s %12s %8s\n", "convstore", "raw SQLite baseline", "convstore", "baseline", "ratio");
  for (const auto& p : pairs_) {
    auto a = seen_.find(p.ours), b = seen_.find(p.baseline);
    if (a == seen_.end() || b == seen_.end()) continue;
    if (p.higher_is_better_throughput) {
      std::printf("%-34s %-28s %10.0f/s %10.0f/s %7.2f  (%s)\n", p.ours.c_str(), p.baseline.c_str(), a->second.second,
                  b->second.second, a->second.second / b->second.second, p.meaning.c_str());
    } else {
      // Time per operation; when ours is faster, the speed-up (baseline / ours) reads better than a tiny ratio.
      const double ours = a->second.first, base = b->second.first;
      if (ours < base)
        std::printf("%-34s %-28s %10.2fus %10.2fus %7.0fx faster (%s)\n", p.ours.c_str(), p.baseline.c_str(),
                    ours / 1e3, base / 1e3, base / ours, p.meaning.c_str());
      else
        std::printf("%-34s %-28s %10.2fus %10.2fus %7.2fx (%s)\n", p.ours.c_str(), p.baseline.c_str(), ours / 1e3,
                    base / 1e3, ours / base, p.meaning.c_str());
    }
  }
}

}  // namespace bench
