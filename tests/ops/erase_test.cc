// Erasing a user: unique marker strings written into every field that can hold a person's data — the user's key,
// email and name, conversation titles, system prompts, metadata and external ids, message content, metadata, raw
// items and request ids, an edited message's earlier text, a deleted message, tool calls, API usage, budgets,
// reservations, audit details and personal fields — are found nowhere afterwards: not in any byte of the database,
// its WAL or its shared-memory file, not in the change journal decoded, not in any archive file (segments
// decompressed), not through the metadata index. Another user's markers stay. The spend stays in every report and
// verify_rollups, the audit chain verifies, a pinned WAL is reported and finished later, bad input writes nothing.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "convstore/convstore.hpp"
#include "ops/archive_dir.h"
#include "ops/file_cipher.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDir;

// Every marker names where it was written; "gone" ones belong to the erased user, "kept" ones to another.
std::string Gone(const std::string& where) { return "ZQXgone" + where + "QXZ"; }
std::string Kept(const std::string& where) { return "ZQXkept" + where + "QXZ"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every regular file under `dir` (recursively), as (path, bytes).
std::vector<std::pair<std::string, std::string>> FilesUnder(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.emplace_back(e.path().string(), ReadFile(e.path().string()));
  return out;
}

struct Writes {
  std::vector<std::string> gone, kept;
};

// Writes one user's data with markers made by `mark` into `store`; returns the markers written.
std::vector<std::string> WriteUser(ConversationStore& store, const std::string& who, bool erased) {
  auto mark = [&](const std::string& where) { return erased ? Gone(who + where) : Kept(who + where); };
  std::vector<std::string> markers;
  auto m = [&](const std::string& where) {
    markers.push_back(mark(where));
    return markers.back();
  };
  const std::string key = m("key") + "@example.com";
  EXPECT_TRUE(store.UpsertUser({.key = key, .email = m("email"), .name = m("name"), .team_key = "netops",
                                .role = m("role")}).ok());
  EXPECT_TRUE(store.SetAuditContext({.actor_user_key = key, .user_agent = m("agent")}).ok());
  auto c = store.CreateConversation({.user_key = key, .title = m("title"), .system_prompt = m("prompt"),
                                     .metadata_json = "{\"topic\":\"" + m("topic") + "\"}",
                                     .external_id = m("external")});
  EXPECT_TRUE(c.ok());
  std::vector<NewMessage> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back({.content = m("content" + std::to_string(i)), .model = "gpt-4o", .tokens_input = 10,
                     .cost_nanousd = 1000 + i, .latency_us = 900,
                     .metadata_json = "{\"tag\":\"" + m("tag" + std::to_string(i)) + "\"}",
                     .request_id = m("request" + std::to_string(i))});
  auto added = store.AddMessages(c->id, batch);
  EXPECT_TRUE(added.ok());
  EXPECT_TRUE(store.EditMessage((*added)[1].id, {.content = m("edited")}).ok());
  EXPECT_TRUE(store.DeleteMessage((*added)[2].id).ok());
  EXPECT_TRUE(store.AddToolCall((*added)[0].id, {.tool_name = "lookup", .input_json = "\"" + m("toolin") + "\"",
                                                 .output_json = "\"" + m("toolout") + "\"", .call_id = m("call")})
                  .ok());
  EXPECT_TRUE(store.RecordApiUsage({.user_key = key, .conversation_id = c->id, .model = "gpt-4o",
                                    .cost_nanousd = 5000, .status = "error", .error_code = m("errcode"),
                                    .error_message = m("errmsg"), .metadata_json = "{\"k\":\"" + m("usage") + "\"}",
                                    .request_id = m("usagereq")})
                  .ok());
  EXPECT_TRUE(store.SetBudget({.name = m("budget"), .scope = "user", .scope_key = key, .period = "month",
                               .hard_limit_nanousd = 1'000'000'000})
                  .ok());
  EXPECT_TRUE(store.Reserve({.request_id = m("reserve"), .user_key = key, .estimated_cost_nanousd = 10}).ok());
  EXPECT_TRUE(store.LogEvent({.action = "support.viewed", .resource_type = "conversation", .resource_id = c->id,
                              .subject_user_key = key, .personal_json = "{\"reason\":\"" + m("personal") + "\"}"})
                  .ok());
  EXPECT_TRUE(store.SetAuditContext({}).ok());
  return markers;
}

// The markers of `markers` found in `bytes`.
std::vector<std::string> Found(const std::string& bytes, const std::vector<std::string>& markers) {
  std::vector<std::string> hits;
  for (const auto& m : markers)
    if (bytes.find(m) != std::string::npos) hits.push_back(m);
  return hits;
}

TEST(EraseUser, NoByteOfTheUserRemainsInAnyManagedFileAndTheSpendStays) {
  TempDir dir;
  const std::string db = dir / "store.db";
  const std::string archive = dir / "archive";
  std::vector<std::string> gone, kept;
  NanoUsd spent = 0;
  {
    auto store = OpenOrDie(db);
    ASSERT_OK(store->UpsertTeam({.key = "netops"}));
    ASSERT_OK(store->ArchiveNow({.directory = archive}));  // an archive that will hold the user's data
    gone = WriteUser(*store, "ana", true);
    kept = WriteUser(*store, "bo", false);
    ASSERT_OK(store->ArchiveNow({.directory = archive}));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    ASSERT_OK(store->ArchiveNow({.directory = archive, .base_backup_interval_us = 1'000'000}));  // a base with them
    auto total = store->GetCostSummary({.days = 30});
    ASSERT_OK(total);
    spent = total->total_cost_nanousd;

    auto report = store->EraseUser(Gone("anakey") + "@example.com");
    ASSERT_OK(report);
    EXPECT_EQ(report->conversations, 1);
    EXPECT_EQ(report->messages, 4);
    EXPECT_EQ(report->tombstones, 1);
    EXPECT_EQ(report->tool_calls, 1);
    EXPECT_EQ(report->api_usage, 1);
    EXPECT_EQ(report->budgets, 1);
    EXPECT_EQ(report->reservations, 1);
    EXPECT_GE(report->audit_entries_stripped, 1);
    EXPECT_GT(report->journal_entries_rewritten, 0);
    EXPECT_GT(report->archive_files_removed, 0);
    EXPECT_TRUE(report->pending.empty()) << report->pending.front();
    EXPECT_EQ(report->user_key, "erased:" + report->pseudonym);

    // The spend stays, under the pseudonymous user; the checks are clean.
    auto after = store->GetCostSummary({.days = 30});
    ASSERT_OK(after);
    EXPECT_EQ(after->total_cost_nanousd, spent);
    auto by_user = store->GroupCosts({.days = 30}, {"user"});
    ASSERT_OK(by_user);
    bool found_erased = false;
    for (const auto& g : by_user->groups) found_erased |= g.keys[0] == report->user_key;
    EXPECT_TRUE(found_erased);
    auto rollups = store->VerifyRollups();
    ASSERT_OK(rollups);
    EXPECT_EQ(rollups->differences, 0) << (rollups->samples.empty() ? "" : rollups->samples[0]);
    auto audit = store->VerifyAudit();
    ASSERT_OK(audit);
    EXPECT_TRUE(audit->ok) << audit->problem;
    EXPECT_GE(audit->personal_erased, 1);
    auto index = store->VerifyMetadataIndex();
    ASSERT_OK(index);
    EXPECT_TRUE(index->consistent());
    auto search = store->SearchMetadata({.contains_json = "{\"topic\":\"" + Gone("anatopic") + "\"}"});
    ASSERT_OK(search);
    EXPECT_TRUE(search->conversations.empty());
    EXPECT_CODE(store->GetUser(Gone("anakey") + "@example.com"), Code::kNotFound);
    ASSERT_OK(store->GetUser(report->user_key));
    auto erasures = store->ListErasures();
    ASSERT_OK(erasures);
    ASSERT_EQ(erasures->size(), 1u);
    EXPECT_TRUE((*erasures)[0].finished_at.has_value());

    // The journal, decoded: nothing of the user; the erasure is its own kind of entry.
    auto journal = store->ReadJournal({.limit = 10'000, .decode = true});
    ASSERT_OK(journal);
    std::string decoded;
    bool erasure_entry = false;
    for (const auto& e : *journal) {
      erasure_entry |= e.kind == JournalEntryKind::kErasure;
      for (const auto& c : e.changes) decoded += c.key_json + c.old_json + c.new_json;
    }
    EXPECT_TRUE(erasure_entry);
    EXPECT_EQ(Found(decoded, gone), std::vector<std::string>{});
    EXPECT_FALSE(Found(decoded, kept).empty());

    ASSERT_OK(store->ArchiveNow({.directory = archive}));  // the next round: a new generation after the erasure
  }
  // Every byte of every file the store manages, and every archive segment decompressed.
  std::string all;
  for (const char* suffix : {"", "-wal", "-shm"})
    if (std::filesystem::exists(db + suffix)) all += ReadFile(db + suffix);
  for (const auto& [path, bytes] : FilesUnder(archive)) {
    all += bytes;
    if (auto name = ops::ParseSegmentFileName(std::filesystem::path(path).filename().string())) {
      auto entries = ops::ReadSegment({path, *name}, std::nullopt);
      ASSERT_OK(entries);
      for (const auto& e : *entries) all += e.changes;
    }
  }
  EXPECT_EQ(Found(all, gone), std::vector<std::string>{});
  EXPECT_EQ(Found(all, kept).size(), kept.size() - 0) << "the other user's data must stay (the search works)";
}

TEST(EraseUser, AWalPinnedByAnotherReaderIsReportedAndFinishedLater) {
  TempDir dir;
  const std::string db = dir / "store.db";
  auto store = OpenOrDie(db);
  ASSERT_OK(store->UpsertTeam({.key = "netops"}));
  const auto gone = WriteUser(*store, "cy", true);
  // Another connection (as another process would) holds a read transaction: the WAL cannot be emptied.
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM messages;", nullptr, nullptr, nullptr), SQLITE_OK);
  auto report = store->EraseUser(Gone("cykey") + "@example.com");
  ASSERT_OK(report);
  ASSERT_FALSE(report->pending.empty());
  EXPECT_NE(report->pending.front().find("WAL"), std::string::npos);
  auto listed = store->ListErasures();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].finished_at.has_value());
  ASSERT_EQ(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(reader);
  auto finished = store->FinishErasures();
  ASSERT_OK(finished);
  EXPECT_TRUE(finished->empty());
  listed = store->ListErasures();
  ASSERT_OK(listed);
  EXPECT_TRUE((*listed)[0].finished_at.has_value());
  std::string all;
  for (const char* suffix : {"", "-wal", "-shm"})
    if (std::filesystem::exists(db + suffix)) all += ReadFile(db + suffix);
  EXPECT_EQ(Found(all, gone), std::vector<std::string>{});
}

TEST(EraseUser, BadInputIsRefusedAndWritesNothing) {
  TempDir dir;
  const std::string db = dir / "store.db";
  auto store = OpenOrDie(db);
  ASSERT_OK(store->UpsertUser({.key = "dee@example.com"}));
  const int64_t entries = QueryInt(db, "SELECT count(*) FROM change_journal");
  EXPECT_CODE(store->EraseUser(""), Code::kInvalidArgument);
  EXPECT_CODE(store->EraseUser(std::string("a\0b", 3)), Code::kInvalidArgument);
  EXPECT_CODE(store->EraseUser("nobody@example.com"), Code::kNotFound);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM change_journal"), entries);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM erasures"), 0);
  auto report = store->EraseUser("dee@example.com");
  ASSERT_OK(report);
  EXPECT_CODE(store->EraseUser(report->user_key), Code::kInvalidArgument);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM erasures"), 1);
  Options ro;
  ro.read_only = true;
  auto reader = OpenOrDie(db, ro);
  EXPECT_CODE(reader->EraseUser("dee@example.com"), Code::kReadOnly);
  EXPECT_CODE(reader->FinishErasures(), Code::kReadOnly);
  ASSERT_OK(reader->ListErasures());
}

}  // namespace
}  // namespace convstore
