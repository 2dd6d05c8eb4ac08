// Fuzz target "cost_report_options": convstore_cost_report(db, <input>) on the fixture store. Either a clear
// refusal, or a report whose parts agree: the top lists no longer than the counts they were cut from and largest
// cost first, every daily group's model among the models, and each model's latency percentiles in order.
#include <set>
#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_cost_report", Kind::kObject,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_cost_report(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) {
        const auto& j = r.json;
        for (auto [list, count] : {std::pair{"top_users", "users_with_spend"}, std::pair{"top_teams", "teams_with_spend"}}) {
          if (!j[list].is_array() || static_cast<int64_t>(j[list].size()) > j.value(count, int64_t{-1}))
            r.Fail("a top list longer than its count");
          int64_t previous = INT64_MAX;
          for (const auto& g : j[list]) {
            const int64_t cost = g.value("cost_nanousd", int64_t{-1});
            if (cost > previous) r.Fail("a top list not largest cost first");
            previous = cost;
          }
        }
        std::set<std::string> models;
        for (const auto& m : j["models"]) models.insert(m.get<std::string>());
        for (const auto& g : j["daily_by_model"]["groups"])
          if (!models.count(g["keys"].value("model", std::string("\x01")))) r.Fail("a daily group's model not listed");
        for (const auto& l : j["latency_by_model"]) {
          const int64_t p50 = l.value("p50_latency_us", int64_t{-1}), p95 = l.value("p95_latency_us", int64_t{-1}),
                        p99 = l.value("p99_latency_us", int64_t{-1});
          if (!(0 <= p50 && p50 <= p95 && p95 <= p99)) r.Fail("latency percentiles out of order");
        }
      });
}
