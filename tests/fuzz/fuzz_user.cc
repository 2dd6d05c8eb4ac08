// Fuzz target "user": convstore_upsert_user(db, <input>); the fixture team "fuzz-team" exists.
#include <cstddef>
#include <cstdint>

#include "convstore/convstore.h"
#include "fuzz_check.h"
#include "fuzz_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  FuzzStore& store = FuzzStore::Get();
  store.BeginInput(size);
  CInput input(data, size);
  char* out = Sentinel();
  char* err = Sentinel();
  const char* call = "convstore_upsert_user";
  int rc = convstore_upsert_user(store.db(), input.c_str(), &out, &err);
  nlohmann::json result = CheckCall(call, rc, out, err, Kind::kObject);
  if (rc == CONVSTORE_OK) RequireStringMember(call, result, "key", out);
  convstore_free(out);
  convstore_free(err);
  return 0;
}
