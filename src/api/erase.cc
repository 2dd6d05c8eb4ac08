// Erasing a person (convstore/privacy.h, docs/privacy.md): one write transaction of its own removes every row
// about the user and strips what must stay, rewrites the journal's earlier entries and records the erasure; then
// the files are cleaned — the WAL emptied, the archive's earlier generations removed — and whatever cannot be done
// yet stays recorded as pending, for FinishErasures (run again at every open).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/archive_session.h"
#include "api/store_impl.h"
#include "cost/budgets.h"
#include "cost/retained.h"
#include "cost/rollups.h"
#include "metadata/index.h"
#include "search/text_index.h"
#include "ops/archive_dir.h"
#include "ops/audit_log.h"
#include "ops/journal.h"
#include "ops/journal_redaction.h"
#include "ops/maintenance.h"
#include "records/conversations.h"
#include "records/erasure.h"
#include "records/expiry.h"
#include "records/pseudonyms.h"
#include "util/directory.h"
#include "util/json_writer.h"
#include "util/logging.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

// The directories of the archives this store ships to (their journal consumers).
Result<std::vector<std::string>> ArchiveDirectories(sqlite::Connection& conn) {
  std::vector<std::string> dirs;
  auto walked = conn.ForEachRow("SELECT name FROM journal_consumers WHERE name LIKE 'archive:%' ORDER BY name",
                                "find the archives", [&](const sqlite::Stmt& st) {
                                  // An archive named by its path's digest cannot be found from here: its own
                                  // archiver removes the earlier generations when it passes the erasure.
                                  if (auto dir = ArchiveDirectoryOf(st.Text(0))) dirs.push_back(std::move(*dir));
                                  return true;
                                });
  if (!walked.ok()) return walked.status();
  return dirs;
}

struct ErasureRow {
  int64_t id = 0;
  std::string pseudonym;
  Micros erased_at = 0;
  std::optional<int64_t> journal_seq;
  bool wal_pending = false;
  std::vector<std::string> archives_pending;
  std::optional<Micros> finished_at;
};

ErasureStatus ErasureStatusOf(const ErasureRow& row) {
  ErasureStatus s;
  s.id = row.id;
  s.pseudonym = row.pseudonym;
  s.erased_at = row.erased_at;
  s.finished_at = row.finished_at;
  if (row.wal_pending)
    s.pending.push_back("the WAL still holds the erased data: a reader in another process uses it; it is emptied "
                        "at the next chance (FinishErasures, optimize, or the next open)");
  for (const std::string& dir : row.archives_pending)
    s.pending.push_back(fmt::format("archive '{}' still has generations from before the erasure: another process "
                                    "archives into it (its archiver or FinishErasures removes them)",
                                    dir));
  return s;
}

Result<std::vector<ErasureRow>> ReadErasures(sqlite::Connection& conn, bool unfinished_only) {
  std::vector<ErasureRow> rows;
  Status bad;
  auto walked = conn.ForEachRow(
      unfinished_only
          ? "SELECT id, pseudonym, erased_at, journal_seq, wal_pending, archives_pending, finished_at FROM erasures"
            " WHERE finished_at IS NULL ORDER BY id"
          : "SELECT id, pseudonym, erased_at, journal_seq, wal_pending, archives_pending, finished_at FROM erasures"
            " ORDER BY id",
      "read the erasures", [&](const sqlite::Stmt& st) {
        ErasureRow r;
        r.id = st.Int(0);
        r.pseudonym = st.String(1);
        r.erased_at = st.Int(2);
        r.journal_seq = st.OptInt(3);
        r.wal_pending = st.Int(4) != 0;
        const auto dirs = nlohmann::json::parse(st.Text(5), nullptr, false);
        if (!dirs.is_array()) {
          bad = Status::Corruption("erasures.archives_pending is not a JSON array");
          return false;
        }
        for (const auto& d : dirs)
          if (d.is_string()) r.archives_pending.push_back(d.get<std::string>());
        r.finished_at = st.OptInt(6);
        rows.push_back(std::move(r));
        return true;
      });
  if (!walked.ok()) return walked.status();
  if (!bad.ok()) return bad;
  return rows;
}

std::string DirsJson(const std::vector<std::string>& dirs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : dirs) list.push_back(d);
  return list.dump();
}

}  // namespace

