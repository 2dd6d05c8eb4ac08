// Shared pieces of the C ABI's JSON codecs: a strict request-object field reader and encoder helpers.
// Internal to bindings/c; pure functions and per-call objects, thread-safe.
#pragma once
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convstore/limits.h"
#include "convstore/status.h"
#include "convstore/types.h"
#include "util/json_input.h"
#include "util/json_writer.h"
#include "util/money.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore::capi {

using nlohmann::json;
using util::JsonWriter;

// Reads the fields of one request object, remembering which were consumed so that leftovers can be refused.
class Fields {
 public:
  Fields(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  // Each getter leaves `out` untouched when the field is absent (or JSON null, where noted).
  Status Str(const char* name, std::string& out) {
    const json* v = Take(name);
    if (v == nullptr || v->is_null()) return Status::OK();
    if (!v->is_string()) return TypeError(name, "a string");
    out = v->get_ref<const std::string&>();
    return Status::OK();
  }
  Status Str(const char* name, std::optional<std::string>& out) {
    std::string s;
    const json* v = Peek(name);
    if (v == nullptr || v->is_null()) { Take(name); return Status::OK(); }
    if (Status st = Str(name, s); !st.ok()) return st;
    out = std::move(s);
    return Status::OK();
  }
  Status Int(const char* name, std::optional<int64_t>& out) {
    const json* v = Take(name);
    if (v == nullptr || v->is_null()) return Status::OK();
    if (v->is_number_integer() && !v->is_number_unsigned()) { out = v->get<int64_t>(); return Status::OK(); }
    if (v->is_number_unsigned()) {
      auto u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX))
        return Status::InvalidArgument(fmt::format("{} is out of the 64-bit integer range", Name(name)));
      out = static_cast<int64_t>(u);
      return Status::OK();
    }
    if (v->is_number_float()) {
      double d = v->get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
        out = static_cast<int64_t>(d);  // 1e3 or 5.0: an integral value written as a float
        return Status::OK();
      }
      return Status::InvalidArgument(fmt::format("{} must be an integer in the 64-bit range", Name(name)));
    }
    return TypeError(name, "an integer");
  }
  Status Int(const char* name, int& out) {
    std::optional<int64_t> v;
    if (Status s = Int(name, v); !s.ok()) return s;
    if (v) {
      if (*v < INT32_MIN || *v > INT32_MAX) return Status::InvalidArgument(fmt::format("{} is out of range", Name(name)));
      out = static_cast<int>(*v);
    }
    return Status::OK();
  }
  Status Double(const char* name, std::optional<double>& out) {
    const json* v = Take(name);
    if (v == nullptr || v->is_null()) return Status::OK();
    if (!v->is_number()) return TypeError(name, "a number");
    out = v->get<double>();
    return Status::OK();
  }
  Status Bool(const char* name, std::optional<bool>& out) {
    const json* v = Take(name);
    if (v == nullptr || v->is_null()) return Status::OK();
    if (!v->is_boolean()) return TypeError(name, "true or false");
    out = v->get<bool>();
    return Status::OK();
  }
  // Any JSON value, re-serialised compactly. require_object refuses non-objects.
  Status Doc(const char* name, std::string& out, bool require_object) {
    const json* v = Take(name);
    if (v == nullptr) return Status::OK();
    if (v->is_null() && require_object) return Status::OK();
    if (require_object && !v->is_object()) return TypeError(name, "a JSON object");
    out = v->dump();
    return Status::OK();
  }
  // A JSON array (null or absent: out stays nullptr).
  Status Array(const char* name, const json*& out) {
    const json* v = Take(name);
    out = nullptr;
    if (v == nullptr || v->is_null()) return Status::OK();
    if (!v->is_array()) return TypeError(name, "a JSON array");
    out = v;
    return Status::OK();
  }
  // ISO-8601 text with an offset, or integer microseconds.
  Status Time(const char* name, std::optional<Micros>& out) {
    const json* v = Peek(name);
    if (v != nullptr && v->is_string()) {
      Take(name);
      int64_t t = 0;
      if (const char* problem = util::Iso8601Error(v->get_ref<const std::string&>(), t))
        return Status::InvalidArgument(fmt::format("{} {} (or give integer microseconds)", Name(name), problem));
      out = t;
      return Status::OK();
    }
    return Int(name, out);
  }
  // Money: "<name>_nanousd" (integer) or "<name>_usd" (decimal string or number). At most one of the two.
  Status Money(const char* base, std::optional<NanoUsd>& out) {
    std::string nano_name = std::string(base) + "_nanousd";
    std::string usd_name = std::string(base) + "_usd";
    const json* usd = Peek(usd_name.c_str());
    std::optional<int64_t> nano;
    if (Status s = Int(nano_name.c_str(), nano); !s.ok()) return s;
    if (usd != nullptr && !usd->is_null()) {
      if (nano) return Status::InvalidArgument(fmt::format("give {} or {}, not both", Name(usd_name.c_str()),
                                                           Name(nano_name.c_str())));
      Take(usd_name.c_str());
      std::optional<int64_t> parsed;
      if (usd->is_string()) {
        parsed = util::ParseUsd(usd->get_ref<const std::string&>());
      } else if (usd->is_number_integer()) {
        // Positive literals parse as unsigned; anything past int64 is out of range anyway.
        bool fits = !usd->is_number_unsigned() || usd->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
        int64_t whole = fits ? usd->get<int64_t>() : 0;
        int64_t n;
        if (fits && !__builtin_mul_overflow(whole, kNanoUsdPerUsd, &n)) parsed = n;
      } else if (usd->is_number_float()) {
        parsed = util::UsdDoubleToNano(usd->get<double>());
      } else {
        return TypeError(usd_name.c_str(), "a decimal string or a number");
      }
      if (!parsed)
        return Status::InvalidArgument(
            fmt::format("{} must be a finite decimal amount with at most 9 decimals", Name(usd_name.c_str())));
      out = *parsed;
      return Status::OK();
    }
    Take(usd_name.c_str());
    if (nano) out = *nano;
    return Status::OK();
  }

  // Refuses fields nobody consumed.
  Status Finish() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!taken_.count(it.key())) return Status::InvalidArgument(fmt::format("unknown field {}", Name(it.key())));
    return Status::OK();
  }

 private:
  const json* Peek(const char* name) const {
    auto it = obj_.find(name);
    return it == obj_.end() ? nullptr : &*it;
  }
  const json* Take(const char* name) {
    taken_.insert(name);
    return Peek(name);
  }
  std::string Name(std::string_view name) const { return fmt::format("'{}{}'", prefix_, name); }
  Status TypeError(const char* name, const char* expected) const {
    return Status::InvalidArgument(fmt::format("{} must be {}", Name(name), expected));
  }

  const json& obj_;
  std::string prefix_;
  std::unordered_set<std::string> taken_;
};

