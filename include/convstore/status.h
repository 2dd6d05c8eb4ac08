// Status and Result<T>: how every fallible convstore call reports failure. Nothing in the public API throws.
//
// Thread-safety: plain values; a Status or Result may be moved between threads but not shared mutably.
#ifndef CONVSTORE_STATUS_H_
#define CONVSTORE_STATUS_H_

#include <optional>
#include <string>
#include <utility>

#include "convstore/export.h"

namespace convstore {

// Error codes. The numeric values are part of the C ABI (CONVSTORE_* in convstore.h) and never change.
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad input: nothing was written
  kNotFound = 2,         // an id or key that does not exist
  kConflict = 3,         // e.g. a request_id already used for a different conversation
  kBusy = 4,             // the database stayed locked past the busy timeout
  kIoError = 5,          // the OS refused a read/write/sync, or the disk is full
  kCorruption = 6,       // the file is not a healthy convstore database
  kClosed = 7,           // the store was closed
  kSchemaTooNew = 8,     // the file was written by a newer convstore
  kTooLarge = 9,         // a value beyond a documented limit, or a counter that would overflow
  kInternal = 10,        // a bug or an out-of-memory condition
  kBudgetExceeded = 11,  // a reservation would take a scope past its hard budget: nothing was written
  kReadOnly = 12,        // a write to a store opened read-only, or a file or directory this process may not write
  kUnavailable = 13,     // a server convstore works with (PostgreSQL) cannot be reached now: retry later
};

// The highest code in use: every value from kOk to it has a name; values above it are "unknown".
inline constexpr Code kLastCode = Code::kUnavailable;

// Stable lowercase name of a code ("invalid_argument", ...).
CONVSTORE_EXPORT const char* CodeName(Code code) noexcept;

// A Status must be looked at: dropping one is a compile warning (cast to void to ignore one on purpose).
class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() noexcept { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Closed(std::string m = "store is closed") { return {Code::kClosed, std::move(m)}; }
  static Status SchemaTooNew(std::string m) { return {Code::kSchemaTooNew, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status BudgetExceeded(std::string m) { return {Code::kBudgetExceeded, std::move(m)}; }
  static Status ReadOnly(std::string m) { return {Code::kReadOnly, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

  bool ok() const noexcept { return code_ == Code::kOk; }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "invalid_argument: role must be one of user, assistant, system, tool"
  CONVSTORE_EXPORT std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Called when the value of a failed Result is used: prints the status to stderr and aborts (never undefined
// behaviour).
[[noreturn]] CONVSTORE_EXPORT void AbortOnValueOfFailedResult(const Status& status) noexcept;

// Either a value or a non-OK Status. Using the value of a failed Result aborts with its status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {           // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status without a value");
  }

  bool ok() const noexcept { return value_.has_value(); }
  const Status& status() const noexcept { return status_; }

  // The value; aborts with the status when !ok().
  T& value() & { return Checked(); }
  const T& value() const& { return Checked(); }
  T&& value() && { return std::move(Checked()); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &Checked(); }

 private:
  T& Checked() {
    if (!value_.has_value()) AbortOnValueOfFailedResult(status_);
    return *value_;
  }
  const T& Checked() const {
    if (!value_.has_value()) AbortOnValueOfFailedResult(status_);
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace convstore

#endif  // CONVSTORE_STATUS_H_
