// The C ABI's options handle and the open that takes it (options_json settings plus callbacks).
#include <optional>

#include "c_support.h"
#include "cost_codec.h"
#include "json_codec.h"
#include "util/status_macros.h"

namespace capi = convstore::capi;
using convstore::capi::NullArg;
using convstore::Status;

struct convstore_options_t {
  convstore::Options options;
  std::optional<int64_t> vector_budget;  // "vector_memory_budget_bytes", set on the handle once open
};

namespace {

// Runs inside a Guard, after path and out were checked.
Status Open(const char* path, const convstore::Options& options, std::optional<int64_t> vector_budget,
            convstore_t** out) {
  auto store = convstore::ConversationStore::Open(path, options);
  if (!store.ok()) return store.status();
  if (vector_budget) CONVSTORE_RETURN_IF_ERROR((*store)->SetVectorMemoryBudget(*vector_budget));
  *out = new convstore_t{std::move(*store)};
  return Status::OK();
}

// Decodes options_json into `options`, keeping its callbacks; nothing changes on an error.
Status SetJson(convstore::Options& options, std::optional<int64_t>& vector_budget, const char* options_json) {
  if (options_json == nullptr) return Status::OK();
  std::optional<int64_t> budget;
  auto decoded = capi::DecodeOptions(options_json, budget);
  if (!decoded.ok()) return decoded.status();
  decoded->on_budget_alert = std::move(options.on_budget_alert);
  decoded->on_progress = std::move(options.on_progress);
  decoded->env = options.env;
  options = std::move(*decoded);
  vector_budget = budget;
  return Status::OK();
}

void SetBudgetAlert(convstore::Options& options, convstore_budget_alert_fn fn, void* user_data) {
  if (fn == nullptr) {
    options.on_budget_alert = nullptr;
    return;
  }
  options.on_budget_alert = [fn, user_data](const convstore::BudgetAlert& alert) {
    std::string json = capi::EncodeBudgetAlert(alert);
    fn(user_data, json.c_str());
  };
}

}  // namespace

extern "C" {

convstore_options_t* convstore_options_create(void) { return new (std::nothrow) convstore_options_t; }

void convstore_options_destroy(convstore_options_t* options) { delete options; }

int convstore_options_set_json(convstore_options_t* options, const char* options_json, char** errmsg) {
  return capi::Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_ARG(options);
    return SetJson(options->options, options->vector_budget, options_json);
  });
}

void convstore_options_set_budget_alert(convstore_options_t* options, convstore_budget_alert_fn fn,
                                        void* user_data) {
  if (options == nullptr) return;
  try {
    SetBudgetAlert(options->options, fn, user_data);
  } catch (...) {  // out of memory copying a small closure: the callback stays unset
    options->options.on_budget_alert = nullptr;
  }
}

void convstore_options_set_progress(convstore_options_t* options, convstore_progress_fn fn, void* user_data) {
  if (options == nullptr) return;
  try {
    if (fn == nullptr) {
      options->options.on_progress = nullptr;
      return;
    }
    options->options.on_progress = [fn, user_data](const convstore::Progress& p) {
      fn(user_data, p.operation.c_str(), p.done, p.total);
    };
  } catch (...) {
    options->options.on_progress = nullptr;
  }
}

int convstore_open_with_options(const char* path, const convstore_options_t* options, convstore_t** out,
                                char** errmsg) {
  if (out != nullptr) *out = nullptr;
  return capi::Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_ARG(path);
    CHECK_ARG(out);
    if (options == nullptr) return Open(path, convstore::Options{}, std::nullopt, out);
    return Open(path, options->options, options->vector_budget, out);
  });
}

int convstore_open_with_alerts(const char* path, const char* options_json, convstore_budget_alert_fn on_alert,
                               void* user_data, convstore_t** out, char** errmsg) {
  if (out != nullptr) *out = nullptr;
  return capi::Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_ARG(path);
    CHECK_ARG(out);
    convstore::Options options;
    std::optional<int64_t> vector_budget;
    CONVSTORE_RETURN_IF_ERROR(SetJson(options, vector_budget, options_json));
    SetBudgetAlert(options, on_alert, user_data);
    return Open(path, options, vector_budget, out);
  });
}

}  // extern "C"
