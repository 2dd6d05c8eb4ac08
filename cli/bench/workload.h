// One benchmark of `convstore bench`: a convstore call and the raw-SQLite baseline of the same work, each opened per
// caller (a thread, or a process of its own), timed call by call by the runner (bench/runner.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace convstore::cli::bench {

enum class Side { kConvstore, kRaw };

// One call of a side; `i` is unique across every call of the run (for ids and varying content). Throws
// std::runtime_error when the call fails: the run stops and reports it.
using Call = std::function<void(int64_t i)>;

struct Workload {
  std::string name;       // "insert", "get_conversation", ...
  std::string convstore;  // what the convstore side calls
  std::string raw;        // what the baseline does
  int items_per_call = 1;  // messages (or rows) one call handles: items/s = calls/s × this
  std::string item = "messages";
  int workers = 1;         // callers at once
  bool processes = false;  // the callers are processes (each opens its own handle) rather than threads
  // Opens a caller of `side` for worker `w`: called in the thread that then makes the calls (threads: the main
  // thread, before the blocks) or in the worker's own process.
  std::function<Call(Side side, int w)> open;
};

}  // namespace convstore::cli::bench
