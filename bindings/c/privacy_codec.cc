#include "privacy_codec.h"

#include "json_fields.h"

namespace convstore::capi {

namespace {

void WritePending(JsonWriter& w, const std::vector<std::string>& pending) {
  w.Key("pending").BeginArray();
  for (const auto& p : pending) w.String(p);
  w.EndArray();
}

}  // namespace

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
