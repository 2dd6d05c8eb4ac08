// Shared plumbing of the C ABI's entry points: the handle, the exception guard, JSON emission, argument checks.
// Internal to bindings/c.
#pragma once
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>

#include "convstore/convstore.h"
#include "convstore/store.h"
#include "util/fork.h"
#include "util/utf8.h"

struct convstore_t {
  std::unique_ptr<convstore::ConversationStore> store;
};

namespace convstore::capi {

using convstore::Result;
using convstore::Status;

inline char* CopyString(std::string_view s) noexcept {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p != nullptr) {
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
  }
  return p;
}

inline int Report(const Status& s, char** errmsg) {
  // The header promises UTF-8 messages; anything quoting raw input bytes is escaped on the way out.
  if (!s.ok() && errmsg != nullptr) *errmsg = CopyString(convstore::util::EscapeInvalidUtf8(s.message()));
  return static_cast<int>(s.code());
}

// Runs `body` (returning Status) with errmsg and out_json reset first and every exception turned into a code.
template <typename F>
int Guard(char** out_json, char** errmsg, F&& body) noexcept {
  convstore::util::CallScope in_call;  // decoding and encoding too: a fork waits for them (util/fork.h)
  if (errmsg != nullptr) *errmsg = nullptr;
  if (out_json != nullptr) *out_json = nullptr;
  try {
    return Report(body(), errmsg);
  } catch (const std::bad_alloc&) {
  } catch (const std::exception& e) {
    try {
      return Report(Status::Internal(std::string("unexpected error: ") + e.what()), errmsg);
    } catch (...) {
    }
  } catch (...) {
  }
  // Out of memory: no allocation here but the message copy, which may fail (errmsg then stays NULL).
  if (errmsg != nullptr) *errmsg = CopyString("out of memory");
  return static_cast<int>(convstore::Code::kInternal);
}

// A C progress callback as the C++ options' on_progress (empty for NULL).
inline std::function<void(const Progress&)> ProgressOf(convstore_progress_fn fn, void* user_data) {
  if (fn == nullptr) return nullptr;
  return [fn, user_data](const Progress& p) { fn(user_data, p.operation.c_str(), p.done, p.total); };
}

inline Status NullArg(const char* what) { return Status::InvalidArgument(std::string(what) + " is NULL"); }

// Stores the encoded value in *out_json (when wanted) or returns the failure.
// Records were checked when they were read (src/store/stored_check.h); the UTF-8 check here is the last guard
// that output is valid JSON text whatever reached the encoder.
template <typename T, typename Encode>
Status Emit(const Result<T>& r, char** out_json, Encode encode) {
  if (!r.ok()) return r.status();
  if (out_json != nullptr) {
    const std::string text = encode(*r);
    if (!convstore::util::IsValidUtf8(text))
      return Status::Corruption("a record read from the file holds text that is not valid UTF-8");
    *out_json = CopyString(text);
    if (*out_json == nullptr) return Status::Internal("out of memory");
  }
  return Status::OK();
}

// A NULL handle is bad input; a shut-down one answers CONVSTORE_CLOSED whatever the other arguments are.
#define CHECK_HANDLE(db)                    \
  if ((db) == nullptr) return NullArg("db"); \
  if ((db)->store->closed()) return Status::Closed()
#define CHECK_ARG(arg) \
  if ((arg) == nullptr) return NullArg(#arg)

}  // namespace convstore::capi

