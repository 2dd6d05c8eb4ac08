// Exporting and importing a user: export, erase, import and export again gives the same data (spend counted once:
// every summary, budget and verification as before the erasure); an import into another store counts the spend
// there; a file is written 0600 and whole; a truncated, damaged or conflicting export writes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "convstore/convstore.hpp"
#include "test_util.h"

namespace convstore {
namespace {

using testing::ImportFromString;
using testing::OpenOrDie;
using testing::QueryInt;
using testing::TempDir;

const std::string kAna = "ana@example.com";

// A user with every kind of row: conversations with messages (one edited, one deleted, one with a raw item and a
// price), tool calls, API usage, a budget and audit entries about them; and another user beside them.
void WriteUser(ConversationStore& store, const std::string& key, int salt) {
  ASSERT_OK(store.UpsertTeam({.key = "netops", .monthly_budget_nanousd = 10'000'000'000}));
  ASSERT_OK(store.UpsertUser({.key = key, .email = key, .name = "Name " + key, .team_key = "netops", .role = "eng"}));
  ASSERT_OK(store.SetAuditContext({.actor_user_key = key, .ip_address = "10.0.0.1", .user_agent = "agent/1"}));
  for (int c = 0; c < 3; ++c) {
    auto conv = store.CreateConversation({.user_key = key, .title = "title " + std::to_string(c), .system_prompt = "be brief",
                                          .metadata_json = R"({"topic":"bgp","n":)" + std::to_string(c) + "}"});
    ASSERT_OK(conv);
    std::vector<NewMessage> batch;
    for (int i = 0; i < 6; ++i)
      batch.push_back({.role = i % 2 ? Role::kAssistant : Role::kUser, .content = "message " + std::to_string(i) + " é \u00e9",
                       .model = "gpt-4o", .tokens_input = 10 + i, .tokens_output = 5, .cost_nanousd = 1000 * (i + 1) + salt,
                       .latency_us = 900 + i, .metadata_json = R"({"kind":"answer","score":0.5})",
                       .request_id = key + "-req-" + std::to_string(c) + "-" + std::to_string(i),
                       .raw_json = i == 0 ? R"({"type":"message","content":[{"text":"hi"}]})" : ""});
    auto added = store.AddMessages(conv->id, batch);
    ASSERT_OK(added);
    ASSERT_OK(store.EditMessage((*added)[1].id, {.content = "edited"}));
    ASSERT_OK(store.DeleteMessage((*added)[2].id));
    ASSERT_OK(store.AddToolCall((*added)[3].id, {.tool_name = "lookup", .input_json = R"({"q":"as65000"})",
                                                 .output_json = R"([1,2,{"x":null}])", .call_id = key + "-call" + std::to_string(c)}));
  }
  ASSERT_OK(store.RecordApiUsage({.user_key = key, .model = "gpt-4o", .tokens_input = 100, .cost_nanousd = 5000 + salt,
                                  .latency_us = 1200, .status = "error", .error_code = "rate_limited",
                                  .metadata_json = R"({"k":"v"})", .request_id = key + "-usage"}));
  ASSERT_OK(store.SetBudget({.name = key + "-monthly", .scope = "user", .scope_key = key, .period = "month",
                             .hard_limit_nanousd = 1'000'000'000}));
  ASSERT_OK(store.LogEvent({.action = "support.viewed", .resource_type = "user", .resource_id = "x",
                            .subject_user_key = key, .personal_json = R"({"reason":"ticket"})"}));
  ASSERT_OK(store.SetAuditContext({}));
}

std::string ExportToString(ConversationStore& store, const std::string& key, UserExportReport* report = nullptr) {
  std::string out;
  auto r = store.ExportUser(key, {.sink = [&](std::string_view chunk) {
                                    out.append(chunk);
                                    return Status::OK();
                                  }});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (report && r.ok()) *report = *r;
  return out;
}

std::vector<nlohmann::json> Lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The user's data in an export: every record but the header, the audit entries and the end line (which counts
// them), in order.
std::vector<std::string> UserData(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& j : Lines(text)) {
    const std::string type = j["type"];
    if (type != "header" && type != "audit_entry" && type != "end") out.push_back(j.dump());
  }
  return out;
}

void ExpectClean(ConversationStore& store) {
  auto rollups = store.VerifyRollups();
  ASSERT_OK(rollups);
  EXPECT_EQ(rollups->differences, 0) << (rollups->samples.empty() ? "" : rollups->samples.front());
  auto audit = store.VerifyAudit();
  ASSERT_OK(audit);
  EXPECT_TRUE(audit->ok) << audit->problem;
  auto index = store.VerifyMetadataIndex();
  ASSERT_OK(index);
  EXPECT_EQ(index->missing, 0);
  EXPECT_EQ(index->extra, 0);
}

NanoUsd Spend(ConversationStore& store, const std::string& user = "") {
  auto s = store.GetCostSummary({.days = 3650, .user_key = user});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? s->total_cost_nanousd : -1;
}

TEST(UserExport, ExportEraseImportExportGivesTheSameDataAndCountsTheSpendOnce) {
  TempDir dir;
  auto store = OpenOrDie(dir / "store.db");
  WriteUser(*store, kAna, 1);
  WriteUser(*store, "bo@example.com", 2);
  const NanoUsd total = Spend(*store), ana = Spend(*store, kAna);
  ASSERT_GT(ana, 0);

  UserExportReport exported;
  const std::string first = ExportToString(*store, kAna, &exported);
  EXPECT_EQ(exported.counts.conversations, 3);
  EXPECT_EQ(exported.counts.messages, 15);
  EXPECT_EQ(exported.counts.deleted_messages, 3);
  EXPECT_EQ(exported.counts.tool_calls, 3);
  EXPECT_EQ(exported.counts.api_usage, 1);
  EXPECT_EQ(exported.counts.budgets, 1);
  EXPECT_GE(exported.counts.audit_entries, 2);
  EXPECT_EQ(exported.cost_nanousd, ana);
  const auto lines = Lines(first);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.front()["type"], "header");
  EXPECT_EQ(lines.front()["format"], kUserExportFormat);
  EXPECT_EQ(lines.front()["user"]["key"], kAna);
  EXPECT_EQ(lines.back()["type"], "end");
  EXPECT_EQ(lines.back()["counts"]["messages"], 15);
  EXPECT_EQ(first.find("bo@example.com"), std::string::npos);  // nothing of another user

  auto erased = store->EraseUser(kAna);
  ASSERT_OK(erased);
  EXPECT_EQ(Spend(*store), total);

  auto imported = store->ImportUser(ImportFromString(first));
  ASSERT_OK(imported);
  EXPECT_TRUE(imported->restored_erased_user);
  EXPECT_EQ(imported->user_key, kAna);
  EXPECT_EQ(imported->pseudonym, erased->pseudonym);
  EXPECT_EQ(imported->counts.messages, 15);
  EXPECT_EQ(imported->counts.audit_entries, exported.counts.audit_entries);
  EXPECT_EQ(imported->cost_nanousd, ana);
  EXPECT_EQ(imported->cost_from_retained, ana);  // all of it was retained by the erasure: counted once
  EXPECT_EQ(Spend(*store), total);
  EXPECT_EQ(Spend(*store, kAna), ana);
  EXPECT_EQ(QueryInt(dir / "store.db", "SELECT count(*) FROM cost_retained"), 0);
  ExpectClean(*store);

  const std::string second = ExportToString(*store, kAna);
  EXPECT_EQ(UserData(second), UserData(first));
  // The audit entries are not replayed: the store's own history says what happened (the erasure, the import).
  auto audit = store->ReadAudit({.action = "user.imported"});
  ASSERT_OK(audit);
  ASSERT_EQ(audit->entries.size(), 1u);
  EXPECT_NE(audit->entries[0].details_json.find("\"audit_entries_in_export\""), std::string::npos);
  // Metadata search finds the imported rows again.
  auto found = store->SearchMetadata({.target = MetadataTarget::kConversations, .contains_json = R"({"topic":"bgp"})",
                                      .user_key = kAna});
  ASSERT_OK(found);
  EXPECT_EQ(found->conversations.size(), 3u);
}

TEST(UserExport, AnImportIntoAnotherStoreCountsTheSpendThere) {
  TempDir dir;
  std::string text;
  NanoUsd ana = 0;
  {
    auto source = OpenOrDie(dir / "source.db");
    WriteUser(*source, kAna, 3);
    ana = Spend(*source, kAna);
    text = ExportToString(*source, kAna);
  }
  auto target = OpenOrDie(dir / "target.db");
  auto imported = target->ImportUser(ImportFromString(text));
  ASSERT_OK(imported);
  EXPECT_FALSE(imported->restored_erased_user);
  EXPECT_EQ(imported->cost_from_retained, 0);
  EXPECT_EQ(Spend(*target), ana);
  EXPECT_EQ(Spend(*target, kAna), ana);
  auto team = target->GetTeam("netops");  // the team named by the rows is created
  EXPECT_TRUE(team.ok());
  ExpectClean(*target);
  EXPECT_EQ(UserData(ExportToString(*target, kAna)), UserData(text));
  // The same export again: every id is taken now.
  EXPECT_CODE(target->ImportUser(ImportFromString(text)), Code::kConflict);
  EXPECT_EQ(Spend(*target), ana);
}

TEST(UserExport, AFileIsWrittenWholeOwnerOnlyAndNeverOverwritten) {
  TempDir dir;
  auto store = OpenOrDie(dir / "store.db");
  WriteUser(*store, kAna, 4);
  std::vector<Progress> seen;
  auto report = store->ExportUser(kAna, {.path = dir / "ana.jsonl", .on_progress = [&](const Progress& p) {
                                           seen.push_back(p);
                                         }});
  ASSERT_OK(report);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "ana.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, report->bytes);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done, seen.back().total);
  std::ifstream in(dir / "ana.jsonl");
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(UserData(s.str()), UserData(ExportToString(*store, kAna)));
  EXPECT_CODE(store->ExportUser(kAna, {.path = dir / "ana.jsonl"}), Code::kConflict);

  // Read back from the file, into another store.
  auto other = OpenOrDie(dir / "other.db");
  auto imported = other->ImportUser({.path = dir / "ana.jsonl"});
  ASSERT_OK(imported);
  EXPECT_EQ(imported->counts.messages, 15);
}

TEST(UserExport, BadInputIsRefusedAndWritesNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir / "store.db");
  WriteUser(*store, kAna, 5);
  const std::string good = ExportToString(*store, kAna);
  auto target = OpenOrDie(dir / "target.db");
  const std::string target_path = dir / "target.db";
  auto rows = [&] {
    return QueryInt(target_path, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM conversations) +"
                                 " (SELECT count(*) FROM messages) + (SELECT count(*) FROM audit_log) +"
                                 " (SELECT count(*) FROM teams) + (SELECT count(*) FROM cost_rollups)");
  };
  const int64_t before = rows();

  // Exports: a bad key, an unknown one, no destination or two.
  EXPECT_CODE(store->ExportUser("", {.sink = [](std::string_view) { return Status::OK(); }}), Code::kInvalidArgument);
  EXPECT_CODE(store->ExportUser("nobody", {.sink = [](std::string_view) { return Status::OK(); }}), Code::kNotFound);
  EXPECT_CODE(store->ExportUser(kAna, {}), Code::kInvalidArgument);
  EXPECT_CODE(store->ExportUser(kAna, {.path = dir / "x.jsonl", .sink = [](std::string_view) { return Status::OK(); }}),
              Code::kInvalidArgument);
  EXPECT_CODE(store->ExportUser(kAna, {.path = dir / "no-such-dir/x.jsonl"}), Code::kNotFound);
  // A sink's error stops the export and is returned.
  EXPECT_CODE(store->ExportUser(kAna, {.sink = [](std::string_view) { return Status::IoError("disk full"); }}),
              Code::kIoError);

  // Imports.
  const std::vector<std::string> lines = [&] {
    std::vector<std::string> v;
    std::istringstream in(good);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }();
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) s += l + "\n";
    return s;
  };
  auto with = [&](size_t index, const std::function<void(nlohmann::json&)>& change) {
    std::vector<std::string> v = lines;
    nlohmann::json j = nlohmann::json::parse(v[index]);
    change(j);
    v[index] = j.dump();
    return join(v);
  };
  const size_t message_line = 2;  // header, conversation, its first message
  ASSERT_EQ(nlohmann::json::parse(lines[message_line])["type"], "message");
  const struct {
    std::string text;
    Code code;
    const char* what;
  } bad[] = {
      {"", Code::kInvalidArgument, "empty"},
      {"not json\n", Code::kInvalidArgument, "not JSON"},
      {join({lines.begin(), lines.end() - 1}), Code::kInvalidArgument, "truncated: no end line"},
      {join({lines.begin(), lines.end() - 3}), Code::kInvalidArgument, "truncated earlier"},
      {with(0, [](auto& j) { j["format"] = "convstore-user-export/2"; }), Code::kInvalidArgument, "unknown format"},
      {with(0, [](auto& j) { j.erase("user"); }), Code::kInvalidArgument, "no user"},
      {with(0, [](auto& j) { j["user"]["key"] = ""; }), Code::kInvalidArgument, "empty user key"},
      {with(0, [](auto& j) { j["user"]["key"] = "erased:abc"; }), Code::kInvalidArgument, "erased key"},
      {with(0, [](auto& j) { j["user"]["surprise"] = 1; }), Code::kInvalidArgument, "unknown user field"},
      {with(message_line, [](auto& j) { j["type"] = "telegram"; }), Code::kInvalidArgument, "unknown type"},
      {with(message_line, [](auto& j) { j["tokens_input"] = -1; }), Code::kInvalidArgument, "negative tokens"},
      {with(message_line, [](auto& j) { j["cost_nanousd"] = "12"; }), Code::kInvalidArgument, "cost as text"},
      {with(message_line, [](auto& j) { j["role"] = "wizard"; }), Code::kInvalidArgument, "unknown role"},
      {with(message_line, [](auto& j) { j["conversation_id"] = "01890000-0000-7000-8000-000000000000"; }),
       Code::kInvalidArgument, "a conversation not in the export"},
      {with(message_line, [](auto& j) { j["metadata"] = "[1]"; }), Code::kInvalidArgument, "metadata not an object"},
      {with(message_line, [](auto& j) { j["created_at_us"] = 1700000000; }), Code::kInvalidArgument, "seconds"},
      {with(message_line, [](auto& j) { j["extra"] = true; }), Code::kInvalidArgument, "unknown field"},
      {with(message_line, [](auto& j) { j.erase("content"); }), Code::kInvalidArgument, "missing content"},
      {with(lines.size() - 1, [](auto& j) { j["counts"]["messages"] = 99; }), Code::kInvalidArgument,
       "end counts differ"},
      {good + good.substr(good.rfind('\n', good.size() - 2) + 1), Code::kInvalidArgument, "a record after the end"},
  };
  for (const auto& b : bad) {
    EXPECT_CODE(target->ImportUser(ImportFromString(b.text)), b.code);
    EXPECT_EQ(rows(), before) << b.what << " wrote something";
  }
  EXPECT_CODE(target->ImportUser({}), Code::kInvalidArgument);
  EXPECT_CODE(target->ImportUser({.path = dir / "missing.jsonl"}), Code::kNotFound);
  EXPECT_CODE(target->ImportUser({.source = [](char*, size_t) -> Result<size_t> { return Status::IoError("gone"); }}),
              Code::kIoError);
  // The user's key in use: nothing written.
  ASSERT_OK(target->UpsertUser({.key = kAna}));
  const int64_t with_user = rows();
  EXPECT_CODE(target->ImportUser(ImportFromString(good)), Code::kConflict);
  EXPECT_EQ(rows(), with_user);
  // A read-only store.
  target.reset();
  Options ro;
  ro.read_only = true;
  auto read_only = OpenOrDie(dir / "target.db", ro);
  EXPECT_CODE(read_only->ImportUser(ImportFromString(good)), Code::kReadOnly);
}

}  // namespace
}  // namespace convstore
