// Shared pieces of the benchmarks: scratch files, a raw SQLite baseline schema, realistic message text, and a
// reporter that prints each convstore result as a ratio to its raw-SQLite baseline from the same run.
#pragma once
#include <benchmark/benchmark.h>
#include <convstore/status.h>
#include <convstore/store.h>
#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bench {

// A fresh file path under the bench data directory (removed, with -wal/-shm, by RemoveDb).
std::string ScratchPath(const std::string& name);
void RemoveDb(const std::string& path);
// The store file "<DataDir()>/<name>", made by build(path) the first time (under "<name>.building", renamed when
// complete: an interrupted build is never taken for it) and reused by later runs.
std::string BuiltOnce(const std::string& name, const std::function<void(const std::string& path)>& build);
// A scratch copy of `source` (ScratchPath(name)), written out to disk before it is used: otherwise the first fsync
// inside a timed run waits for the kernel to write the whole fresh copy, which is the copy's cost, not the run's.
std::string FreshCopyOf(const std::string& source, const std::string& name);
// Directory for reusable data sets (CONVSTORE_BENCH_DIR overrides the build's bench-data/).
std::string DataDir();

// A raw SQLite connection configured like convstore's writer (WAL, synchronous=NORMAL or FULL; `exclusive`:
// locking_mode=EXCLUSIVE from before the first access, as Options::exclusive).
sqlite3* OpenRaw(const std::string& path, bool full_sync = false, bool exclusive = false);
void Exec(sqlite3* db, const char* sql);
// The raw baseline's messages table: the same columns and keys as convstore's (uid unique, conversation+position).
extern const char* kRawSchema;
extern const char* kRawInsert;  // 16 parameters in the same order as convstore's insert

// A setup step that must succeed: prints `what` and the status, and exits, when it did not.
void Must(const convstore::Status& s, const char* what);
template <typename T>
T Must(convstore::Result<T> r, const char* what) {
  if (!r.ok()) Must(r.status(), what);
  return std::move(r).value();
}

// ~200 bytes of plausible chat text, varying with i.
const std::string& Content(int i);

// A store opened with `options` (the defaults unless given; throws on failure).
std::unique_ptr<convstore::ConversationStore> Open(const std::string& path, const convstore::Options& options = {});
// n conversations spread over `users` users; their ids.
std::vector<std::string> MakeConversations(convstore::ConversationStore& store, int n, int users);
// A priced message with ~200 bytes of content, varying with i.
convstore::NewMessage Msg(int i);
// Binds one raw row shaped like convstore's insert of Msg(i) (metadata: "{}" or the given document).
void BindRaw(sqlite3_stmt* st, int64_t counter, int64_t conv, int64_t position, int i, const char* metadata = "{}");

// A raw database with the baseline schema and a prepared insert; rows spread over 100 conversations.
struct RawWriter {
  explicit RawWriter(const std::string& name, bool exclusive = false)
      : path(ScratchPath(name)), db(OpenRaw(path, false, exclusive)) {
    Exec(db, kRawSchema);
    sqlite3_prepare_v2(db, kRawInsert, -1, &ins, nullptr);
  }
  ~RawWriter() {
    sqlite3_finalize(ins);
    sqlite3_close(db);
    RemoveDb(path);
  }
  void Insert(int i, const char* metadata = "{}") {
    int64_t conv = counter % 100 + 1;
    BindRaw(ins, counter, conv, positions[conv]++, i, metadata);
    ++counter;
    if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_reset(ins);
  }
  std::string path;
  sqlite3* db;
  sqlite3_stmt* ins = nullptr;
  int64_t counter = 0;
  std::map<int64_t, int64_t> positions;
};


// Pairs of (convstore benchmark, its raw baseline); ratios are printed after the run.
struct Pair {
  std::string ours, baseline, meaning;
  bool higher_is_better_throughput;  // compare items/s (true) or time per iteration (false)
};
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(std::vector<Pair> pairs) : pairs_(std::move(pairs)) {}
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  std::vector<Pair> pairs_;
  bool finalized_ = false;
  std::map<std::string, std::pair<double, double>> seen_;  // name -> (ns per iteration, items per second)
};

}  // namespace bench
