// Fuzz target "journal_query": convstore_read_journal(db, <input>) on the fixture store, whose journal holds the
// fixtures' entries. Every entry returned must be in sequence order after the query's after_seq.
#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  return FuzzStoreCall(
      data, size, "convstore_read_journal", Kind::kArray,
      [](FuzzStore& s, const char* in, char** out, char** err) { return convstore_read_journal(s.db(), in, out, err); },
      [](FuzzStore&, const Success& r) {
        int64_t previous = 0;
        for (const auto& entry : r.json) {
          if (!entry.is_object() || !entry.contains("seq") || !entry["seq"].is_number_integer())
            r.Fail("an entry without an integer seq");
          const int64_t seq = entry["seq"].get<int64_t>();
          if (seq <= previous) r.Fail("entries out of sequence order");
          previous = seq;
        }
      });
}
