// The workloads of `convstore bench`, each a convstore call next to its raw-SQLite baseline (bench/raw_sqlite.h):
//
//   insert              add_message of one message        | BEGIN; INSERT message; UPDATE counters; COMMIT
//   insert_exclusive    the same, Options::exclusive      | the same, PRAGMA locking_mode=EXCLUSIVE
//   insert_batch        add_messages of `batch` messages  | the same `batch` inserts and one UPDATE in a transaction
//   writers_threads     insert from `writers` threads     | each thread its own connection, the same insert
//   writers_processes   insert from `writers` processes   | each process its own connection, the same insert
//   get_conversation    a conversation of 50 messages     | SELECT the conversation and its messages in order
//   list_conversations  a user's 20 most recent           | SELECT ... ORDER BY updated_at DESC LIMIT 20 (indexed)
//   cost_summary        a user's 30-day cost summary      | SUM over the user's messages, GROUP BY day
//   metadata_search     messages whose metadata contains  | json_extract() conditions, newest first, LIMIT 10
//   text_search         full-text, 10 best with snippets  | FTS5 MATCH, bm25, snippet(), LIMIT 10
//   vector_search       10 nearest of 10,000 (dim 128)    | read every vector blob, cosine, keep the 10 best
//
// Every side starts from the same rows. The stores are made in `dir` (the disk measured) and left for the caller to
// remove. Not thread-safe; the Calls it opens are each for one thread (or process) at a time.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bench/workload.h"

namespace convstore::cli::bench {

struct BenchConfig {
  std::string dir;          // an existing directory on the disk to measure
  int message_bytes = 400;  // content per message
  int batch = 100;          // messages per insert_batch call
  int writers = 4;          // callers of writers_threads and writers_processes
  bool full_sync = false;   // both sides sync every commit (convstore Durability::kFull, raw synchronous=FULL)
};

// The names of every workload, in the order they run.
const std::vector<std::string>& WorkloadNames();

class Workloads {
 public:
  explicit Workloads(BenchConfig config);
  ~Workloads();
  Workloads(const Workloads&) = delete;
  Workloads& operator=(const Workloads&) = delete;

  // The workload `name` (one of WorkloadNames()), its data made on first use. Throws std::runtime_error when the
  // data cannot be made.
  Workload Get(const std::string& name);

 private:
  struct Data;
  std::unique_ptr<Data> data_;
};

}  // namespace convstore::cli::bench
