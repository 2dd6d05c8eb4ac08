// The audit log: verifying a chain of 1,000,000 entries (target: at least 1M entries in 2 s) next to the floor of
// the same work done by hand in the same run — a raw SQLite scan of the same rows hashing each row's bytes with
// SHA-256 once — and the cost of appending one entry (LogEvent, its own transaction) next to a raw insert of a
// row of the same size.
//
// The 1M-entry store is built once (entries appended through the audit engine in one transaction: a store would
// take a transaction per entry) and kept under the bench data directory.
#include <openssl/evp.h>
#include <sys/stat.h>

#include <string>

#include "bench_support.h"
#include "ops/audit_log.h"
#include "sqlite/connection.h"

namespace {

constexpr int64_t kEntries = 1'000'000;

std::string ChainPath() { return bench::DataDir() + "/audit-1m.db"; }

// Entries as an application writes them: a quarter with an IP address and user agent, half about a person.
void BuildChain(const std::string& path) {
  bench::RemoveDb(path);
  { auto store = bench::Open(path); }
  auto conn = bench::Must(convstore::sqlite::Connection::Open(path, {}), "open the chain's file");
  bench::Must(conn->Exec("BEGIN IMMEDIATE", "begin"), "begin");
  int64_t now = 1'790'000'000'000'000;
  for (int64_t i = 0; i < kEntries; ++i) {
    convstore::ops::AuditRecord r;
    r.actor = "support-console";
    if (i % 2 == 0) r.subject_user = "3f2a9c0d1e4b5a6978812233445566" + std::to_string(10 + i % 90);
    r.action = i % 3 == 0 ? "conversation.deleted" : "report.exported";
    r.resource_type = "conversation";
    r.resource_id = "0193a1b2-c3d4-7e5f-8a9b-" + std::to_string(100000000000 + i);
    r.details = R"({"messages":)" + std::to_string(i % 40) + R"(,"cost_nanousd":)" + std::to_string(i * 7) + "}";
    if (i % 4 == 0) {
      r.ip_address = "192.0.2." + std::to_string(i % 250);
      r.user_agent = "console/2.1 (linux)";
    }
    now += 1000;
    bench::Must(convstore::ops::AppendAudit(*conn, r, now).status(), "append");
  }
  bench::Must(conn->Exec("COMMIT", "commit"), "commit");
}

const std::string& Chain() {
  static const std::string path = [] {
    const std::string p = ChainPath();
    struct stat st {};
    bool ready = ::stat(p.c_str(), &st) == 0;
    if (ready) {
      sqlite3* db = bench::OpenRaw(p);
      sqlite3_stmt* q = nullptr;
      sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_log", -1, &q, nullptr);
      ready = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) == kEntries;
      sqlite3_finalize(q);
      sqlite3_close(db);
    }
    if (!ready) BuildChain(p);
    return p;
  }();
  return path;
}

void BM_VerifyAudit1M(benchmark::State& state) {
  auto store = bench::Open(Chain());
  int64_t checked = 0;
  for (auto _ : state) {
    auto v = bench::Must(store->VerifyAudit(), "verify");
    if (!v.ok) throw std::runtime_error("the chain does not verify: " + v.problem);
    checked += v.entries_checked;
  }
  state.SetItemsProcessed(checked);
}
BENCHMARK(BM_VerifyAudit1M)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// The floor: the same rows read by a raw SQLite scan (every column) and one SHA-256 over each row's bytes.
void BM_RawScanAndHash1M(benchmark::State& state) {
  sqlite3* db = bench::OpenRaw(Chain());
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT seq, at, actor, actor_user, subject_user, action, resource_type, resource_id, details, "
                     "ip_address, user_agent, personal, personal_salt, personal_hash, prev_hash, hash "
                     "FROM audit_log ORDER BY seq",
                     -1, &q, nullptr);
  EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string row;
  unsigned char digest[EVP_MAX_MD_SIZE];
  int64_t rows = 0;
  for (auto _ : state) {
    while (sqlite3_step(q) == SQLITE_ROW) {
      row.clear();
      for (int c = 0; c < 16; ++c)
        row.append(static_cast<const char*>(sqlite3_column_blob(q, c)) ? static_cast<const char*>(sqlite3_column_blob(q, c)) : "",
                   static_cast<size_t>(sqlite3_column_bytes(q, c)));
      unsigned int n = 0;
      EVP_DigestInit_ex2(ctx, sha, nullptr);
      EVP_DigestUpdate(ctx, row.data(), row.size());
      EVP_DigestFinal_ex(ctx, digest, &n);
      benchmark::DoNotOptimize(digest);
      ++rows;
    }
    sqlite3_reset(q);
  }
  state.SetItemsProcessed(rows);
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(sha);
  sqlite3_finalize(q);
  sqlite3_close(db);
}
BENCHMARK(BM_RawScanAndHash1M)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);

// One application entry per call (its own transaction, the hash chained to the head) against a raw insert of a
// row of the same columns (WAL, synchronous=NORMAL, one transaction per row).
void BM_LogEvent(benchmark::State& state) {
  const std::string path = bench::ScratchPath("audit-append");
  auto store = bench::Open(path);
  int64_t i = 0;
  for (auto _ : state) {
    bench::Must(store->LogEvent({.action = "report.exported", .resource_type = "report",
                                 .resource_id = "r-" + std::to_string(i++), .details_json = R"({"rows":12})"}),
                "log_event");
  }
  state.SetItemsProcessed(state.iterations());
  store.reset();
  bench::RemoveDb(path);
}
BENCHMARK(BM_LogEvent)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_RawAuditInsert(benchmark::State& state) {
  const std::string path = bench::ScratchPath("audit-raw");
  sqlite3* db = bench::OpenRaw(path);
  bench::Exec(db,
              "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, "
              "action TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, details TEXT NOT NULL, "
              "prev_hash BLOB NOT NULL, hash BLOB NOT NULL); CREATE INDEX audit_log_at ON audit_log(at);"
              "CREATE INDEX audit_log_resource ON audit_log(resource_type, resource_id);");
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO audit_log(at, actor, action, resource_type, resource_id, details, prev_hash, hash) "
                     "VALUES (?1, 'application', 'report.exported', 'report', ?2, '{\"rows\":12}', zeroblob(32), "
                     "zeroblob(32))",
                     -1, &ins, nullptr);
  int64_t i = 0;
  for (auto _ : state) {
    const std::string id = "r-" + std::to_string(i);
    bench::Exec(db, "BEGIN IMMEDIATE");
    sqlite3_bind_int64(ins, 1, 1'790'000'000'000'000 + i++);
    sqlite3_bind_text(ins, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(ins);
    sqlite3_reset(ins);
    bench::Exec(db, "COMMIT");
  }
  state.SetItemsProcessed(state.iterations());
  sqlite3_finalize(ins);
  sqlite3_close(db);
  bench::RemoveDb(path);
}
BENCHMARK(BM_RawAuditInsert)->MinTime(2.0)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::RatioReporter reporter(
      {{"BM_VerifyAudit1M", "BM_RawScanAndHash1M", "verify / (raw scan + one SHA-256 per row), entries/s", true},
       {"BM_LogEvent", "BM_RawAuditInsert", "log_event / raw insert, entries/s", true}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
