// ConversationStore's metadata calls: search and explain (on a reader, one snapshot), verify, rebuild and exclusions.
#include <fmt/format.h>

#include "api/store_impl.h"
#include "metadata/index.h"
#include "metadata/search.h"
#include "util/json_writer.h"
#include "util/utf8.h"
#include "util/validate.h"

namespace convstore::api {

Result<MetadataSearchResult> StoreImpl::DoSearchMetadata(const MetadataQuery& query) {
  auto filter = metadata::ValidateQuery(query);  // compiled once, outside the reader lease
  if (!filter.ok()) return filter.status();
  return Read("search_metadata", [&](sqlite::Connection& conn) -> Result<MetadataSearchResult> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // postings, tail and rows from one snapshot
    if (!txn.ok()) return txn.status();
    return metadata::Search(conn, query, *filter);
  });
}

Result<MetadataPlan> StoreImpl::DoExplainMetadata(const MetadataQuery& query) {
  auto result = DoSearchMetadata(query);
  if (!result.ok()) return result.status();
  return std::move(result->plan);
}

Result<MetadataIndexReport> StoreImpl::DoVerifyMetadataIndex() {
  return Read("verify_metadata_index", [&](sqlite::Connection& conn) -> Result<MetadataIndexReport> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return metadata::Verify(conn);
  });
}

Result<MetadataIndexReport> StoreImpl::DoRebuildMetadataIndex(const std::vector<std::string>* paths) {
  std::optional<std::vector<std::string>> excluded;
  if (paths) {
    if (paths->size() > metadata::kMaxExcludedPaths)
      return Status::TooLarge(
          fmt::format("{} excluded paths; the limit is {}", paths->size(), metadata::kMaxExcludedPaths));
    excluded.emplace();
    for (const std::string& p : *paths) {
      if (!util::IsValidUtf8(p) || p.find('\0') != std::string::npos)
        return Status::InvalidArgument("an excluded path is not valid UTF-8 or contains a NUL byte");
      auto keys = metadata::ParsePath(p);
      if (!keys.ok()) return keys.status();
      excluded->push_back(metadata::EncodePath(*keys));
    }
  }
  const char* operation = paths ? "set metadata excluded paths" : "rebuild metadata index";
  const AuditActor who = CurrentAuditActor();
  auto done = Write(operation, [&](sqlite::Connection& conn) -> Status {
    std::vector<std::string> use;
    if (excluded) {
      use = *excluded;
    } else {
      auto stored = metadata::LoadExcludedPaths(conn);
      if (!stored.ok()) return stored.status();
      use = std::move(*stored);
    }
    metadata::ProgressFn progress;
    if (options_.on_progress)
      progress = [this, operation](int64_t d, int64_t t) {
        util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
        options_.on_progress(Progress{operation, d, t});
      };
    CONVSTORE_RETURN_IF_ERROR(metadata::Rebuild(conn, use, progress));
    if (!paths) return Status::OK();
    util::JsonWriter w;
    w.BeginObject().Key("paths").BeginArray();
    for (const std::string& p : *paths) w.String(p);
    w.EndArray().EndObject();
    return Audited(conn, who, {"metadata.exclusions_set", "metadata_index", "", std::nullopt, w.Take()});
  });
  if (!done.ok()) return done;
  return Read("metadata_index_stats", [&](sqlite::Connection& conn) -> Result<MetadataIndexReport> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    return metadata::Stats(conn);
  });
}

}  // namespace convstore::api