Result<EraseReport> StoreImpl::DoEraseUser(std::string_view user_key) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(user_key, "user key"));
  if (options_.read_only) return Status::ReadOnly("erase_user: the store was opened read-only");
  const auto started = std::chrono::steady_clock::now();
  const Micros now = Now();
  const AuditActor who = CurrentAuditActor();
  EraseReport report;
  auto erased = WriteAlone("erase_user", [&](sqlite::Connection& conn) -> Status {
    report = EraseReport{};
    auto user = records::FindUserRow(conn, user_key);
    if (!user.ok()) return user.status();
    if (user->erased) return Status::InvalidArgument("this key is an erased user's: there is nothing left to erase");
    auto pseudonym = records::PseudonymOf(conn, user->id, now);
    if (!pseudonym.ok()) return pseudonym.status();
    report.pseudonym = *pseudonym;
    report.user_key = std::string(records::kErasedKeyPrefix) + *pseudonym;
    if (journal_) journal_->WithholdThisTransaction();
    ops::JournalRedaction redaction;

    // Conversations, with everything under them; what their messages spent moves to the retained cost.
    auto conversations = records::ConversationRowsOfUser(conn, user->id);
    if (!conversations.ok()) return conversations.status();
    for (int64_t conversation : *conversations) {
      auto messages = records::MessageRowsOf(conn, conversation);
      if (!messages.ok()) return messages.status();
      auto tools = records::ToolCallRowsOf(conn, conversation);
      if (!tools.ok()) return tools.status();
      auto tombstones = records::TombstoneRowsOf(conn, conversation);
      if (!tombstones.ok()) return tombstones.status();
      std::vector<cost::CostRow> spent;
      CONVSTORE_RETURN_IF_ERROR(cost::ConversationCostRows(conn, conversation, spent));
      CONVSTORE_RETURN_IF_ERROR(cost::RetainCostRows(conn, spent));
      CONVSTORE_RETURN_IF_ERROR(metadata::BeforeConversationDelete(conn, conversation));
      CONVSTORE_RETURN_IF_ERROR(search::BeforeConversationDelete(conn, conversation));
      CONVSTORE_RETURN_IF_ERROR(records::DeleteConversationRow(conn, conversation));
      redaction.dropped["conversations"].insert(conversation);
      redaction.dropped["messages"].insert(messages->begin(), messages->end());
      redaction.dropped["tool_calls"].insert(tools->begin(), tools->end());
      redaction.dropped["message_tombstones"].insert(tombstones->begin(), tombstones->end());
      ++report.conversations;
      report.messages += static_cast<int64_t>(messages->size());
      report.tool_calls += static_cast<int64_t>(tools->size());
      report.tombstones += static_cast<int64_t>(tombstones->size());
    }
    // API usage (their spend retained), budgets and reservations.
    auto usage = records::ApiUsageRowsOfUser(conn, user->id);
    if (!usage.ok()) return usage.status();
    if (!usage->empty()) {
      std::vector<cost::CostRow> spent;
      CONVSTORE_RETURN_IF_ERROR(cost::ApiUsageCostRows(conn, *usage, spent));
      CONVSTORE_RETURN_IF_ERROR(cost::RetainCostRows(conn, spent));
      CONVSTORE_RETURN_IF_ERROR(metadata::BeforeRowsDelete(conn, MetadataTarget::kApiUsage, *usage));
      CONVSTORE_RETURN_IF_ERROR(records::DeleteApiUsageRows(conn, *usage));
      redaction.dropped["api_usage"].insert(usage->begin(), usage->end());
      report.api_usage = static_cast<int64_t>(usage->size());
    }
    auto budgets = cost::DeleteUserBudgets(conn, user->id);
    if (!budgets.ok()) return budgets.status();
    redaction.dropped["budgets"].insert(budgets->budgets.begin(), budgets->budgets.end());
    redaction.dropped["budget_reservations"].insert(budgets->reservations.begin(), budgets->reservations.end());
    report.budgets = static_cast<int64_t>(budgets->budgets.size());
    report.reservations = static_cast<int64_t>(budgets->reservations.size());

    // What stays, stripped: the user row (the spend is counted under it) and the audit entries about them.
    CONVSTORE_RETURN_IF_ERROR(records::StripUser(conn, user->id, *pseudonym, now));
    redaction.replaced["users"][user->id] = records::StrippedUserValues(*pseudonym);
    auto stripped = ops::StripAuditPersonal(conn, *pseudonym);
    if (!stripped.ok()) return stripped.status();
    for (int64_t seq : *stripped) redaction.replaced["audit_log"][seq] = ops::AuditStrippedValues();
    report.audit_entries_stripped = static_cast<int64_t>(stripped->size());

    // The journal's earlier entries (none can mention the user before their row was created; a day's margin for
    // clocks of other processes), including rows of theirs deleted before (by them or by retention).
    redaction.owned = {{"conversations", "user_id", "users"},
                       {"messages", "conversation_id", "conversations"},
                       {"tool_calls", "message_id", "messages"},
                       {"message_tombstones", "conversation_id", "conversations"},
                       {"message_embeddings", "message_id", "messages"},
                       {"conversation_embeddings", "conversation_id", "conversations"},
                       {"api_usage", "user_id", "users"},
                       {"budget_reservations", "user_id", "users"},
                       {"budgets", "scope_id", "users", "scope", int64_t{cost::kScopeUser}}};
    redaction.personal_table = "audit_log";
    redaction.personal_of = *pseudonym;
    redaction.personal_by.assign(std::begin(ops::kAuditPersonColumns), std::end(ops::kAuditPersonColumns));
    redaction.personal_values = ops::AuditStrippedValues();
    auto redacted = ops::RedactJournal(conn, redaction, user->created_at - cost::kMicrosPerDay);
    if (!redacted.ok()) return redacted.status();
    report.journal_entries_rewritten = redacted->entries_rewritten;

    // The erasure: its journal entry is the next one (this transaction is alone); what stays to be done.
    auto enabled = ops::JournalEnabled(conn);
    if (!enabled.ok()) return enabled.status();
    std::optional<int64_t> entry;
    if (*enabled) {
      auto last = ops::LastSeq(conn);
      if (!last.ok()) return last.status();
      entry = *last + 1;
    }
    auto archives = ArchiveDirectories(conn);
    if (!archives.ok()) return archives.status();
    const std::string dirs = DirsJson(*archives);
    CONVSTORE_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO erasures(pseudonym, erased_at, journal_seq, wal_pending, archives_pending) VALUES (?1, ?2, ?3, 1, ?4)",
        "record the erasure", std::string_view(*pseudonym), now, entry, std::string_view(dirs)));
    util::JsonWriter details;
    details.BeginObject().Key("conversations").Int(report.conversations).Key("messages").Int(report.messages)
        .Key("tool_calls").Int(report.tool_calls).Key("api_usage").Int(report.api_usage).Key("budgets")
        .Int(report.budgets).Key("reservations").Int(report.reservations).Key("audit_entries_stripped")
        .Int(report.audit_entries_stripped).Key("journal_entries_rewritten").Int(report.journal_entries_rewritten)
        .EndObject();
    // The entry keeps no personal field of the person erased, even when they are the one acting.
    AuditActor actor = who;
    if (actor.actor_user == *pseudonym) {
      actor.ip_address.reset();
      actor.user_agent.reset();
    }
    return Audited(conn, actor, {"user.erased", "user", "", user->id, details.Take()});
  });
  if (!erased.ok()) return erased;
  auto unfinished = FinishPendingErasures(&report.archive_files_removed);
  if (!unfinished.ok()) return unfinished.status();
  for (const ErasureStatus& e : *unfinished)
    if (e.pseudonym == report.pseudonym) report.pending = e.pending;
  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  util::Logger().info("erased a user (now {}): {} conversations, {} messages, {} API usage rows{}", report.user_key,
                      report.conversations, report.messages, report.api_usage,
                      report.pending.empty() ? "" : "; some steps pending");
  return report;
}

