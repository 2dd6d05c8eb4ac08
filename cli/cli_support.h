// What the subcommands share: reading a key file, printing a failed C call, JSON string quoting, and reading
// fields of the C ABI's JSON output for the human-readable summaries.
#pragma once
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "convstore/convstore.h"

namespace convstore::cli {

// The key in a file (64 hex characters; surrounding white space ignored), so it never shows in a process list.
inline bool ReadKey(const std::string& path, std::string* key, const char* command) {
  key->clear();
  if (path.empty()) return true;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "convstore %s: cannot read the key file %s\n", command, path.c_str());
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  for (char c : text.str())
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') key->push_back(c);
  return true;
}

// Prints the error of a failed call and frees it; returns the exit code 1.
inline int Failed(const char* command, int rc, char* err) {
  std::fprintf(stderr, "convstore %s: %s: %s\n", command, convstore_code_name(rc), err ? err : "");
  convstore_free(err);
  return 1;
}

// Opens an existing store, read-only when the command only looks (then it writes nothing to the file); returns 0,
// or the exit code of the failure, printed.
inline int OpenExisting(const std::string& store, bool read_only, const char* command, convstore_t** db) {
  char* err = nullptr;
  const char* options = read_only ? R"({"create_if_missing":false,"read_only":true})" : R"({"create_if_missing":false})";
  const int rc = convstore_open(store.c_str(), options, db, &err);
  return rc == CONVSTORE_OK ? 0 : Failed(command, rc, err);
}

inline std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// A time argument as the C ABI's JSON takes it: integer µs as a number, anything else (ISO-8601) as text.
inline std::string TimeJson(const std::string& t) {
  const bool digits = !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
  return digits ? t : JsonString(t);
}

// Fields of a JSON object printed by the C ABI (an unparsable text reads as an empty object).
class JsonView {
 public:
  explicit JsonView(const char* text) : j_(nlohmann::json::parse(text ? text : "", nullptr, false)) {
    if (!j_.is_object()) j_ = nlohmann::json::object();
  }
  explicit JsonView(nlohmann::json j) : j_(std::move(j)) {}
  std::string Text(const char* key) const {
    auto it = j_.find(key);
    return it != j_.end() && it->is_string() ? it->get<std::string>() : "";
  }
  std::string Raw(const char* key) const {
    auto it = j_.find(key);
    return it != j_.end() ? it->dump() : "";
  }
  int64_t Int(const char* key) const {
    auto it = j_.find(key);
    return it != j_.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  }
  const nlohmann::json& json() const { return j_; }

 private:
  nlohmann::json j_;
};

}  // namespace convstore::cli
