#include "retention_codec.h"

#include "json_fields.h"

namespace convstore::capi {

namespace {

struct PolicyField {
  const char* name;
  std::optional<Micros> RetentionPolicy::*member;
};
constexpr PolicyField kPolicyFields[] = {{"conversations_idle_us", &RetentionPolicy::conversations_idle_us},
                                         {"api_usage_us", &RetentionPolicy::api_usage_us},
                                         {"metrics_us", &RetentionPolicy::metrics_us},
                                         {"audit_us", &RetentionPolicy::audit_us},
                                         {"journal_us", &RetentionPolicy::journal_us}};

void WriteReport(JsonWriter& w, const RetentionReport& r) {
  w.BeginObject();
  w.Key("started_at").String(util::FormatIso8601(r.started_at)).Key("started_at_us").Int(r.started_at);
  w.Key("conversations").Int(r.conversations).Key("messages").Int(r.messages).Key("tool_calls").Int(r.tool_calls);
  w.Key("tombstones").Int(r.tombstones).Key("api_usage").Int(r.api_usage).Key("metrics").Int(r.metrics);
  w.Key("audit_entries").Int(r.audit_entries).Key("journal_entries").Int(r.journal_entries);
  w.Key("batches").Int(r.batches).Key("longest_batch_us").Int(r.longest_batch_us);
  w.Key("duration_us").Int(r.duration_us);
  w.EndObject();
}

}  // namespace

Result<RetentionPolicy> DecodeRetentionPolicy(std::string_view text) {
  return DecodeObject<RetentionPolicy>(text, "retention policy", [](Fields& f, RetentionPolicy& p) -> Status {
    for (const PolicyField& field : kPolicyFields) CONVSTORE_RETURN_IF_ERROR(f.Int(field.name, p.*field.member));
    return Status::OK();
  });
}

std::string EncodeRetentionPolicy(const RetentionPolicy& policy) {
  JsonWriter w;
  w.BeginObject();
  for (const PolicyField& field : kPolicyFields) {
    w.Key(field.name);
    if (policy.*field.member)
      w.Int(*(policy.*field.member));
    else
      w.Null();
  }
  w.EndObject();
  return w.Take();
}

Result<RetentionOptions> DecodeRetentionOptions(std::string_view text) {
  return DecodeObject<RetentionOptions>(text, "retention options", [](Fields& f, RetentionOptions& o) -> Status {
    std::optional<int64_t> batch_rows;
    CONVSTORE_RETURN_IF_ERROR(f.Int("batch_rows", batch_rows));
    if (batch_rows) o.batch_rows = *batch_rows;
    std::string policy;
    CONVSTORE_RETURN_IF_ERROR(f.Doc("policy", policy, /*require_object=*/true));
    if (!policy.empty()) {
      auto decoded = DecodeRetentionPolicy(policy);
      if (!decoded.ok()) return decoded.status();
      o.policy = *decoded;
    }
    return Status::OK();
  });
}

std::string EncodeRetentionReport(const RetentionReport& report) {
  JsonWriter w;
  WriteReport(w, report);
  return w.Take();
}

std::string EncodeRetentionStatus(const RetentionStatus& status) {
  JsonWriter w;
  w.BeginObject();
  w.Key("running").Bool(status.running).Key("interval_us").Int(status.interval_us);
  w.Key("runs").Int(status.runs).Key("failed_runs").Int(status.failed_runs);
  w.Key("last");
  if (status.last)
    WriteReport(w, *status.last);
  else
    w.Null();
  w.Key("last_error").String(status.last_error);
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
