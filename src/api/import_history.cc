// ImportHistory: another tool's history file, opened read-only, written one conversation per transaction.
#include <fmt/format.h>

#include "api/message_insert.h"
#include "api/open_files.h"
#include "api/store_impl.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "records/conversations.h"
#include "records/lookups.h"
#include "sessions/history_sources.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

Status InConversation(const std::string& source_id, const Status& s) {
  return Status(s.code(), fmt::format("conversation '{}' of the source: {}", source_id, s.message()));
}

}  // namespace

Result<ImportReport> StoreImpl::DoImportHistory(const ImportOptions& options) {
  if (options.source_path.empty()) return Status::InvalidArgument("source_path is empty");
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(options.source_path, "source_path", 4096));
  if (!options.user_key.empty()) CONVSTORE_RETURN_IF_ERROR(util::CheckKey(options.user_key, "user key"));
  if (options.format != ImportFormat::kAgentsSdk && options.format != ImportFormat::kAiDatabaseV1)
    return Status::InvalidArgument("format must be kAgentsSdk or kAiDatabaseV1");
  CONVSTORE_RETURN_IF_ERROR(api::CheckNotHeldExclusive(options.source_path));
  sqlite::ConnectionConfig cfg;
  cfg.open_read_only = true;  // SQLITE_OPEN_READONLY: the source is never written
  cfg.read_only = true;
  auto source = sqlite::Connection::Open(options.source_path, cfg);
  if (!source.ok())
    return Status(source.status().code(),
                  fmt::format("cannot open '{}' to import from: {}", options.source_path, source.status().message()));
  sqlite::Connection& src = **source;
  CONVSTORE_RETURN_IF_ERROR(sessions::CheckSource(src, options.format, options.source_path));
  CONVSTORE_RETURN_IF_ERROR(src.Exec("BEGIN", "read the source"));  // one consistent view of the source

  ImportReport report;
  const int64_t now = Now();
  Status read = sessions::ReadSource(
      src, options.format, options.user_key, report.skipped_rows, [&](sessions::SourceConversation& c) -> Status {
        auto conv = records::PrepareConversation(c.conversation);
        if (!conv.ok()) return InConversation(c.source_id, conv.status());
        records::StampConversation(*conv, c.conversation, now);
        std::vector<records::ValidMessage> valid(c.messages.size());
        for (size_t i = 0; i < c.messages.size(); ++i) {
          Status s = records::ValidateMessage(c.messages[i], i, true, now, valid[i]);
          if (!s.ok()) return InConversation(c.source_id, s);
        }
        bool skipped = false;
        Status wrote = Write("import_history", [&](sqlite::Connection& conn) -> Status {
          auto existing = records::FindByExternalId(conn, conv->external_id, conv->user_key);
          if (!existing.ok()) return existing.status();
          if (*existing) {  // imported before
            skipped = true;
            return Status::OK();
          }
          auto user_id = records::FindOrCreateUser(conn, conv->user_key, now);
          if (!user_id.ok()) return user_id.status();
          auto row_id = records::InsertConversation(conn, *conv, *user_id);
          if (!row_id.ok()) return row_id.status();
          CONVSTORE_RETURN_IF_ERROR(metadata::AfterInsert(conn, MetadataTarget::kConversations, {*row_id}));
          CONVSTORE_RETURN_IF_ERROR(search::AfterInsert(conn, TextSearchTarget::kConversations, {*row_id}));
          if (c.archived) CONVSTORE_RETURN_IF_ERROR(records::SetArchived(conn, conv->id, true));
          if (valid.empty()) return Status::OK();
          std::vector<Message> out;
          cost::SpendNote spent;
          return InsertMessages(conn, conv->id, valid.data(), valid.size(), out, spent);
        });
        if (!wrote.ok()) return InConversation(c.source_id, wrote);
        if (skipped) {
          ++report.skipped_conversations;
        } else {
          ++report.conversations;
          report.messages += static_cast<int64_t>(c.messages.size());
        }
        return Status::OK();
      });
  (void)src.Exec("COMMIT", "finish reading the source");
  if (!read.ok()) return read;
  return report;
}

}  // namespace convstore::api