// A request may wrap documents of the maximum depth: an array (batches) and an object around them.
constexpr int kMaxRequestDepth = limits::kMaxJsonDepth + 2;

inline Result<json> ParseObject(std::string_view text, std::string_view what) {
  auto parsed = util::ParseJson(text, what, limits::kMaxRequestBytes, kMaxRequestDepth);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Status::InvalidArgument(fmt::format("{} must be a JSON object", what));
  return std::move(*parsed);
}

// Decodes one request object: parses `text`, lets read(Fields&, T&) -> Status take its fields, then refuses fields
// nobody took. `what` names the object in errors ("message", "budget").
template <typename T, typename Read>
Result<T> DecodeObject(std::string_view text, std::string_view what, Read&& read) {
  auto obj = ParseObject(text, what);
  if (!obj.ok()) return obj.status();
  Fields f(*obj, "");
  T out{};
  CONVSTORE_RETURN_IF_ERROR(read(f, out));
  CONVSTORE_RETURN_IF_ERROR(f.Finish());
  return out;
}

// The spend fields a message and an API-usage row share (token counts, cost, latency), read and written in one
// place. A message reads tokens_reasoning before tokens_cache_write, so it reports the same first bad field as it
// always has.
enum class SpendReadOrder { kUsage, kMessage };

template <typename Record>
Status ReadSpend(Fields& f, Record& r, SpendReadOrder order) {
  CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_input", r.tokens_input));
  CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_output", r.tokens_output));
  CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_cached_input", r.tokens_cached_input));
  if (order == SpendReadOrder::kMessage) {
    CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_reasoning", r.tokens_reasoning));
    CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_cache_write", r.tokens_cache_write));
  } else {
    CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_cache_write", r.tokens_cache_write));
    CONVSTORE_RETURN_IF_ERROR(f.Int("tokens_reasoning", r.tokens_reasoning));
  }
  CONVSTORE_RETURN_IF_ERROR(f.Money("cost", r.cost_nanousd));
  return f.Int("latency_us", r.latency_us);
}

inline void WriteTime(JsonWriter& w, const char* name, Micros t) {
  w.Key(name).String(util::FormatIso8601(t));
  w.Key(std::string(name) + "_us").Int(t);
}

inline void WriteOptInt(JsonWriter& w, const char* name, const std::optional<int64_t>& v) {
  w.Key(name);
  if (v) w.Int(*v); else w.Null();
}

inline void WriteMoney(JsonWriter& w, const char* base, const std::optional<NanoUsd>& v) {
  w.Key(std::string(base) + "_usd");
  if (v) w.String(util::FormatUsd(*v)); else w.Null();
  w.Key(std::string(base) + "_nanousd");
  if (v) w.Int(*v); else w.Null();
}

// Message and ApiUsage: token counts, cost, the price that produced it, latency.
template <typename Record>
void WriteSpend(JsonWriter& w, const Record& r) {
  WriteOptInt(w, "tokens_input", r.tokens_input);
  WriteOptInt(w, "tokens_output", r.tokens_output);
  WriteOptInt(w, "tokens_cached_input", r.tokens_cached_input);
  WriteOptInt(w, "tokens_cache_write", r.tokens_cache_write);
  WriteOptInt(w, "tokens_reasoning", r.tokens_reasoning);
  WriteMoney(w, "cost", r.cost_nanousd);
  WriteOptInt(w, "price_id", r.price_id);
  WriteOptInt(w, "latency_us", r.latency_us);
}

}  // namespace convstore::capi
