#include "privacy_codec.h"

#include "json_fields.h"

namespace convstore::capi {

namespace {

void WritePending(JsonWriter& w, const std::vector<std::string>& pending) {
  w.Key("pending").BeginArray();
  for (const auto& p : pending) w.String(p);
  w.EndArray();
}

void WriteCounts(JsonWriter& w, const UserDataCounts& c) {
  w.Key("counts").BeginObject();
  w.Key("conversations").Int(c.conversations).Key("messages").Int(c.messages).Key("tool_calls").Int(c.tool_calls);
  w.Key("deleted_messages").Int(c.deleted_messages).Key("api_usage").Int(c.api_usage).Key("budgets").Int(c.budgets);
  w.Key("audit_entries").Int(c.audit_entries);
  w.EndObject();
}

}  // namespace

std::string EncodeUserExportReport(const UserExportReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("path").String(r.path).Key("user_key").String(r.user_key).Key("pseudonym").String(r.pseudonym);
  WriteCounts(w, r.counts);
  WriteMoney(w, "cost", r.cost_nanousd);
  w.Key("bytes").Int(r.bytes).Key("duration_us").Int(r.duration_us);
  w.EndObject();
  return w.Take();
}

std::string EncodeUserImportReport(const UserImportReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("user_key").String(r.user_key).Key("pseudonym").String(r.pseudonym);
  w.Key("restored_erased_user").Bool(r.restored_erased_user);
  WriteCounts(w, r.counts);
  WriteMoney(w, "cost", r.cost_nanousd);
  WriteMoney(w, "cost_from_retained", r.cost_from_retained);
  w.Key("duration_us").Int(r.duration_us);
  w.EndObject();
  return w.Take();
}

std::string EncodeEraseReport(const EraseReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("pseudonym").String(r.pseudonym).Key("user_key").String(r.user_key);
  w.Key("conversations").Int(r.conversations).Key("messages").Int(r.messages).Key("tool_calls").Int(r.tool_calls);
  w.Key("tombstones").Int(r.tombstones).Key("api_usage").Int(r.api_usage).Key("budgets").Int(r.budgets);
  w.Key("reservations").Int(r.reservations).Key("audit_entries_stripped").Int(r.audit_entries_stripped);
  w.Key("journal_entries_rewritten").Int(r.journal_entries_rewritten);
  w.Key("archive_files_removed").Int(r.archive_files_removed);
  WritePending(w, r.pending);
  w.Key("duration_us").Int(r.duration_us);
  w.EndObject();
  return w.Take();
}

std::string EncodeErasures(const std::vector<ErasureStatus>& erasures) {
  JsonWriter w;
  w.BeginObject().Key("erasures").BeginArray();
  for (const ErasureStatus& e : erasures) {
    w.BeginObject();
    w.Key("id").Int(e.id).Key("pseudonym").String(e.pseudonym);
    w.Key("erased_at").String(util::FormatIso8601(e.erased_at)).Key("erased_at_us").Int(e.erased_at);
    w.Key("finished_at");
    if (e.finished_at)
      w.String(util::FormatIso8601(*e.finished_at));
    else
      w.Null();
    WritePending(w, e.pending);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace convstore::capi
