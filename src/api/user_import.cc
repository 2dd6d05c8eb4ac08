// Importing a person's export (convstore/privacy.h, docs/privacy.md): one write transaction of its own reads the
// file line by line, checks each record and writes its row; then the derived structures are brought in step — the
// metadata index, and the cost counts: an erased user's spend moves from the retained cost back to the imported
// rows (the rollups already count it), anyone else's is added to the rollups. Nothing is written unless the whole
// export, up to its end line, was read and accepted.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/store_impl.h"
#include "convstore/limits.h"
#include "cost/retained.h"
#include "cost/pending.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "portability/user_rows.h"
#include "records/erasure.h"
#include "util/durable_file.h"
#include "util/json_input.h"
#include "util/json_writer.h"
#include "util/logging.h"

namespace convstore::api {

namespace {

// The longest line accepted: a message's content and raw item at their limits, escaped, with room to spare.
constexpr size_t kMaxLineBytes = limits::kMaxRequestBytes;
constexpr size_t kReadChunk = 256 << 10;

// Lines from a file or the caller's source, in order.
class LineReader {
 public:
  explicit LineReader(const UserImportOptions& options) : options_(options) {}
  ~LineReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open() {
    if (options_.path.empty()) return Status::OK();
    fd_ = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return util::StatusFromErrno(fmt::format("open '{}'", options_.path), errno);
    return Status::OK();
  }
  // The next line (without its newline) in *line; false at the end of the input.
  Result<bool> Next(std::string* line) {
    for (;;) {
      const size_t nl = buffer_.find('\n', start_);
      if (nl != std::string::npos) {
        line->assign(buffer_, start_, nl - start_);
        start_ = nl + 1;
        ++number_;
        return true;
      }
      if (buffer_.size() - start_ > kMaxLineBytes)
        return Status::TooLarge(fmt::format("line {} is longer than {} bytes", number_ + 1, kMaxLineBytes));
      buffer_.erase(0, start_);
      start_ = 0;
      if (ended_) {
        if (buffer_.empty()) return false;
        line->swap(buffer_);  // a last line without its newline
        buffer_.clear();
        ++number_;
        return true;
      }
      const size_t had = buffer_.size();
      buffer_.resize(had + kReadChunk);
      auto got = Fill(buffer_.data() + had, kReadChunk);
      if (!got.ok()) return got.status();
      buffer_.resize(had + *got);
      if (*got == 0) ended_ = true;
    }
  }
  int64_t number() const { return number_; }

