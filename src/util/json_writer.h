// A minimal streaming JSON writer for records leaving the library.
// Why not nlohmann::json for output: stored documents (metadata, tool input/output) are already validated, compact
// JSON; the writer embeds them raw instead of parsing and re-serialising each one per row.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace convstore::util {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // finite values only; non-finite become null
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& Raw(std::string_view json);  // an already valid JSON value

  std::string& str() { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();
  std::string out_;
  bool need_comma_ = false;
};

// Appends `s` as a quoted JSON string (escaping quotes, backslashes and control characters).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace convstore::util
