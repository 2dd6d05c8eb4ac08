// Out-of-line pieces of the public value types: names of codes, roles and statuses; version functions.
#include "convstore/status.h"

#include <cstdio>
#include <cstdlib>
#include "convstore/store.h"
#include "convstore/types.h"
#include "convstore/version.h"

namespace convstore {

const char* CodeName(Code code) noexcept {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kConflict: return "conflict";
    case Code::kBusy: return "busy";
    case Code::kIoError: return "io_error";
    case Code::kCorruption: return "corruption";
    case Code::kClosed: return "closed";
    case Code::kSchemaTooNew: return "schema_too_new";
    case Code::kTooLarge: return "too_large";
    case Code::kInternal: return "internal";
    case Code::kBudgetExceeded: return "budget_exceeded";
    case Code::kReadOnly: return "read_only";
    case Code::kUnavailable: return "unavailable";
  }
  return "unknown";
}

void AbortOnValueOfFailedResult(const Status& status) noexcept {
  std::fprintf(stderr, "convstore: the value of a failed Result was used: %s: %s\n", CodeName(status.code()),
               status.message().c_str());
  std::abort();
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = CodeName(code_);
  s += ": ";
  s += message_;
  return s;
}

const char* RoleName(Role role) noexcept {
  switch (role) {
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kSystem: return "system";
    case Role::kTool: return "tool";
  }
  return nullptr;
}

std::optional<Role> ParseRole(std::string_view name) noexcept {
  if (name == "user") return Role::kUser;
  if (name == "assistant") return Role::kAssistant;
  if (name == "system") return Role::kSystem;
  if (name == "tool") return Role::kTool;
  if (name == "developer") return Role::kSystem;  // the newer APIs' name for system instructions (types.h)
  return std::nullopt;
}

const char* ToolStatusName(ToolStatus status) noexcept {
  switch (status) {
    case ToolStatus::kPending: return "pending";
    case ToolStatus::kSuccess: return "success";
    case ToolStatus::kError: return "error";
  }
  return nullptr;
}

std::optional<ToolStatus> ParseToolStatus(std::string_view name) noexcept {
  if (name == "pending") return ToolStatus::kPending;
  if (name == "success") return ToolStatus::kSuccess;
  if (name == "error") return ToolStatus::kError;
  return std::nullopt;
}


const char* Version() noexcept { return CONVSTORE_VERSION_STRING; }
int AbiVersion() noexcept { return CONVSTORE_ABI_VERSION; }

}  // namespace convstore
