// Fuzz target "health_options": convstore_check_health(db, <input>) on the fixture store. Either a clear refusal, or
// a report of the nine checks in their documented order, each with a known level, whose overall level is the worst
// of theirs, and whose thresholds never have a warn past its fail (at or below it for disk_free).
#include <algorithm>
#include <string>

#include "fuzz_call.h"

namespace {

int Rank(const std::string& level) { return level == "ok" ? 0 : level == "warn" ? 1 : level == "fail" ? 2 : -1; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_check_health", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_check_health(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) {
        static const char* const kNames[] = {"quick_check", "wal_size",  "free_pages", "journal_lag", "archive_lag",
                                             "sync_lag",    "disk_free", "budgets",    "erasures"};
        const auto& checks = r.json["checks"];
        if (!checks.is_array() || checks.size() != 9) return r.Fail("not nine checks");
        int worst = 0;
        for (size_t i = 0; i < checks.size(); ++i) {
          const auto& c = checks[i];
          if (c.value("name", "") != kNames[i]) r.Fail("checks out of order");
          const int rank = Rank(c.value("level", ""));
          if (rank < 0) r.Fail("an unknown level");
          if (c.value("message", "").empty()) r.Fail("a check without a message");
          worst = std::max(worst, rank);
          if (c["warn_at"].is_number() && c["fail_at"].is_number()) {
            const double warn = c["warn_at"].get<double>(), fail = c["fail_at"].get<double>();
            if (c.value("name", "") == std::string("disk_free") ? warn < fail : warn > fail)
              r.Fail("a warn threshold past its fail threshold");
          }
        }
        if (Rank(r.json.value("level", "")) != worst) r.Fail("the overall level is not the worst check's");
      });
}
