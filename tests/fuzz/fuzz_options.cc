// Fuzz target "options": convstore_open(":memory:", <input>) — the options_json decoder and the option checks.
#include <cstddef>
#include <cstdint>

#include "convstore/convstore.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  CInput input(data, size);
  convstore_t* db = reinterpret_cast<convstore_t*>(Sentinel());
  char* err = Sentinel();
  int rc = convstore_open(":memory:", input.c_str(), &db, &err);
  const char* call = "convstore_open";
  if (db == reinterpret_cast<convstore_t*>(Sentinel())) Fail(call, "*out was not set", rc, nullptr, err);
  CheckCodeAndMessage(call, rc, db != nullptr, nullptr, err);
  if (rc == CONVSTORE_OK && convstore_schema_version(db) < 1)
    Fail(call, "the opened store reports no schema version", rc, nullptr, err);
  convstore_close(db);
  convstore_free(err);
  return 0;
}