 private:
  Result<size_t> Fill(char* out, size_t capacity) {
    if (fd_ < 0) {
      auto got = options_.source(out, capacity);
      if (got.ok() && *got > capacity) return Status::InvalidArgument("import_user: the source returned more bytes than asked");
      return got;
    }
    for (;;) {
      const ssize_t n = ::read(fd_, out, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return util::StatusFromErrno(fmt::format("read '{}'", options_.path), errno);
    }
  }

  const UserImportOptions& options_;
  int fd_ = -1;
  std::string buffer_;
  size_t start_ = 0;
  bool ended_ = false;
  int64_t number_ = 0;
};

Status AtLine(int64_t line, const Status& s) {
  return Status(s.code(), fmt::format("line {}: {}", line, s.message()));
}

Result<UserDataCounts> CountsOf(const nlohmann::json& record) {
  auto it = record.find("counts");
  if (it == record.end() || !it->is_object()) return Status::InvalidArgument("\"counts\" must be an object");
  UserDataCounts c;
  const std::pair<const char*, int64_t*> fields[] = {
      {"conversations", &c.conversations}, {"messages", &c.messages}, {"tool_calls", &c.tool_calls},
      {"deleted_messages", &c.deleted_messages}, {"api_usage", &c.api_usage}, {"budgets", &c.budgets},
      {"audit_entries", &c.audit_entries}};
  for (const auto& [name, out] : fields) {
    auto v = it->find(name);
    if (v == it->end() || !v->is_number_integer() || v->get<int64_t>() < 0)
      return Status::InvalidArgument(fmt::format("\"counts.{}\" must be a count", name));
    *out = v->get<int64_t>();
  }
  return c;
}

bool SameCounts(const UserDataCounts& a, const UserDataCounts& b) {
  return a.conversations == b.conversations && a.messages == b.messages && a.tool_calls == b.tool_calls &&
         a.deleted_messages == b.deleted_messages && a.api_usage == b.api_usage && a.budgets == b.budgets &&
         a.audit_entries == b.audit_entries;
}

}  // namespace

Result<UserImportReport> StoreImpl::DoImportUser(const UserImportOptions& options) {
  if (options.path.empty() == !options.source)
    return Status::InvalidArgument("import_user: give either a path or a source (exactly one)");
  if (options_.read_only) return Status::ReadOnly("import_user: the store was opened read-only");
  const auto started = std::chrono::steady_clock::now();
  const Micros now = Now();
  const AuditActor who = CurrentAuditActor();
  UserImportReport report;
  auto imported = WriteAlone("import_user", [&](sqlite::Connection& conn) -> Status {
    report = UserImportReport{};
    LineReader reader(options);
    CONVSTORE_RETURN_IF_ERROR(reader.Open());
    std::string text;
    auto next = [&]() -> Result<std::optional<nlohmann::json>> {
      auto got = reader.Next(&text);
      if (!got.ok()) return got.status();
      if (!*got) return std::optional<nlohmann::json>();
      auto parsed = util::ParseJson(text, "record", kMaxLineBytes, limits::kMaxJsonDepth + 4);
      if (!parsed.ok()) return AtLine(reader.number(), parsed.status());
      if (!parsed->is_object() || !parsed->contains("type") || !(*parsed)["type"].is_string())
        return AtLine(reader.number(), Status::InvalidArgument("a record must be a JSON object with a \"type\""));
      return std::optional<nlohmann::json>(std::move(*parsed));
    };

    // The imported messages' cost is counted below, from what the import brings: none of them becomes a pending
    // message (the watermark passes them), and what was pending before is folded first.
    CONVSTORE_RETURN_IF_ERROR(cost::FoldPendingMessages(conn));

    // The header: the format, and the user.
    auto header = next();
    if (!header.ok()) return header.status();
    if (!*header || (**header)["type"] != "header")
      return Status::InvalidArgument("line 1: not a user export: it must start with a \"header\" record");
    const nlohmann::json& h = **header;
    if (!h.contains("format") || h["format"] != kUserExportFormat)
      return Status::InvalidArgument(
          fmt::format("line 1: not a user export in a format this convstore reads (\"{}\")", kUserExportFormat));
    if (!h.contains("user") || !h["user"].is_object() || !h["user"].contains("key") || !h["user"]["key"].is_string())
      return Status::InvalidArgument("line 1: the header has no \"user\" with a \"key\"");
    const std::string key = h["user"]["key"].get<std::string>();
    auto existing = records::FindUserRow(conn, key);
    if (existing.ok())
      return Status::Conflict(fmt::format("user '{}' is in this store already: an import adds a user who is not", key));
    if (existing.status().code() != Code::kNotFound) return existing.status();
    std::optional<int64_t> erased_row;
    if (h["user"].contains("pseudonym") && h["user"]["pseudonym"].is_string()) {
      report.pseudonym = h["user"]["pseudonym"].get<std::string>();
      auto erased = records::FindUserRow(conn, std::string(records::kErasedKeyPrefix) + report.pseudonym);
      if (erased.ok()) {
        erased_row = erased->id;
      } else if (erased.status().code() != Code::kNotFound) {
        return erased.status();
      }
    }
    auto user_id = portability::ImportUserObject(conn, h["user"], erased_row, now);
    if (!user_id.ok()) return AtLine(1, user_id.status());
    report.user_key = key;
    report.restored_erased_user = erased_row.has_value();

    // The records, then the end line.
    portability::RowImporter rows(conn, *user_id, now);
    std::vector<int64_t> conversations, messages, usage;
    UserDataCounts& seen = report.counts;
    bool ended = false;
    Progress progress{"import user", 0, 0};
    for (;;) {
      auto record = next();
      if (!record.ok()) return record.status();
      if (!*record) break;
      const nlohmann::json& r = **record;
      const std::string type = r["type"].get<std::string>();
      if (ended) return AtLine(reader.number(), Status::InvalidArgument("a record after the end line"));
      if (type == "end") {
        auto counts = CountsOf(r);
        if (!counts.ok()) return AtLine(reader.number(), counts.status());
        if (!SameCounts(*counts, seen))
          return AtLine(reader.number(),
                        Status::InvalidArgument("the end line's counts do not match the records before it"));
        ended = true;
        continue;
      }
      if (type == "audit_entry") {  // exported for the person; not replayed as this store's history
        ++seen.audit_entries;
        continue;
      }
      auto kind = portability::KindOfType(type);
      if (!kind) return AtLine(reader.number(), Status::InvalidArgument(fmt::format("unknown record type \"{}\"", type)));
      auto row = rows.Insert(*kind, r);
      if (!row.ok()) return AtLine(reader.number(), row.status());
      switch (*kind) {
        case portability::RowKind::kConversation: ++seen.conversations; conversations.push_back(*row); break;
        case portability::RowKind::kMessage: ++seen.messages; messages.push_back(*row); break;
        case portability::RowKind::kToolCall: ++seen.tool_calls; break;
        case portability::RowKind::kDeletedMessage: ++seen.deleted_messages; break;
        case portability::RowKind::kApiUsage: ++seen.api_usage; usage.push_back(*row); break;
        case portability::RowKind::kBudget: ++seen.budgets; break;
      }
      if (++progress.done % 1000 == 0 && options.on_progress) options.on_progress(progress);
    }
    if (!ended)
      return Status::InvalidArgument(
          fmt::format("the export ends at line {} without its end line: it is truncated", reader.number()));
    if (const std::string wrong = rows.FirstConversationWithWrongCount(); !wrong.empty())
      return Status::InvalidArgument(
          fmt::format("conversation {}: its message_count does not match the messages in the export", wrong));

    // The metadata index, and the spend: counted once.
    CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kConversations, conversations));
    CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kMessages, messages));
    CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kApiUsage, usage));
    CONVSTORE_RETURN_IF_ERROR(search::AfterInsert(conn, TextSearchTarget::kConversations, conversations));
    CONVSTORE_RETURN_IF_ERROR(search::AfterInsert(conn, TextSearchTarget::kMessages, messages));
    std::vector<cost::CostRow> spent;
    for (int64_t c : conversations) CONVSTORE_RETURN_IF_ERROR(cost::ConversationCostRows(conn, c, spent));
    CONVSTORE_RETURN_IF_ERROR(cost::ApiUsageCostRows(conn, usage, spent));
    for (const cost::CostRow& r : spent) report.cost_nanousd += r.cost;
    std::vector<cost::CostRow> to_count;
    if (erased_row) {
      auto released = cost::ReleaseRetainedCostRows(conn, spent, to_count);
      if (!released.ok()) return released.status();
      report.cost_from_retained = *released;
    } else {
      to_count = std::move(spent);
    }
    CONVSTORE_RETURN_IF_ERROR(cost::MarkMessagesCounted(conn));
    CONVSTORE_RETURN_IF_ERROR(cost::RecordCostRows(conn, to_count));

    util::JsonWriter details;
    details.BeginObject().Key("conversations").Int(seen.conversations).Key("messages").Int(seen.messages)
        .Key("tool_calls").Int(seen.tool_calls).Key("deleted_messages").Int(seen.deleted_messages)
        .Key("api_usage").Int(seen.api_usage).Key("budgets").Int(seen.budgets)
        .Key("audit_entries_in_export").Int(seen.audit_entries)
        .Key("restored_erased_user").Bool(report.restored_erased_user)
        .Key("cost_from_retained_nanousd").Int(report.cost_from_retained).EndObject();
    return Audited(conn, who, {"user.imported", "user", "", *user_id, details.Take()});
  });
  if (!imported.ok()) return imported;
  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  util::Logger().info("imported a user ({}): {} conversations, {} messages, {} API usage rows{}", report.user_key,
                      report.counts.conversations, report.counts.messages, report.counts.api_usage,
                      report.restored_erased_user ? ", their erased row taken up again" : "");
  return report;
}

}  // namespace convstore::api
