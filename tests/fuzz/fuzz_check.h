// The contract every fuzzed C ABI call must keep, whatever the input: checked after each call, abort() on a breach
// (libFuzzer and the replay test both treat the abort as a failure and keep the input).
//
//   - the result code is one of CONVSTORE_OK .. CONVSTORE_UNAVAILABLE (0..13);
//   - *errmsg is a non-empty UTF-8 message when the call failed and NULL when it succeeded;
//   - *out_json is non-NULL exactly when the call succeeded, and is then JSON of the documented kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "convstore/convstore.h"

namespace convstore_fuzz {

// The input as the C string a C caller would pass: an exact-size heap copy plus the terminating NUL, so a read past
// it is caught by ASan. Bytes after an embedded NUL are invisible to the C ABI, as for any C caller.
class CInput {
 public:
  CInput(const uint8_t* data, size_t size) : buf_(new char[size + 1]) {
    if (size > 0) std::memcpy(buf_.get(), data, size);
    buf_[size] = '\0';
  }
  const char* c_str() const { return buf_.get(); }

 private:
  std::unique_ptr<char[]> buf_;
};

// Initial value of the out-parameters: every entry point must overwrite both (the header promises *errmsg = NULL on
// success and *out_json = NULL on failure), so the sentinel surviving a call is a breach. Never freed.
inline char* Sentinel() {
  static char sentinel[1];
  return sentinel;
}

[[noreturn]] inline void Fail(const char* call, const char* what, int rc, const char* out, const char* err) {
  auto shown = [](const char* s) -> std::string {  // printable ASCII as is, other bytes as \xNN
    if (s == nullptr) return "NULL";
    if (s == Sentinel()) return "(left unset)";
    std::string t;
    for (size_t i = 0; s[i] != '\0' && i < 2000; ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      if (c >= 0x20 && c < 0x7f) t.push_back(static_cast<char>(c)); else t += hex;
    }
    return std::string(s).size() > 2000 ? t + "..." : t;
  };
  std::fprintf(stderr, "\nINVARIANT VIOLATED in %s: %s\n  rc = %d (%s)\n  errmsg = %s\n  out_json = %s\n", call, what, rc,
               convstore_code_name(rc), shown(err).c_str(), shown(out).c_str());
  std::fflush(stderr);
  std::abort();
}

// KNOWN LIBRARY BUG, tolerated until fixed: util::ParseJson (src/util/json_input.cc) puts nlohmann's parse error
// text in the message, and that text quotes the raw input bytes ("...; last read: '\xc5'"), so an input with invalid
// UTF-8 gets a message that is not UTF-8, against the header's promise. Only such JSON syntax-error messages are
// let through; set this to false once the library sanitises them (regressions/*/invalid_utf8_* then enforce it).
inline constexpr bool kTolerateRawInputInJsonSyntaxErrors = false;

inline bool IsUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();  // dump() refuses invalid UTF-8 (type_error 316)
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Checks the code and errmsg of any call; `out_set` says whether the call produced its output (out_json or handle).
inline void CheckCodeAndMessage(const char* call, int rc, bool out_set, const char* out, const char* err) {
  if (rc < CONVSTORE_OK || rc > CONVSTORE_UNAVAILABLE) Fail(call, "result code out of 0..13", rc, out, err);
  if (err == Sentinel()) Fail(call, "*errmsg was not set", rc, out, err);
  if (rc == CONVSTORE_OK) {
    if (err != nullptr) Fail(call, "*errmsg is not NULL on success", rc, out, err);
    if (!out_set) Fail(call, "no output on success", rc, out, err);
  } else {
    if (err == nullptr) Fail(call, "*errmsg is NULL on failure", rc, out, err);
    if (err[0] == '\0') Fail(call, "*errmsg is empty on failure", rc, out, err);
    if (!IsUtf8(err) && !(kTolerateRawInputInJsonSyntaxErrors &&
                          std::strstr(err, " is not valid JSON: [json.exception.parse_error.") != nullptr))
      Fail(call, "*errmsg is not valid UTF-8", rc, out, err);
    if (out_set) Fail(call, "output set on failure", rc, out, err);
  }
}

enum class Kind { kObject, kArray };

// Checks a call with an out_json parameter. Returns the parsed output (JSON null when the call failed) for
// target-specific checks. Frees nothing: the caller frees out and err afterwards.
inline nlohmann::json CheckCall(const char* call, int rc, const char* out, const char* err, Kind kind) {
  if (out == Sentinel()) Fail(call, "*out_json was not set", rc, out, err);
  CheckCodeAndMessage(call, rc, out != nullptr, out, err);
  if (rc != CONVSTORE_OK) return nullptr;
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception& e) {
    Fail(call, (std::string("out_json is not valid JSON: ") + e.what()).c_str(), rc, out, err);
  }
  if (kind == Kind::kObject && !parsed.is_object()) Fail(call, "out_json is not a JSON object", rc, out, err);
  if (kind == Kind::kArray && !parsed.is_array()) Fail(call, "out_json is not a JSON array", rc, out, err);
  return parsed;
}

// A member every successful output must carry as a non-empty string (a record's "id" or "key").
inline void RequireStringMember(const char* call, const nlohmann::json& obj, const char* name, const char* out) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    Fail(call, (std::string("output lacks a non-empty string \"") + name + "\"").c_str(), CONVSTORE_OK, out, nullptr);
}

}  // namespace convstore_fuzz
