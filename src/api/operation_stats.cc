#include "api/operation_stats.h"

#include <cctype>
#include <mutex>

namespace convstore::api {

namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::string> names;  // by id
};

Registry& Operations() {
  static Registry* registry = new Registry();  // never destroyed: entry points may run during static destruction
  return *registry;
}

// A copy of the name of operation `id`, taken under the registry's lock.
std::string NameOf(size_t id) {
  Registry& r = Operations();
  std::lock_guard lock(r.mu);
  return id < r.names.size() ? r.names[id] : std::string();
}

}  // namespace

int RegisterOperation(std::string_view name) {
  Registry& r = Operations();
  std::lock_guard lock(r.mu);
  for (size_t i = 0; i < r.names.size(); ++i)
    if (r.names[i] == name) return static_cast<int>(i);
  if (r.names.size() + 1 >= static_cast<size_t>(kMaxOperations)) {
    if (r.names.size() + 1 == static_cast<size_t>(kMaxOperations)) r.names.emplace_back("other");
    return kMaxOperations - 1;
  }
  r.names.emplace_back(name);
  return static_cast<int>(r.names.size() - 1);
}

std::string OperationNameFromSignature(std::string_view signature) {
  constexpr std::string_view kMarker = "StoreImpl::Do";
  const size_t at = signature.find(kMarker);
  if (at == std::string_view::npos) return "unknown";
  std::string name;
  for (size_t i = at + kMarker.size(); i < signature.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(signature[i]);
    if (!std::isalnum(c)) break;
    if (std::isupper(c)) {
      if (!name.empty()) name += '_';
      name += static_cast<char>(std::tolower(c));
    } else {
      name += static_cast<char>(c);
    }
  }
  return name.empty() ? "unknown" : name;
}

std::vector<OperationCounters::Totals> OperationCounters::Snapshot() const {
  std::vector<Totals> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    const int64_t calls = s.calls.load(std::memory_order_relaxed);
    if (calls == 0) continue;
    Totals t;
    t.name = NameOf(i);
    t.calls = calls;
    t.errors = s.errors.load(std::memory_order_relaxed);
    t.rows = s.rows.load(std::memory_order_relaxed);
    t.total_ns = s.total_ns.load(std::memory_order_relaxed);
    t.min_ns = s.min_ns.load(std::memory_order_relaxed);
    t.max_ns = s.max_ns.load(std::memory_order_relaxed);
    if (t.min_ns == INT64_MAX) t.min_ns = 0;  // a call counted, its time not yet
    t.sum_squares_us = s.sum_squares_us.load(std::memory_order_relaxed);
    out.push_back(std::move(t));
  }
  return out;
}

void OperationCounters::Reset() noexcept {
  for (Slot& s : slots_) {
    s.calls.store(0, std::memory_order_relaxed);
    s.errors.store(0, std::memory_order_relaxed);
    s.rows.store(0, std::memory_order_relaxed);
    s.total_ns.store(0, std::memory_order_relaxed);
    s.min_ns.store(INT64_MAX, std::memory_order_relaxed);
    s.max_ns.store(0, std::memory_order_relaxed);
    s.sum_squares_us.store(0, std::memory_order_relaxed);
  }
}

int64_t RowsOf(const Status&) { return 0; }
int64_t RowsOf(const ConversationPage& page) { return static_cast<int64_t>(page.items.size()); }
int64_t RowsOf(const ConversationWithMessages& conversation) {
  return static_cast<int64_t>(conversation.messages.size());
}
int64_t RowsOf(const MetadataSearchResult& result) {
  return static_cast<int64_t>(result.conversations.size() + result.messages.size() + result.api_usage.size());
}
int64_t RowsOf(const AuditPage& page) { return static_cast<int64_t>(page.entries.size()); }
int64_t RowsOf(const MetricSeries& series) { return series.points; }
int64_t RowsOf(const CostGroupResult& groups) { return static_cast<int64_t>(groups.groups.size()); }
int64_t RowsOf(const StoreStats& stats) { return static_cast<int64_t>(stats.operations.size()); }
int64_t RowsOf(const HealthReport& report) { return static_cast<int64_t>(report.checks.size()); }
int64_t RowsOf(const CostReport& report) { return static_cast<int64_t>(report.daily_by_model.groups.size()); }
int64_t RowsOf(const TextSearchResult& result) { return static_cast<int64_t>(result.hits.size()); }
int64_t RowsOf(const VectorSearchResult& result) { return static_cast<int64_t>(result.hits.size()); }
int64_t RowsOf(const HybridSearchResult& result) { return static_cast<int64_t>(result.hits.size()); }

}  // namespace convstore::api
