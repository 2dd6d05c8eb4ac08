// Fuzz target "options": convstore_open(":memory:", <input>) — the options_json decoder and the option checks — and
// the same input through an options handle (convstore_options_set_json, convstore_open_with_options), which must
// agree with it.
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

  convstore_options_t* options = convstore_options_create();
  if (options == nullptr) return 0;
  err = Sentinel();
  int set = convstore_options_set_json(options, input.c_str(), &err);
  CheckCodeAndMessage("convstore_options_set_json", set, set == CONVSTORE_OK, nullptr, err);
  convstore_free(err);
  if (set == CONVSTORE_OK) {
    db = reinterpret_cast<convstore_t*>(Sentinel());
    err = Sentinel();
    int opened = convstore_open_with_options(":memory:", options, &db, &err);
    CheckCodeAndMessage("convstore_open_with_options", opened, db != nullptr, nullptr, err);
    if ((opened == CONVSTORE_OK) != (rc == CONVSTORE_OK))
      Fail("convstore_open_with_options", "disagrees with convstore_open on the same options", opened, nullptr, err);
    convstore_close(db);
    convstore_free(err);
  } else if (rc == CONVSTORE_OK) {
    Fail("convstore_options_set_json", "refused options that convstore_open accepted", set, nullptr, nullptr);
  }
  convstore_options_destroy(options);
  return 0;
}