Result<std::vector<ErasureStatus>> StoreImpl::FinishPendingErasures(int64_t* archive_files_removed) {
  auto pending = Read("finish_erasures", [&](sqlite::Connection& conn) { return ReadErasures(conn, true); });
  if (!pending.ok()) return pending.status();
  if (pending->empty()) return std::vector<ErasureStatus>();
  // The full-text index: the erased text's tokens merged out of its older pages, before the WAL is emptied (the
  // merge writes pages of its own).
  if (!options_.read_only) {
    auto purged = PurgeText("finish_erasures", /*only_if_pending=*/true);
    if (!purged.ok()) return purged.status();
  }
  // The WAL: checkpointed and emptied while no write of this handle runs (an in-memory store has none).
  bool wal_clean = path_ == ConversationStore::kInMemory;
  {
    // As a write: a concurrent Close waits for it, and it does not start on a closed store.
    std::shared_lock life(lifecycle_, std::defer_lock);
    util::LockParked(life);
    CONVSTORE_RETURN_IF_ERROR(CheckUsable());
    std::unique_lock lock(write_mu_, std::defer_lock);
    util::LockParked(lock);
    if (!wal_clean) {
      (void)ops::IncrementalVacuum(*writer_);  // free pages (zeroed already) given back first
      // A reader in another process that pins the WAL is not waited for long: the step stays pending.
      writer_->SetBusyTimeout(100);
      auto frames = ops::CheckpointWal(*writer_, &wal_clean);
      writer_->SetBusyTimeout(options_.busy_timeout_ms);
      if (!frames.ok()) return frames.status();
      CountCheckpoint();
    }
  }
  // The archives: generations from before an erasure go, when no other process archives into the directory.
  std::vector<ErasureStatus> unfinished;
  for (ErasureRow& e : *pending) {
    std::vector<std::string> still;
    for (const std::string& dir : e.archives_pending) {
      const bool ours = [&] {
        std::unique_lock lock(archiver_mu_, std::defer_lock);
        util::LockParked(lock);
        return archive_session_ && archive_session_->directory == dir;
      }();
      if (ours) {  // this handle's archiver removes them when its next round passes the erasure
        still.push_back(dir);
        continue;
      }
      if (!util::IsDirectory(dir)) continue;  // the archive is gone: nothing of the person is left there
      auto lock = ops::LockArchive(dir);
      if (!lock.ok()) {
        if (lock.status().code() == Code::kNotFound) continue;  // the archive is gone: nothing left there
        still.push_back(dir);
        continue;
      }
      // Without the journal (switched off) there is no erasure entry to place: every generation goes.
      auto removed = ops::RemoveGenerationsBefore(dir, e.journal_seq ? *e.journal_seq + 1 : INT64_MAX);
      if (!removed.ok()) {
        util::Logger().warn("erasure: could not remove the earlier generations of archive '{}': {}", dir,
                            removed.status().ToString());
        still.push_back(dir);
        continue;
      }
      if (archive_files_removed) *archive_files_removed += *removed;
    }
    const bool finished = wal_clean && still.empty();
    e.wal_pending = !wal_clean;
    e.archives_pending = still;
    if (finished) e.finished_at = Now();
    const std::string dirs = DirsJson(still);
    auto saved = Write("finish_erasures", [&](sqlite::Connection& conn) -> Status {
      return conn.Run("UPDATE erasures SET wal_pending = ?2, archives_pending = ?3, finished_at = ?4 WHERE id = ?1",
                      "update an erasure", e.id, int64_t{e.wal_pending ? 1 : 0}, std::string_view(dirs),
                      e.finished_at);
    });
    if (!saved.ok()) return saved;
    if (!finished) unfinished.push_back(ErasureStatusOf(e));
  }
  return unfinished;
}

