// What the metadata index satisfies after every commit, checked in O(index) without reading the documents
// (quick_check_on_open): every posting block decodes, lists are ordered and their counts match their entries, the
// unfolded tail is shorter than kFoldEvery, and every oversized-document entry names an existing row of its
// user and conversation.
#include <fmt/format.h>

#include "metadata/index.h"
#include "metadata/posting_blocks.h"
#include "util/status_macros.h"
#include "util/utf8.h"

namespace convstore::metadata {

namespace {

constexpr const char* kTargetNames[] = {"conversations", "messages", "api_usage"};

// Per target: the largest row id, and the oversized-document entries that do not match a row.
struct InvariantSql {
  const char* max_id;
  const char* stray_unindexed;
};
const InvariantSql kInvariantSql[] = {
    {"SELECT coalesce(max(id), 0) FROM conversations",
     "SELECT count(*) FROM metadata_unindexed u WHERE u.kind = 0 AND NOT EXISTS (SELECT 1 FROM conversations c"
     " WHERE c.id = u.obj AND c.created_at = u.at AND c.user_id IS u.user_id AND u.conversation_id IS c.id)"},
    {"SELECT coalesce(max(id), 0) FROM messages",
     "SELECT count(*) FROM metadata_unindexed u WHERE u.kind = 1 AND NOT EXISTS (SELECT 1 FROM messages m"
     " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = u.obj AND m.created_at = u.at"
     " AND c.user_id IS u.user_id AND m.conversation_id IS u.conversation_id)"},
    {"SELECT coalesce(max(id), 0) FROM api_usage",
     "SELECT count(*) FROM metadata_unindexed u WHERE u.kind = 2 AND NOT EXISTS (SELECT 1 FROM api_usage a"
     " WHERE a.id = u.obj AND a.recorded_at = u.at AND a.user_id IS u.user_id"
     " AND a.conversation_id IS u.conversation_id)"},
};

Result<int64_t> One(sqlite::Connection& conn, const char* sql) {
  auto st = conn.Prepare(sql);
  if (!st.ok()) return st.status();
  auto row = st->Step("check the metadata index");
  if (!row.ok()) return row.status();
  const int64_t v = *row ? st->Int(0) : 0;
  st->Reset();
  return v;
}

}  // namespace

Status CheckIndexInvariants(sqlite::Connection& conn) {
  std::vector<std::string> problems;
  for (MetadataTarget t : kAllTargets) {
    const int kind = static_cast<int>(t);
    const char* name = kTargetNames[kind];
    int64_t bad_lists = 0;
    std::string first_bad;
    CONVSTORE_RETURN_IF_ERROR(ForEachList(conn, kind, [&](const ListDump& list) {
      if (!list.well_formed && bad_lists++ == 0) {
        first_bad = util::EscapeInvalidUtf8(list.term.substr(0, 80));
        first_bad += fmt::format("' (count {}, {} entries)", list.count, list.positions.size());
      }
      return Status::OK();
    }));
    if (bad_lists > 0)
      problems.push_back(fmt::format("{} posting list(s) of {} do not decode or disagree with their count, e.g. '{}",
                                     bad_lists, name, first_bad));
    auto mark = IndexedUpTo(conn, t);
    if (!mark.ok()) return mark.status();
    auto highest = One(conn, kInvariantSql[kind].max_id);
    if (!highest.ok()) return highest.status();
    if (*highest - *mark >= kFoldEvery)
      problems.push_back(fmt::format("the unfolded tail of {} spans {} rows (at most {} after a commit)", name,
                                     *highest - *mark, kFoldEvery - 1));
    auto stray = One(conn, kInvariantSql[kind].stray_unindexed);
    if (!stray.ok()) return stray.status();
    if (*stray > 0)
      problems.push_back(fmt::format("{} oversized-document entries of {} name no such row, user or conversation",
                                     *stray, name));
  }
  if (problems.empty()) return Status::OK();
  return Status::Corruption(fmt::format("the metadata index is damaged: {}; RebuildMetadataIndex repairs it",
                                        fmt::join(problems, "; ")));
}

}  // namespace convstore::metadata
