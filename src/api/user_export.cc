// Exporting a person (convstore/privacy.h, docs/privacy.md): everything about one user, read from one snapshot and
// written as JSON Lines in bounded memory — to a sink, or to a file that appears whole or not at all.
#include <chrono>
#include <optional>
#include <fmt/format.h>

#include "api/store_impl.h"
#include "ops/audit_log.h"
#include "portability/user_rows.h"
#include "records/erasure.h"
#include "records/pseudonyms.h"
#include "util/durable_file.h"
#include "util/json_writer.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

constexpr size_t kFlushBytes = 256 << 10;  // lines are handed on in pieces of about this size
constexpr int64_t kAuditPage = 1000;

void WriteCounts(util::JsonWriter& w, const UserDataCounts& c) {
  w.BeginObject().Key("conversations").Int(c.conversations).Key("messages").Int(c.messages).Key("tool_calls")
      .Int(c.tool_calls).Key("deleted_messages").Int(c.deleted_messages).Key("api_usage").Int(c.api_usage)
      .Key("budgets").Int(c.budgets).Key("audit_entries").Int(c.audit_entries).EndObject();
}

void OptionalString(util::JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  if (value.empty())
    w.Null();
  else
    w.String(value);
}

std::string AuditRecordLine(const AuditEntry& e) {
  util::JsonWriter w;
  w.BeginObject().Key("type").String("audit_entry").Key("seq").Int(e.seq).Key("at_us").Int(e.at);
  w.Key("actor").String(e.actor);
  OptionalString(w, "actor_user", e.actor_user);
  OptionalString(w, "subject_user", e.subject_user);
  w.Key("action").String(e.action).Key("resource_type").String(e.resource_type).Key("resource_id").String(
      e.resource_id);
  w.Key("details").Raw(e.details_json.empty() ? std::string_view("{}") : std::string_view(e.details_json));
  w.Key("personal");
  if (e.personal_json.empty())
    w.Null();
  else
    w.Raw(e.personal_json);
  OptionalString(w, "ip_address", e.ip_address);
  OptionalString(w, "user_agent", e.user_agent);
  w.Key("personal_erased").Bool(e.personal_erased).Key("hash").String(e.hash).Key("prev_hash").String(e.prev_hash);
  w.EndObject();
  return w.Take();
}

}  // namespace

Result<UserExportReport> StoreImpl::DoExportUser(std::string_view user_key, const UserExportOptions& options) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(user_key, "user key"));
  if (options.path.empty() == !options.sink)
    return Status::InvalidArgument("export_user: give either a path or a sink (exactly one)");
  const auto started = std::chrono::steady_clock::now();
  std::optional<util::AtomicFileWriter> file;
  if (!options.path.empty()) {
    file.emplace(options.path, /*exclusive=*/true);
    CONVSTORE_RETURN_IF_ERROR(file->Open());
  }
  // The user's pseudonymous id goes into the export, so that an import after their erasure finds the row the
  // erasure kept their spend under: minted now if they have none yet (a store opened read-only exports without).
  if (!options_.read_only) {
    CONVSTORE_RETURN_IF_ERROR(Write("export_user", [&](sqlite::Connection& conn) -> Status {
      auto user = records::FindUserRow(conn, user_key);
      if (!user.ok()) return user.status();
      return records::PseudonymOf(conn, user->id, Now()).status();
    }));
  }
  UserExportReport report;
  report.path = options.path;
  report.user_key = std::string(user_key);
  std::string pending;
  Progress progress{"export user", 0, 0};
  auto flush = [&]() -> Status {
    if (pending.empty()) return Status::OK();
    report.bytes += static_cast<int64_t>(pending.size());
    Status s = file ? file->Write(pending) : options.sink(pending);
    pending.clear();
    if (options.on_progress) options.on_progress(progress);
    return s;
  };
  auto line = [&](std::string_view record) -> Status {
    pending.append(record).push_back('\n');
    return pending.size() >= kFlushBytes ? flush() : Status::OK();
  };
  const Status read = Read("export_user", [&](sqlite::Connection& conn) -> Status {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto user = records::FindUserRow(conn, user_key);
    if (!user.ok()) return user.status();
    auto user_object = portability::UserObject(conn, user->id);
    if (!user_object.ok()) return user_object.status();
    auto totals = portability::CountRowsOfUser(conn, user->id);
    if (!totals.ok()) return totals.status();
    auto pseudonym = records::FindPseudonymOfKey(conn, user_key);
    if (!pseudonym.ok()) return pseudonym.status();
    UserDataCounts counts = totals->counts;
    if (*pseudonym) {
      auto audited = ops::CountAuditAbout(conn, **pseudonym);
      if (!audited.ok()) return audited.status();
      counts.audit_entries = *audited;
      report.pseudonym = **pseudonym;
    }
    progress.total = counts.conversations + counts.messages + counts.tool_calls + counts.deleted_messages +
                     counts.api_usage + counts.budgets + counts.audit_entries;

    util::JsonWriter header;
    header.BeginObject().Key("type").String("header").Key("format").String(kUserExportFormat);
    header.Key("exported_at_us").Int(Now()).Key("convstore_version").String(Version());
    header.Key("user").Raw(*user_object).Key("counts");
    WriteCounts(header, counts);
    header.Key("cost_nanousd").Int(totals->cost_nanousd).EndObject();
    CONVSTORE_RETURN_IF_ERROR(line(header.str()));

    UserDataCounts& seen = report.counts;
    CONVSTORE_RETURN_IF_ERROR(portability::RowsOfUser(
        conn, user->id, [&](portability::RowKind kind, std::string&& record, int64_t) -> Status {
          switch (kind) {
            case portability::RowKind::kConversation: ++seen.conversations; break;
            case portability::RowKind::kMessage: ++seen.messages; break;
            case portability::RowKind::kToolCall: ++seen.tool_calls; break;
            case portability::RowKind::kDeletedMessage: ++seen.deleted_messages; break;
            case portability::RowKind::kApiUsage: ++seen.api_usage; break;
            case portability::RowKind::kBudget: ++seen.budgets; break;
          }
          ++progress.done;
          return line(record);
        }));
    if (*pseudonym) {
      AuditQuery query;
      query.limit = kAuditPage;
      for (;;) {
        auto page = ops::ReadAudit(conn, query, *pseudonym);
        if (!page.ok()) return page.status();
        for (const AuditEntry& e : page->entries) {
          ++seen.audit_entries;
          ++progress.done;
          CONVSTORE_RETURN_IF_ERROR(line(AuditRecordLine(e)));
        }
        if (page->next_after_seq == 0) break;
        query.after_seq = page->next_after_seq;
      }
    }
    report.cost_nanousd = totals->cost_nanousd;
    util::JsonWriter end;
    end.BeginObject().Key("type").String("end").Key("counts");
    WriteCounts(end, seen);
    end.Key("cost_nanousd").Int(totals->cost_nanousd).EndObject();
    CONVSTORE_RETURN_IF_ERROR(line(end.str()));
    return flush();
  });
  CONVSTORE_RETURN_IF_ERROR(read);
  if (file) CONVSTORE_RETURN_IF_ERROR(file->Commit());
  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace convstore::api
