// The store's health checks (Monitoring::CheckHealth): facts gathered from the file judged against thresholds.
// The facts are read by the caller; this file only weighs them, so every rule (what warns, what fails, the words
// of each finding) is in one place and can be tested without a store.
//
// Pure functions; thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convstore/cost.h"
#include "convstore/monitoring.h"
#include "convstore/status.h"

namespace convstore::ops {

// A reader of the change journal and how far behind it is.
struct ConsumerLag {
  enum class Kind { kOther, kArchive, kSync };
  std::string name;
  Kind kind = Kind::kOther;
  int64_t behind = 0;            // entries it has not taken yet
  Micros oldest_pending_at = 0;  // commit time of the first of them (0 when none)
};

struct HealthFacts {
  Micros now = 0;
  bool in_memory = false;
  std::optional<std::vector<std::string>> quick_check_problems;  // none when not run
  int64_t wal_bytes = 0;
  int64_t page_size = 0, page_count = 0, free_pages = 0;
  bool has_journal = false;      // the file's schema has one (schema 6 and later)
  std::vector<ConsumerLag> consumers;
  std::optional<int64_t> disk_free_bytes, disk_total_bytes;  // none when statvfs failed (the message says why)
  std::string disk_error;
  std::vector<BudgetState> budgets;
  int64_t unfinished_erasures = 0;
  std::string first_erasure_pending;  // what the oldest unfinished erasure waits for
};

// kInvalidArgument naming the first bad threshold (negative, not finite, or a warn past its fail).
Status ValidateThresholds(const HealthThresholds& t);

// The checks in their documented order, and the worst level.
HealthReport JudgeHealth(const HealthFacts& facts, const HealthThresholds& thresholds);

}  // namespace convstore::ops
