// convstore metrics record|query: the store's metrics time series (convstore/monitoring.h; docs/monitoring.md).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct MetricsArgs {
  std::string store, type, name, value, unit, labels, at, from, to, bucket = "none";
  bool json = false;
};

// The labels argument as one JSON value (re-serialised, so nothing but a value reaches the request); nullopt (the
// problem printed) when it does not parse.
std::optional<std::string> LabelsJson(const std::string& text, const char* command) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "convstore %s: --labels is not JSON\n", command);
    return std::nullopt;
  }
  return j.dump();
}

int Run(const MetricsArgs& a, bool record) {
  const char* command = record ? "metrics record" : "metrics query";
  std::optional<std::string> labels;
  if (!a.labels.empty() && !(labels = LabelsJson(a.labels, command))) return 2;
  if (record) {
    char* end = nullptr;
    const double v = std::strtod(a.value.c_str(), &end);
    if (a.value.empty() || *end != '\0' || !std::isfinite(v)) {
      std::fprintf(stderr, "convstore %s: --value must be a finite number\n", command);
      return 2;
    }
  }
  convstore_t* db = nullptr;
  int rc = OpenExisting(a.store, /*read_only=*/!record, command, &db);
  if (rc != 0) return rc;
  char* err = nullptr;
  char* out = nullptr;
  if (record) {
    // The value goes into the JSON as given: a number the parser checks (a word is refused there).
    std::string p = "{\"type\":" + JsonString(a.type) + ",\"name\":" + JsonString(a.name) + ",\"value\":" + a.value;
    if (!a.unit.empty()) p += ",\"unit\":" + JsonString(a.unit);
    if (labels) p += ",\"labels\":" + *labels;
    if (!a.at.empty()) p += ",\"at\":" + TimeJson(a.at);
    p += "}";
    rc = convstore_record_metric(db, p.c_str(), &err);
  } else {
    std::string q = "{\"name\":" + JsonString(a.name) + ",\"from\":" + TimeJson(a.from) + ",\"to\":" + TimeJson(a.to) +
                    ",\"bucket\":" + JsonString(a.bucket);
    if (!a.type.empty()) q += ",\"type\":" + JsonString(a.type);
    if (labels) q += ",\"labels\":" + *labels;
    q += "}";
    rc = convstore_query_metrics(db, q.c_str(), &out, &err);
  }
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed(command, rc, err);
  if (record) {
    if (!a.json) std::printf("recorded %s = %s\n", a.name.c_str(), a.value.c_str());
    return 0;
  }
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    JsonView s(out);
    const std::string unit = s.Text("unit");
    std::printf("%s: %lld points%s\n", a.name.c_str(), static_cast<long long>(s.Int("points")),
                unit.empty() ? "" : (" (" + unit + ")").c_str());
    std::printf("%-28s %10s %12s %12s %12s %12s %12s %12s\n", "start", "count", "min", "avg", "p50", "p95", "p99",
                "max");
    for (const auto& b : s.json()["buckets"]) {
      JsonView v(b);
      auto num = [&](const char* k) { return b.contains(k) && b[k].is_number() ? b[k].get<double>() : 0.0; };
      std::printf("%-28s %10lld %12.4g %12.4g %12.4g %12.4g %12.4g %12.4g\n", v.Text("start").c_str(),
                  static_cast<long long>(v.Int("count")), num("min"), num("avg"), num("p50"), num("p95"), num("p99"),
                  num("max"));
    }
  }
  convstore_free(out);
  return 0;
}

}  // namespace

void AddMetricsCommand(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<MetricsArgs>();
  CLI::App* cmd = app.add_subcommand("metrics", "The store's metrics time series: record, query.");
  cmd->require_subcommand(1);
  CLI::App* record = cmd->add_subcommand("record", "Record one measurement");
  record->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  record->add_option("--type", args->type, "latency, tokens, gauge, ...")->required();
  record->add_option("--name", args->name, "the metric, e.g. api.request_ms")->required();
  record->add_option("--value", args->value, "a number")->required();
  record->add_option("--unit", args->unit, "ms, tokens, ...");
  record->add_option("--labels", args->labels, "a flat JSON object, e.g. '{\"model\":\"gpt-4o\"}'");
  record->add_option("--at", args->at, "when it was measured (ISO-8601 or µs; default now)");
  record->add_flag("--json", args->json, "print nothing on success");
  record->callback([args, &run]() { run = [args]() { return Run(*args, true); }; });
  CLI::App* query = cmd->add_subcommand("query", "Count, sum, min, max, mean and percentiles per bucket");
  query->add_option("store", args->store, "the convstore file")->required()->check(CLI::ExistingFile);
  query->add_option("--name", args->name, "the metric")->required();
  query->add_option("--from", args->from, "start of the range (ISO-8601 or µs)")->required();
  query->add_option("--to", args->to, "end of the range, exclusive")->required();
  query->add_option("--type", args->type, "only points of this type");
  query->add_option("--labels", args->labels, "only points holding these labels (a JSON object)");
  query->add_option("--bucket", args->bucket, "none (default), minute, hour or day")
      ->check(CLI::IsMember({"none", "minute", "hour", "day"}));
  query->add_flag("--json", args->json, "print the C API's JSON");
  query->callback([args, &run]() { run = [args]() { return Run(*args, false); }; });
}

}  // namespace convstore::cli
