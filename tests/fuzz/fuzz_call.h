// The shared body of the store-backed fuzz targets: one input through one entry point of the fixture store, the ABI
// contract checked (fuzz_check.h), then — on success — the target's own check of the returned record.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "convstore/convstore.h"
#include "fuzz_check.h"
#include "fuzz_store.h"

namespace convstore_fuzz {

// What a successful call returned, for the target's check.
struct Success {
  const char* call;
  int rc;
  nlohmann::json json;  // the parsed out_json
  const char* out;
  const char* err;
  const char* input;    // the request, NUL-terminated
  [[noreturn]] void Fail(const char* what) const { convstore_fuzz::Fail(call, what, rc, out, err); }
};

// invoke(store, input, &out, &err) -> rc; on_success(store, const Success&).
template <typename Invoke, typename OnSuccess>
int FuzzStoreCall(const uint8_t* data, size_t size, const char* call, Kind kind, Invoke invoke,
                  OnSuccess on_success) {
  FuzzStore& store = FuzzStore::Get();
  store.BeginInput(size);
  CInput input(data, size);
  char* out = Sentinel();
  char* err = Sentinel();
  int rc = invoke(store, input.c_str(), &out, &err);
  nlohmann::json result = CheckCall(call, rc, out, err, kind);
  if (rc == CONVSTORE_OK) on_success(store, Success{call, rc, std::move(result), out, err, input.c_str()});
  convstore_free(out);
  convstore_free(err);
  return 0;
}

// After a call that moved spend around (retention, an import): the store's rollups still verify.
inline void ExpectRollupsVerify(FuzzStore& s, const Success& r) {
  char* out = nullptr;
  char* err = nullptr;
  if (convstore_verify_rollups(s.db(), &out, &err) != CONVSTORE_OK) r.Fail("verify_rollups failed");
  const auto report = nlohmann::json::parse(out);
  convstore_free(out);
  convstore_free(err);
  if (report.value("differences", int64_t{-1}) != 0) r.Fail("the rollups no longer verify");
}

}  // namespace convstore_fuzz