void StoreImpl::FinishErasuresOnOpen() {
  auto any = Read("finish_erasures", [&](sqlite::Connection& conn) {
    return conn.QueryInt("SELECT count(*) FROM erasures WHERE finished_at IS NULL", "find unfinished erasures");
  });
  if (!any.ok() || any->value_or(0) == 0) return;
  auto unfinished = Guarded([&] { return FinishPendingErasures(nullptr); });
  if (!unfinished.ok())
    util::Logger().warn("could not finish the pending erasures at open: {}", unfinished.status().ToString());
  else if (!unfinished->empty())
    util::Logger().info("{} erasure(s) still pending: {}", unfinished->size(), unfinished->front().pending.front());
}

Status StoreImpl::ArchiveCutForErasures(const std::string& dir, int64_t seq) {
  return Write("finish_erasures", [&](sqlite::Connection& conn) -> Status {
    auto rows = ReadErasures(conn, true);
    if (!rows.ok()) return rows.status();
    for (ErasureRow& e : *rows) {
      if (!e.journal_seq || *e.journal_seq > seq) continue;
      auto it = std::find(e.archives_pending.begin(), e.archives_pending.end(), dir);
      if (it == e.archives_pending.end()) continue;
      e.archives_pending.erase(it);
      const std::optional<Micros> finished =
          e.archives_pending.empty() && !e.wal_pending ? std::optional<Micros>(Now()) : std::nullopt;
      CONVSTORE_RETURN_IF_ERROR(
          conn.Run("UPDATE erasures SET archives_pending = ?2, finished_at = ?3 WHERE id = ?1", "update an erasure",
                   e.id, std::string_view(DirsJson(e.archives_pending)), finished));
    }
    return Status::OK();
  });
}

Result<std::vector<ErasureStatus>> StoreImpl::DoListErasures() {
  auto rows = Read("list_erasures", [&](sqlite::Connection& conn) { return ReadErasures(conn, false); });
  if (!rows.ok()) return rows.status();
  std::vector<ErasureStatus> out;
  for (const ErasureRow& r : *rows) out.push_back(ErasureStatusOf(r));
  return out;
}

Result<std::vector<ErasureStatus>> StoreImpl::DoFinishErasures() {
  if (options_.read_only) return Status::ReadOnly("finish_erasures: the store was opened read-only");
  return FinishPendingErasures(nullptr);
}

}  // namespace convstore::api
