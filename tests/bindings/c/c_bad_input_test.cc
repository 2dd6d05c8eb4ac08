// The bad-input matrix over every public C entry point: each bad input gets its defined code and a message, and the
// row counts show nothing was written. Table-driven: entry points x kinds of bad input.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "convstore/convstore.h"
#include "test_util.h"

namespace convstore {
namespace {

using testing::QueryInt;
using testing::TempDb;

// One C entry point, called with its JSON or id argument replaced by `arg` (nullptr allowed). kNone: an entry
// point with no argument but the handle (only the NULL-handle and after-shutdown checks apply).
struct EntryPoint {
  const char* name;
  enum Kind { kJson, kId, kNone } kind;
  std::function<int(convstore_t*, const char* arg, char** err)> call;
};

// A non-NULL out_json before the call: a failing call must reset it to NULL.
char sentinel_byte = 0;
char* const kSentinel = &sentinel_byte;

// *out_json is NULL after a failure and the output (freed here) after a success.
int CheckOutput(int rc, char* out) {
  if (rc != CONVSTORE_OK) {
    EXPECT_EQ(out, nullptr) << "out_json was not reset after code " << rc;
  } else {
    EXPECT_TRUE(out != nullptr && out != kSentinel);
    if (out != kSentinel) convstore_free(out);
  }
  return rc;
}

// Calls fn(db, arg, &out, err) with out preset to the sentinel, and checks out as CheckOutput does.
int NoOutputOnFailure(int (*fn)(convstore_t*, const char*, char**, char**), convstore_t* d, const char* a, char** e) {
  char* out = kSentinel;
  int rc = fn(d, a, &out, e);
  return CheckOutput(rc, out);
}

class CBadInputMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    char* err = nullptr;
    ASSERT_EQ(convstore_open(db_.path().c_str(), nullptr, &db, &err), CONVSTORE_OK) << err;
    char* out = nullptr;
    ASSERT_EQ(convstore_create_conversation(db, R"({"user":"u@x"})", &out, &err), CONVSTORE_OK);
    conv = std::string(out).substr(std::string(out).find("\"id\":\"") + 6, 36);
    convstore_free(out);
    ASSERT_EQ(convstore_add_message(db, conv.c_str(), R"({"role":"user","content":"seed"})", &out, &err), CONVSTORE_OK);
    msg = std::string(out).substr(std::string(out).find("\"id\":\"") + 6, 36);
    convstore_free(out);
    ASSERT_EQ(convstore_add_tool_call(db, msg.c_str(), R"({"tool_name":"t","status":"pending"})", &out, &err),
              CONVSTORE_OK);
    pending_call_ = std::string(out).substr(std::string(out).find("\"id\":\"") + 6, 36);
    convstore_free(out);
    ASSERT_EQ(convstore_upsert_team(db, R"({"key":"t"})", nullptr, &err), CONVSTORE_OK);
    ASSERT_EQ(convstore_reserve(db, R"({"request_id":"r-open","user":"u@x","estimated_cost_usd":"0.01"})", nullptr,
                                &err), CONVSTORE_OK) << err;
  }
  // call(&out, &err) must fail with `code`, a message, and no output.
  template <typename Call>
  void ExpectRefused(const std::string& what, int code, Call call) {
    char* err = nullptr;
    char* out = kSentinel;
    const int rc = call(&out, &err);
    EXPECT_EQ(rc, code) << what << ": " << (err ? err : "(no message)");
    EXPECT_TRUE(err != nullptr && err[0] != '\0') << what;
    EXPECT_EQ(out, nullptr) << what;
    convstore_free(err);
    ++inputs_tried;
  }
  void TearDown() override {
    convstore_close(db);
    total_inputs += inputs_tried;
    std::printf("bad-input matrix: %d inputs tried in this test, %d so far\n", inputs_tried, total_inputs);
  }
  static inline int total_inputs = 0;
  std::string pending_call_;  // a tool call left pending, for update_tool_call

  std::string Snapshot() const {
    std::string s;
    for (const char* t : {"users", "teams", "conversations", "messages", "tool_calls"})
      s += std::to_string(QueryInt(db_.path(), std::string("SELECT count(*) FROM ") + t)) + ",";
    s += std::to_string(QueryInt(db_.path(), "SELECT sum(message_count + tokens_input + cost_nanousd) FROM conversations"));
    s += "," + std::to_string(QueryInt(db_.path(), "SELECT max(updated_at) FROM conversations"));
    for (const char* t : {"prices", "api_usage", "budgets", "budget_reservations", "cost_rollups", "cost_totals"})
      s += "," + std::to_string(QueryInt(db_.path(), std::string("SELECT count(*) FROM ") + t));
    s += "," + std::to_string(QueryInt(db_.path(), "SELECT sum(count + cost_nanousd) FROM cost_totals"));
    for (const char* t : {"change_journal", "journal_consumers"})
      s += "," + std::to_string(QueryInt(db_.path(), std::string("SELECT count(*) FROM ") + t));
    s += "," + std::to_string(QueryInt(db_.path(), "SELECT enabled + coalesce(max_age_us, 0) + coalesce(max_bytes, 0) FROM journal_state"));
    s += ",digest " + ContentDigest();
    return s;
  }

  // A digest of every row of every table (the metadata index and the stored excluded paths included), read with a
  // separate connection: catches any write, whatever the table layout.
  std::string ContentDigest() const {
    sqlite3* raw = nullptr;
    if (sqlite3_open_v2(db_.path().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(raw);
      return "cannot open";
    }
    sqlite3_busy_timeout(raw, 5000);
    std::vector<std::string> tables;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1, &st, nullptr);
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW)
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    uint64_t h = 1469598103934665603ull;  // FNV-1a over table names, row counts and every value
    auto mix = [&h](const void* p, size_t n) {
      for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    };
    int64_t rows = 0;
    for (const std::string& t : tables) {
      mix(t.data(), t.size());
      st = nullptr;
      std::string sql = "SELECT * FROM \"" + t + "\"";
      if (sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) continue;
      while (sqlite3_step(st) == SQLITE_ROW) {
        ++rows;
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
          int type = sqlite3_column_type(st, c);
          mix(&type, sizeof type);
          const void* blob = sqlite3_column_blob(st, c);
          mix(blob, blob == nullptr ? 0 : static_cast<size_t>(sqlite3_column_bytes(st, c)));
        }
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(raw);
    return std::to_string(tables.size()) + "/" + std::to_string(rows) + "/" + std::to_string(h);
  }

  // The open entry points take no handle and write nothing but a new store's schema.
  static bool IsOpen(const EntryPoint& ep) { return std::string(ep.name).rfind("open(", 0) == 0; }
  // Entry points whose JSON argument may be NULL (the defaults).
  static bool NullMeansDefaults(const EntryPoint& ep) { return IsOpen(ep) || std::string(ep.name) == "read_journal"; }

  std::vector<EntryPoint> EntryPoints() {
    auto c = conv, m = msg;
    return {
        {"open(options)", EntryPoint::kJson,
         [this](convstore_t*, const char* a, char** e) {
           convstore_t* other = nullptr;
           int rc = convstore_open(db_.path().c_str(), a, &other, e);
           convstore_close(other);
           return rc;
         }},
        {"open(options handle)", EntryPoint::kJson,
         [this](convstore_t*, const char* a, char** e) {
           convstore_options_t* options = convstore_options_create();
           if (options == nullptr) return CONVSTORE_INTERNAL;
           int rc = convstore_options_set_json(options, a, e);
           convstore_t* other = nullptr;
           if (rc == CONVSTORE_OK) rc = convstore_open_with_options(db_.path().c_str(), options, &other, e);
           convstore_close(other);
           convstore_options_destroy(options);
           return rc;
         }},
        {"upsert_team", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_upsert_team(d, a, nullptr, e); }},
        {"get_team", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_team(d, a, nullptr, e); }},
        {"upsert_user", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_upsert_user(d, a, nullptr, e); }},
        {"get_user", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_user(d, a, nullptr, e); }},
        {"create_conversation", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_create_conversation(d, a, nullptr, e); }},
        {"get_conversation", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_conversation(d, a, nullptr, e); }},
        {"get_conversation_info", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_conversation_info(d, a, nullptr, e); }},
        {"update_conversation(patch)", EntryPoint::kJson, [c](convstore_t* d, const char* a, char** e) {
           return convstore_update_conversation(d, c.c_str(), a, nullptr, e); }},
        {"update_conversation(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_update_conversation(d, a, R"({"title":"x"})", nullptr, e); }},
        {"set_archived", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_set_archived(d, a, 1, e); }},
        {"delete_conversation", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_delete_conversation(d, a, e); }},
        {"list_conversations", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_list_conversations(d, a, nullptr, e); }},
        {"add_message(message)", EntryPoint::kJson, [c](convstore_t* d, const char* a, char** e) {
           return convstore_add_message(d, c.c_str(), a, nullptr, e); }},
        {"add_message(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_add_message(d, a, R"({"role":"user","content":"x"})", nullptr, e); }},
        {"add_messages(messages)", EntryPoint::kJson, [c](convstore_t* d, const char* a, char** e) {
           return convstore_add_messages(d, c.c_str(), a, nullptr, e); }},
        {"add_messages(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_add_messages(d, a, R"([{"role":"user","content":"x"}])", nullptr, e); }},
        {"get_context", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_context(d, a, 100, nullptr, e); }},
        {"get_context_with_options(options)", EntryPoint::kJson, [c](convstore_t* d, const char* a, char** e) {
           return convstore_get_context_with_options(d, c.c_str(), a, nullptr, e); }},
        {"get_context_with_options(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_context_with_options(d, a, R"({"max_tokens":10})", nullptr, e); }},
        {"get_last_messages", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_last_messages(d, a, 10, nullptr, e); }},
        {"add_agent_items(items)", EntryPoint::kJson, [c](convstore_t* d, const char* a, char** e) {
           return convstore_add_agent_items(d, c.c_str(), a, nullptr, nullptr, e); }},
        {"add_agent_items(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_add_agent_items(d, a, R"([{"role":"user","content":"x"}])", nullptr, nullptr, e); }},
        {"import_history", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_import_history(d, a, nullptr, e); }},
        {"get_items", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_get_items(d, a, 10, nullptr, e); }},
        {"delete_message", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_delete_message(d, a, nullptr, e); }},
        {"pop_message", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_pop_message(d, a, nullptr, e); }},
        {"clear_messages", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_clear_messages(d, a, nullptr, e); }},
        {"edit_message(edit)", EntryPoint::kJson, [m](convstore_t* d, const char* a, char** e) {
           return convstore_edit_message(d, m.c_str(), a, nullptr, e); }},
        {"edit_message(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_edit_message(d, a, R"({"content":"x"})", nullptr, e); }},
        {"add_tool_call(call)", EntryPoint::kJson, [m](convstore_t* d, const char* a, char** e) {
           return convstore_add_tool_call(d, m.c_str(), a, nullptr, e); }},
        {"add_tool_call(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_add_tool_call(d, a, R"({"tool_name":"t"})", nullptr, e); }},
        {"list_tool_calls", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_list_tool_calls(d, a, nullptr, e); }},
        {"update_tool_call(update)", EntryPoint::kJson, [this](convstore_t* d, const char* a, char** e) {
           return convstore_update_tool_call(d, pending_call_.c_str(), a, nullptr, e); }},
        {"update_tool_call(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_update_tool_call(d, a, R"({"status":"success"})", nullptr, e); }},
        {"add_price", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_add_price(d, a, nullptr, e); }},
        {"resolve_price", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_resolve_price(d, a, 1767225600000000, nullptr, e); }},
        {"reprice", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_reprice(d, a, nullptr, e); }},
        {"record_api_usage", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_record_api_usage(d, a, nullptr, e); }},
        {"cost_summary", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_cost_summary(d, a, nullptr, e); }},
        {"group_costs", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_group_costs(d, a, nullptr, e); }},
        {"usage_stats", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_usage_stats(d, a, nullptr, e); }},
        {"team_spend", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_team_spend(d, a, 30, nullptr, e); }},
        {"set_budget", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_set_budget(d, a, nullptr, e); }},
        {"delete_budget", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_delete_budget(d, a, e); }},
        {"reserve", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_reserve(d, a, nullptr, e); }},
        {"settle(usage)", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_settle(d, "r-open", a, nullptr, e); }},
        {"settle(id)", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_settle(d, a, R"({"model":"m"})", nullptr, e); }},
        {"release", EntryPoint::kId, [](convstore_t* d, const char* a, char** e) {
           return convstore_release(d, a, nullptr, e); }},
        {"list_prices", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_list_prices(d, nullptr, e); }},
        {"verify_rollups", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_verify_rollups(d, nullptr, e); }},
        {"rebuild_rollups", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_rebuild_rollups(d, nullptr, e); }},
        {"search_metadata", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return NoOutputOnFailure(convstore_search_metadata, d, a, e); }},
        {"explain_metadata", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return NoOutputOnFailure(convstore_explain_metadata, d, a, e); }},
        {"set_metadata_excluded_paths", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return NoOutputOnFailure(convstore_set_metadata_excluded_paths, d, a, e); }},
        {"verify_metadata_index", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           char* out = kSentinel;
           int rc = convstore_verify_metadata_index(d, &out, e);
           return CheckOutput(rc, out);
         }},
        {"read_journal", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return NoOutputOnFailure(convstore_read_journal, d, a, e); }},
        {"backup", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           char* out = kSentinel;
           int rc = convstore_backup(d, a, nullptr, nullptr, &out, e);
           return CheckOutput(rc, out);
         }},
        {"describe_journal", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return NoOutputOnFailure(convstore_describe_journal, d, a, e); }},
        {"archive_now", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           char* out = kSentinel;
           int rc = convstore_archive_now(d, a, &out, e);
           return CheckOutput(rc, out);
         }},
        {"start_archiving", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_start_archiving(d, a, e); }},
        {"sync_to_postgres", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           char* out = kSentinel;
           int rc = convstore_sync_to_postgres(d, a, &out, e);
           return CheckOutput(rc, out);
         }},
        {"start_sync", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_start_sync(d, a, e); }},
        {"use_global_budgets", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_use_global_budgets(d, a, e); }},
        {"set_global_budget", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_set_global_budget(d, a, e); }},
        {"delete_global_budget", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_delete_global_budget(d, "b", e); }},
        {"global_budgets", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           char* out = kSentinel;
           int rc = convstore_global_budgets(d, &out, e);
           return CheckOutput(rc, out);
         }},
        {"set_journal_retention", EntryPoint::kJson, [](convstore_t* d, const char* a, char** e) {
           return convstore_set_journal_retention(d, a, e); }},
        {"journal_status", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           char* out = kSentinel;
           int rc = convstore_journal_status(d, &out, e);
           return CheckOutput(rc, out);
         }},
        {"prune_journal", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           char* out = kSentinel;
           int rc = convstore_prune_journal(d, &out, e);
           return CheckOutput(rc, out);
         }},
        {"set_journal_enabled", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_set_journal_enabled(d, 1, e); }},
        {"set_journal_consumer", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_set_journal_consumer(d, "archive", 0, e); }},
        {"remove_journal_consumer", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           return convstore_remove_journal_consumer(d, "archive", e); }},
        {"rebuild_metadata_index", EntryPoint::kNone, [](convstore_t* d, const char*, char** e) {
           char* out = kSentinel;
           int rc = convstore_rebuild_metadata_index(d, &out, e);
           return CheckOutput(rc, out);
         }},
    };
  }

  // Calls every entry point of `kind` with `arg`; each must return `code` with a message and write nothing.
  void ExpectAll(EntryPoint::Kind kind, const char* arg, int code, const std::string& what) {
    for (auto& ep : EntryPoints()) {
      if (ep.kind != kind) continue;
      if (NullMeansDefaults(ep) && arg == nullptr) continue;  // NULL options: the defaults
      std::string before = Snapshot();
      char* err = nullptr;
      int rc = ep.call(db, arg, &err);
      EXPECT_EQ(rc, code) << ep.name << " with " << what << ": " << (err ? err : "(no message)");
      if (code != CONVSTORE_OK) {
        EXPECT_TRUE(err != nullptr && err[0] != '\0') << ep.name << " with " << what;
      }
      convstore_free(err);
      EXPECT_EQ(Snapshot(), before) << ep.name << " with " << what << " wrote something";
      ++inputs_tried;
    }
  }

  TempDb db_;
  convstore_t* db = nullptr;
  std::string conv, msg;
  int inputs_tried = 0;
};

TEST_F(CBadInputMatrix, NullArguments) {
  ExpectAll(EntryPoint::kJson, nullptr, CONVSTORE_INVALID_ARGUMENT, "NULL json");
  ExpectAll(EntryPoint::kId, nullptr, CONVSTORE_INVALID_ARGUMENT, "NULL id");
  // A NULL handle, for every entry point (the open entry point has none).
  for (auto& ep : EntryPoints()) {
    if (IsOpen(ep)) continue;
    char* err = nullptr;
    EXPECT_EQ(ep.call(nullptr, "{}", &err), CONVSTORE_INVALID_ARGUMENT) << ep.name;
    convstore_free(err);
  }
  convstore_t* out = nullptr;
  EXPECT_EQ(convstore_open(db_.path().c_str(), nullptr, nullptr, nullptr), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_EQ(convstore_open(nullptr, nullptr, &out, nullptr), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_EQ(out, nullptr);
}

TEST_F(CBadInputMatrix, InvalidJson) {
  for (const char* bad : {"", "{", "}", "nul", "{\"a\":}", "{'single':1}", "{\"a\":1}trailing", "[1,2", "NaN",
                          "{\"content\":\"\\ud800\"}"})
    ExpectAll(EntryPoint::kJson, bad, CONVSTORE_INVALID_ARGUMENT, std::string("invalid JSON ") + bad);
}

TEST_F(CBadInputMatrix, JsonNested100000Deep) {
  std::string deep = "{\"metadata\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ExpectAll(EntryPoint::kJson, deep.c_str(), CONVSTORE_TOO_LARGE, "JSON nested 100,000 deep");
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += "{\"a\":";
  deep_objects += "1" + std::string(100000, '}');
  ExpectAll(EntryPoint::kJson, deep_objects.c_str(), CONVSTORE_TOO_LARGE, "objects nested 100,000 deep");
}

TEST_F(CBadInputMatrix, InvalidUtf8) {
  ExpectAll(EntryPoint::kId, "id\xff\xfe", CONVSTORE_INVALID_ARGUMENT, "invalid UTF-8 id");
  ExpectAll(EntryPoint::kJson, "{\"key\":\"\xc0\xaf\"}", CONVSTORE_INVALID_ARGUMENT, "overlong UTF-8 in JSON");
  ExpectAll(EntryPoint::kJson, "{\"content\":\"\xed\xa0\x80\"}", CONVSTORE_INVALID_ARGUMENT, "surrogate in JSON");
}

TEST_F(CBadInputMatrix, EmptyAndUnknownIds) {
  ExpectAll(EntryPoint::kId, "", CONVSTORE_INVALID_ARGUMENT, "empty id");
  ExpectAll(EntryPoint::kId, "01890000-0000-7000-8000-000000000000", CONVSTORE_NOT_FOUND, "unknown id");
}

TEST_F(CBadInputMatrix, SqlLookingStringsAreJustData) {
  const char* evil = "x'); DROP TABLE messages; --";
  ExpectAll(EntryPoint::kId, evil, CONVSTORE_NOT_FOUND, "an SQL-looking id");
  char* err = nullptr;
  char* out = nullptr;
  ASSERT_EQ(convstore_create_conversation(db, R"({"user":"x'); DROP TABLE messages; --","title":"\"; DELETE FROM users"})",
                                          &out, &err), CONVSTORE_OK) << err;
  EXPECT_NE(std::string(out).find("DROP TABLE"), std::string::npos);
  convstore_free(out);
  EXPECT_EQ(convstore_get_user(db, evil, nullptr, &err), CONVSTORE_OK);
  EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM messages"), 1);  // the table is still there
  EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM users"), 2);
}

TEST_F(CBadInputMatrix, HugeContentIsRefusedByTheDocumentedLimit) {
  // 64 MiB of content: the request exceeds the 64 MiB request limit (and the 16 MiB content limit).
  std::string big = R"({"role":"user","content":")" + std::string(64u << 20, 'a') + "\"}";
  std::string before = Snapshot();
  char* err = nullptr;
  EXPECT_EQ(convstore_add_message(db, conv.c_str(), big.c_str(), nullptr, &err), CONVSTORE_TOO_LARGE);
  convstore_free(err);
  std::string just_over = R"({"role":"user","content":")" + std::string((16u << 20) + 1, 'a') + "\"}";
  EXPECT_EQ(convstore_add_message(db, conv.c_str(), just_over.c_str(), nullptr, &err), CONVSTORE_TOO_LARGE);
  convstore_free(err);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CBadInputMatrix, OverflowNanAndInfinity) {
  const char* numbers[] = {
      R"({"role":"user","content":"x","tokens_input":9223372036854775808})",    // > INT64_MAX
      R"({"role":"user","content":"x","tokens_input":18446744073709551616})",   // > UINT64_MAX (a float)
      R"({"role":"user","content":"x","tokens_output":10000000001})",           // > kMaxTokenCount
      R"({"role":"user","content":"x","tokens_input":-1})",
      R"({"role":"user","content":"x","cost_nanousd":9223372036854775807})",    // > $1M per message
      R"({"role":"user","content":"x","cost_usd":"92233720368.547758080"})",    // overflows int64 nano
      R"({"role":"user","content":"x","cost_usd":"NaN"})",
      R"({"role":"user","content":"x","cost_usd":"Infinity"})",
      R"({"role":"user","content":"x","cost_usd":1e999})",                       // JSON overflow
      R"({"role":"user","content":"x","latency_us":-5})",
      R"({"role":"user","content":"x","created_at":-1})",
  };
  std::string before = Snapshot();
  for (const char* n : numbers) {
    char* err = nullptr;
    EXPECT_EQ(convstore_add_message(db, conv.c_str(), n, nullptr, &err), CONVSTORE_INVALID_ARGUMENT) << n;
    convstore_free(err);
    ++inputs_tried;
  }
  char* err = nullptr;
  EXPECT_EQ(convstore_create_conversation(db, R"({"user":"u","temperature":1e999})", nullptr, &err),
            CONVSTORE_INVALID_ARGUMENT);
  convstore_free(err);
  EXPECT_EQ(convstore_create_conversation(db, R"({"user":"u","max_tokens":-3})", nullptr, &err),
            CONVSTORE_INVALID_ARGUMENT);
  convstore_free(err);
  EXPECT_EQ(convstore_upsert_team(db, R"({"key":"t","monthly_budget_usd":"-1"})", nullptr, &err),
            CONVSTORE_INVALID_ARGUMENT);
  convstore_free(err);
  EXPECT_EQ(Snapshot(), before);
  // Totals that would overflow int64: refused whole.
  std::string batch = "[";
  for (int i = 0; i < 9300; ++i) batch += std::string(i ? "," : "") + R"({"role":"user","content":"","cost_usd":"1000000"})";
  batch += "]";
  EXPECT_EQ(convstore_add_messages(db, conv.c_str(), batch.c_str(), nullptr, &err), CONVSTORE_TOO_LARGE);
  convstore_free(err);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CBadInputMatrix, CostRequestsWithBadValues) {
  struct Case {
    std::function<int(convstore_t*, const char*, char**)> call;
    const char* json;
    int code;
  };
  auto price = [](convstore_t* d, const char* a, char** e) { return convstore_add_price(d, a, nullptr, e); };
  auto usage = [](convstore_t* d, const char* a, char** e) { return convstore_record_api_usage(d, a, nullptr, e); };
  auto summary = [](convstore_t* d, const char* a, char** e) { return convstore_cost_summary(d, a, nullptr, e); };
  auto group = [](convstore_t* d, const char* a, char** e) { return convstore_group_costs(d, a, nullptr, e); };
  auto budget = [](convstore_t* d, const char* a, char** e) { return convstore_set_budget(d, a, nullptr, e); };
  auto reserve = [](convstore_t* d, const char* a, char** e) { return convstore_reserve(d, a, nullptr, e); };
  auto reprice = [](convstore_t* d, const char* a, char** e) { return convstore_reprice(d, a, nullptr, e); };
  const Case cases[] = {
      {price, R"({"model":"m"})", CONVSTORE_INVALID_ARGUMENT},  // no prices
      {price, R"({"model":"m","input_per_mtok_usd":"-1","output_per_mtok_usd":"1"})", CONVSTORE_INVALID_ARGUMENT},
      {price, R"({"model":"m","input_per_mtok_usd":"1","output_per_mtok_usd":"1","colour":"red"})",
       CONVSTORE_INVALID_ARGUMENT},
      {price, R"({"model":"","input_per_mtok_usd":"1","output_per_mtok_usd":"1"})", CONVSTORE_INVALID_ARGUMENT},
      {price, R"({"model":"m","input_per_mtok_usd":"1","output_per_mtok_usd":"1","effective_from":"yesterday"})",
       CONVSTORE_INVALID_ARGUMENT},
      {usage, R"({"model":"m"})", CONVSTORE_INVALID_ARGUMENT},
      {usage, R"({"user":"u@x","model":"m","status":"meh"})", CONVSTORE_INVALID_ARGUMENT},
      {usage, R"({"user":"u@x","model":"m","cost_usd":"1","cost_nanousd":1})", CONVSTORE_INVALID_ARGUMENT},
      {usage, R"({"user":"u@x","model":"m","tokens_input":9223372036854775808})", CONVSTORE_INVALID_ARGUMENT},
      {usage, R"({"user":"u@x","model":"m","team":"nope"})", CONVSTORE_NOT_FOUND},
      {summary, R"({"days":0})", CONVSTORE_INVALID_ARGUMENT},
      {summary, R"({"source":"x"})", CONVSTORE_INVALID_ARGUMENT},
      {summary, R"({"utc_offset_minutes":99999})", CONVSTORE_INVALID_ARGUMENT},
      {group, R"({"days":7})", CONVSTORE_INVALID_ARGUMENT},
      {group, R"({"group_by":["planet"]})", CONVSTORE_INVALID_ARGUMENT},
      {group, R"({"group_by":[1]})", CONVSTORE_INVALID_ARGUMENT},
      {budget, R"({"name":"b","scope":"team","scope_key":"t","period":"fortnight","hard_limit_usd":"1"})",
       CONVSTORE_INVALID_ARGUMENT},
      {budget, R"({"name":"b","scope":"team","scope_key":"t","period":"day"})", CONVSTORE_INVALID_ARGUMENT},
      {budget, R"({"name":"b","scope":"user","scope_key":"nobody","period":"day","hard_limit_usd":"1"})",
       CONVSTORE_NOT_FOUND},
      {reserve, R"({"request_id":"r","user":"u@x"})", CONVSTORE_INVALID_ARGUMENT},
      {reserve, R"({"request_id":"r","user":"u@x","estimated_cost_usd":"-2"})", CONVSTORE_INVALID_ARGUMENT},
      {reserve, R"({"request_id":"r","user":"u@x","estimated_cost_usd":"1","ttl_us":0})", CONVSTORE_INVALID_ARGUMENT},
      {reprice, R"({"from":10})", CONVSTORE_INVALID_ARGUMENT},
      {reprice, R"({"from":10,"to":5})", CONVSTORE_INVALID_ARGUMENT},
  };
  std::string before = Snapshot();
  for (const Case& c : cases) {
    char* err = nullptr;
    EXPECT_EQ(c.call(db, c.json, &err), c.code) << c.json << ": " << (err ? err : "(no message)");
    EXPECT_TRUE(err != nullptr && err[0] != '\0') << c.json;
    convstore_free(err);
    ++inputs_tried;
  }
  char* err = nullptr;
  EXPECT_EQ(convstore_get_budgets(db, -1.0, nullptr, &err), CONVSTORE_INVALID_ARGUMENT);
  convstore_free(err);
  EXPECT_EQ(convstore_team_spend(db, "t", 0, nullptr, &err), CONVSTORE_INVALID_ARGUMENT);
  convstore_free(err);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CBadInputMatrix, MetadataRequestsWithBadValues) {
  // Documents to search, stored excluded paths that must survive, and a real conversations cursor.
  char* err = nullptr;
  char* out = nullptr;
  for (const char* c : {R"({"user":"u@x","title":"a","metadata":{"source":"cli","n":1}})",
                        R"({"user":"u@x","title":"b","metadata":{"source":"web","n":2}})"})
    ASSERT_EQ(convstore_create_conversation(db, c, nullptr, &err), CONVSTORE_OK) << err;
  ASSERT_EQ(convstore_set_metadata_excluded_paths(db, R"(["hidden"])", nullptr, &err), CONVSTORE_OK) << err;
  ASSERT_EQ(convstore_search_metadata(db, R"({"limit":1})", &out, &err), CONVSTORE_OK) << err;
  std::string page(out);
  convstore_free(out);
  auto at = page.find("\"next_cursor\":\"");
  ASSERT_NE(at, std::string::npos) << page;
  std::string cursor = page.substr(at + 15, page.find('"', at + 15) - at - 15);
  const std::string messages_with_conversations_cursor = R"({"target":"messages","cursor":")" + cursor + "\"}";
  const std::string api_usage_with_conversations_cursor = R"({"target":"api_usage","cursor":")" + cursor + "\"}";

  std::string many_conditions = "{\"where\":{";
  for (int i = 0; i < 70; ++i) many_conditions += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  many_conditions += "}}";
  std::string in65 = R"({"where":{"a":{"$in":[)";
  for (int i = 0; i < 65; ++i) in65 += (i ? "," : "") + std::to_string(i);
  in65 += "]}}}";
  const std::string long_user = R"({"user":")" + std::string(300, 'u') + "\"}";
  const std::string long_path = R"({"where":{")" + std::string(600, 'p') + "\":1}}";
  std::string keys33 = "k";
  for (int i = 0; i < 32; ++i) keys33 += ".k";
  const std::string deep_path = R"({"where":{")" + keys33 + "\":1}}";
  const std::string deep_contains = R"({"contains":)" + std::string(70, '[') + std::string(70, ']') + "}";

  const char* query_cases[][2] = {
      // not a JSON object, or not JSON
      {"[]", "invalid"}, {"1", "invalid"}, {"\"x\"", "invalid"}, {"null", "invalid"}, {"true", "invalid"},
      {"{\"contains\":", "invalid"}, {"{\"contains\":{}} {}", "invalid"},
      // unknown fields (names are case-sensitive)
      {R"({"colour":"red"})", "invalid"}, {R"({"Contains":{}})", "invalid"}, {R"({"filter":{"a":1}})", "invalid"},
      {R"({"contains":{},"limit":5,"offset":5})", "invalid"},
      // wrong types and values of the fields
      {R"({"target":"nope"})", "invalid"}, {R"({"target":1})", "invalid"}, {R"({"target":"Messages"})", "invalid"},
      {R"({"limit":"x"})", "invalid"}, {R"({"limit":0})", "invalid"}, {R"({"limit":-1})", "invalid"},
      {R"({"limit":1001})", "invalid"}, {R"({"limit":1.5})", "invalid"}, {R"({"limit":1e10})", "invalid"},
      {R"({"limit":true})", "invalid"},
      {R"({"scan_limit":0})", "invalid"}, {R"({"scan_limit":"many"})", "invalid"},
      {R"({"scan_limit":10000001})", "invalid"},
      {R"({"user":5})", "invalid"}, {R"({"conversation_id":[]})", "invalid"}, {R"({"archived":"yes"})", "invalid"},
      {R"({"archived":1})", "invalid"},
      {R"({"from":"not a time"})", "invalid"}, {R"({"to":"2026-02-11"})", "invalid"}, {R"({"from":true})", "invalid"},
      {R"({"from":-1})", "invalid"}, {R"({"from":10,"to":5})", "invalid"},
      {R"({"cursor":"bogus"})", "invalid"}, {R"({"cursor":"c1.2.3"})", "invalid"}, {R"({"cursor":5})", "invalid"},
      {messages_with_conversations_cursor.c_str(), "invalid"}, {api_usage_with_conversations_cursor.c_str(), "invalid"},
      // bad "where"
      {R"({"where":[1]})", "invalid"}, {R"({"where":"a"})", "invalid"}, {R"({"where":5})", "invalid"},
      {R"({"where":{"a":{"$foo":1}}})", "invalid"}, {R"({"where":{"a":{"$gt":{}}}})", "invalid"},
      {R"({"where":{"a":{"$gt":null}}})", "invalid"}, {R"({"where":{"a":{"$lte":[1]}}})", "invalid"},
      {R"({"where":{"a":{"$gte":true}}})", "invalid"},
      {R"({"where":{"a":{"$in":[]}}})", "invalid"}, {R"({"where":{"a":{"$in":3}}})", "invalid"},
      {R"({"where":{"a":{"$exists":1}}})", "invalid"}, {R"({"where":{"a":{"$exists":"yes"}}})", "invalid"},
      {R"({"where":{"a":{"$eq":1,"b":2}}})", "invalid"}, {R"({"where":{"":1}})", "invalid"},
      {R"({"where":{"a..b":1}})", "invalid"}, {R"({"where":{"a.":1}})", "invalid"},
      {R"({"where":{"/a~2":1}})", "invalid"}, {R"({"where":{"/a~":1}})", "invalid"},
      {deep_path.c_str(), "invalid"},
      // beyond the documented limits
      {long_user.c_str(), "too_large"}, {many_conditions.c_str(), "too_large"}, {in65.c_str(), "too_large"},
      {long_path.c_str(), "too_large"}, {deep_contains.c_str(), "too_large"},
  };
  const char* path_cases[][2] = {
      {"{}", "invalid"}, {"\"priority\"", "invalid"}, {"null", "invalid"}, {"1", "invalid"},
      {"[1]", "invalid"}, {"[\"a\",null]", "invalid"}, {"[[\"a\"]]", "invalid"}, {"[{\"path\":\"a\"}]", "invalid"},
      {"[true]", "invalid"}, {"[\"a\"", "invalid"}, {"[\"a\"] x", "invalid"},
      {"[\"\"]", "invalid"}, {"[\"a..b\"]", "invalid"}, {"[\"/a~x\"]", "invalid"}, {"[\"a\\u0000b\"]", "invalid"},
  };
  std::string paths65 = "[";
  for (int i = 0; i < 65; ++i) paths65 += (i ? ",\"p" : "\"p") + std::to_string(i) + "\"";
  paths65 += "]";

  auto code_of = [](const char* name) {
    return std::string(name) == "too_large" ? CONVSTORE_TOO_LARGE : CONVSTORE_INVALID_ARGUMENT;
  };
  auto expect_refused = [&](const char* what, int (*fn)(convstore_t*, const char*, char**, char**),
                            const char* json, int code) {
    char* e = nullptr;
    char* o = kSentinel;
    EXPECT_EQ(fn(db, json, &o, &e), code) << what << " " << std::string(json).substr(0, 200) << ": " << (e ? e : "(no message)");
    EXPECT_TRUE(e != nullptr && e[0] != '\0') << what << " " << std::string(json).substr(0, 200);
    EXPECT_EQ(o, nullptr) << what << " " << std::string(json).substr(0, 200) << ": out_json not reset";
    if (o != kSentinel) convstore_free(o);
    convstore_free(e);
    ++inputs_tried;
  };
  std::string before = Snapshot();
  for (const auto& c : query_cases) {
    expect_refused("search_metadata", convstore_search_metadata, c[0], code_of(c[1]));
    expect_refused("explain_metadata", convstore_explain_metadata, c[0], code_of(c[1]));
  }
  for (const auto& c : path_cases)
    expect_refused("set_metadata_excluded_paths", convstore_set_metadata_excluded_paths, c[0], code_of(c[1]));
  expect_refused("set_metadata_excluded_paths", convstore_set_metadata_excluded_paths, paths65.c_str(),
                 CONVSTORE_TOO_LARGE);
  std::string long_excluded = "[\"" + std::string(600, 'p') + "\"]";
  expect_refused("set_metadata_excluded_paths", convstore_set_metadata_excluded_paths, long_excluded.c_str(),
                 CONVSTORE_TOO_LARGE);
  EXPECT_EQ(Snapshot(), before);

  // The stored excluded paths are untouched and the index is still consistent; good requests still work.
  ASSERT_EQ(convstore_verify_metadata_index(db, &out, &err), CONVSTORE_OK) << err;
  EXPECT_NE(std::string(out).find(R"("consistent":true)"), std::string::npos) << out;
  EXPECT_NE(std::string(out).find(R"("excluded_paths":["/hidden"])"), std::string::npos) << out;
  convstore_free(out);
  ASSERT_EQ(convstore_search_metadata(db, R"({"contains":{"source":"web"},"where":{"n":{"$gte":2}},"limit":1000})",
                                      &out, &err), CONVSTORE_OK) << err;
  EXPECT_NE(std::string(out).find(R"("title":"b")"), std::string::npos) << out;
  EXPECT_EQ(std::string(out).find(R"("title":"a")"), std::string::npos) << out;
  convstore_free(out);
  EXPECT_EQ(Snapshot(), before);  // searches are reads
  // The snapshot does see the metadata index: a successful change of the excluded paths shows.
  ASSERT_EQ(convstore_set_metadata_excluded_paths(db, R"(["hidden","n"])", nullptr, &err), CONVSTORE_OK) << err;
  EXPECT_NE(Snapshot(), before);
}

TEST_F(CBadInputMatrix, JournalArgumentsOutOfRange) {
  const std::string before = Snapshot();
  // call(&err) must refuse with invalid_argument and a message.
  auto refused = [&](const std::string& what, auto call) {
    char* err = nullptr;
    const int rc = call(&err);
    EXPECT_EQ(rc, CONVSTORE_INVALID_ARGUMENT) << what << ": " << (err ? err : "(no message)");
    EXPECT_TRUE(err != nullptr && err[0] != '\0') << what;
    convstore_free(err);
    ++inputs_tried;
  };
  for (const char* q : {R"({"limit":0})", R"({"limit":10001})", R"({"after_seq":-1})", R"({"since":1700000000})",
                        R"({"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"})", R"({"decode":"yes"})",
                        R"({"since":"2026-01-01 00:00:00"})", R"({"unknown":1})", "[]"}) {
    char* out = kSentinel;
    refused(q, [&](char** e) { return convstore_read_journal(db, q, &out, e); });
    EXPECT_EQ(out, nullptr) << q;
  }
  for (const char* r : {R"({"max_age_us":0})", R"({"max_bytes":-1})", R"({"max_age_us":"1d"})", R"({"x":1})", "1"})
    refused(r, [&](char** e) { return convstore_set_journal_retention(db, r, e); });
  refused("enabled 2", [&](char** e) { return convstore_set_journal_enabled(db, 2, e); });
  refused("consumer NULL", [&](char** e) { return convstore_set_journal_consumer(db, nullptr, 0, e); });
  refused("consumer empty", [&](char** e) { return convstore_set_journal_consumer(db, "", 0, e); });
  refused("consumer bad UTF-8", [&](char** e) { return convstore_set_journal_consumer(db, "a\xff", 0, e); });
  refused("consumer seq -1", [&](char** e) { return convstore_set_journal_consumer(db, "a", -1, e); });
  refused("consumer seq beyond", [&](char** e) { return convstore_set_journal_consumer(db, "a", INT64_MAX, e); });
  refused("remove consumer empty", [&](char** e) { return convstore_remove_journal_consumer(db, "", e); });
  EXPECT_EQ(Snapshot(), before);
  // Good requests still work.
  char* out = nullptr;
  char* err = nullptr;
  ASSERT_EQ(convstore_read_journal(db, nullptr, &out, &err), CONVSTORE_OK) << err;
  EXPECT_EQ(std::string(out).rfind("[{\"seq\":1,", 0), 0u) << out;
  convstore_free(out);
}

TEST_F(CBadInputMatrix, BackupRequestsThatCannotBeDone) {
  const std::string before = Snapshot();
  const std::string missing = db_.path() + ".no-such-backup";
  for (const char* o : {R"({})", R"({"path":""})", R"({"path":":memory:"})", R"({"path":"x.db","encryption_key":"12"})",
                        R"({"path":"x.db","encryption_key":"zz"})", R"({"path":7})", R"({"path":"x.db","extra":1})"})
    ExpectRefused(o, CONVSTORE_INVALID_ARGUMENT,
            [&](char** out, char** e) { return convstore_backup(db, o, nullptr, nullptr, out, e); });
  ExpectRefused("backup over the store itself", CONVSTORE_CONFLICT, [&](char** out, char** e) {
    const std::string o = "{\"path\":\"" + db_.path() + "\"}";
    return convstore_backup(db, o.c_str(), nullptr, nullptr, out, e);
  });
  ExpectRefused("verify NULL", CONVSTORE_INVALID_ARGUMENT,
          [&](char** out, char** e) { return convstore_verify_backup(nullptr, nullptr, out, e); });
  ExpectRefused("verify missing", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_verify_backup(missing.c_str(), nullptr, out, e); });
  ExpectRefused("verify bad key", CONVSTORE_INVALID_ARGUMENT,
          [&](char** out, char** e) { return convstore_verify_backup(missing.c_str(), "beef", out, e); });
  ExpectRefused("restore NULL backup", CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
    return convstore_restore_backup(nullptr, "t.db", nullptr, nullptr, nullptr, out, e);
  });
  ExpectRefused("restore NULL target", CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
    return convstore_restore_backup(missing.c_str(), nullptr, nullptr, nullptr, nullptr, out, e);
  });
  ExpectRefused("restore missing backup", CONVSTORE_NOT_FOUND, [&](char** out, char** e) {
    return convstore_restore_backup(missing.c_str(), (db_.path() + ".t").c_str(), nullptr, nullptr, nullptr, out, e);
  });
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CBadInputMatrix, SyncRequestsThatCannotBeDone) {
  const std::string before = Snapshot();
  for (const char* o : {R"({})", R"({"postgres":""})", R"({"postgres":7})", R"({"postgres":"x","schema":""})",
                        R"({"postgres":"x","schema":"0123456789012345678901234567890123456789012345678901234567890123"})",
                        R"({"postgres":"x","interval_ms":0})", R"({"postgres":"x","interval_ms":3600001})",
                        R"({"postgres":"x","batch_entries":0})", R"({"postgres":"x","batch_entries":100001})",
                        R"({"postgres":"x","label":"a\u0000b"})", R"({"postgres":"x","extra":1})",
                        R"({"postgres":"postgresql://%zz@/x"})", R"({"postgres":"nonsense_keyword=1"})", "[", ""}) {
    ExpectRefused(std::string("sync_to_postgres ") + o, CONVSTORE_INVALID_ARGUMENT,
                  [&](char** out, char** e) { return convstore_sync_to_postgres(db, o, out, e); });
    ExpectRefused(std::string("start_sync ") + o, CONVSTORE_INVALID_ARGUMENT,
                  [&](char** out, char** e) { *out = nullptr; return convstore_start_sync(db, o, e); });
  }
  // A server that is not there: unavailable, and the store is untouched (its sync id is minted only once
  // PostgreSQL answers).
  const char* nowhere = R"({"postgres":"host=/nonexistent-convstore-dir port=1 connect_timeout=1"})";
  ExpectRefused("sync to nowhere", CONVSTORE_UNAVAILABLE,
                [&](char** out, char** e) { return convstore_sync_to_postgres(db, nowhere, out, e); });
  ExpectRefused("stop when not syncing", CONVSTORE_NOT_FOUND,
                [&](char** out, char** e) { return convstore_stop_sync(db, out, e); });
  ExpectRefused("sync NULL options", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { return convstore_sync_to_postgres(db, nullptr, out, e); });
  ExpectRefused("sync NULL handle", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { return convstore_sync_to_postgres(nullptr, nowhere, out, e); });
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CBadInputMatrix, GlobalBudgetRequestsThatCannotBeDone) {
  const std::string before = Snapshot();
  char* err = nullptr;
  // Before global budgets are in use, the budget calls say so.
  ExpectRefused("set before use", CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
    *out = nullptr;
    return convstore_set_global_budget(db, R"({"name":"b","scope":"global","period":"day","hard_limit_usd":"1"})", e);
  });
  ExpectRefused("delete before use", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { *out = nullptr; return convstore_delete_global_budget(db, "b", e); });
  ExpectRefused("list before use", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { return convstore_global_budgets(db, out, e); });
  for (const char* o : {R"({})", R"({"postgres":""})", R"({"postgres":7})", R"({"postgres":"x","schema":""})",
                        R"({"postgres":"x","when_unreachable":"pray"})", R"({"postgres":"x","when_unreachable":1})",
                        R"({"postgres":"x","local_allowance_usd":"-1"})",
                        R"({"postgres":"x","local_allowance_usd":"1000000001"})",
                        R"({"postgres":"x","local_allowance_nanousd":1.5})", R"({"postgres":"x","extra":1})",
                        R"({"postgres":"postgresql://%zz@/x"})", R"({"postgres":"nonsense_keyword=1"})", "[", ""})
    ExpectRefused(std::string("use_global_budgets ") + o, CONVSTORE_INVALID_ARGUMENT,
                  [&](char** out, char** e) { *out = nullptr; return convstore_use_global_budgets(db, o, e); });
  // In use, with PostgreSQL unreachable and the default policy: budgets cannot be changed, and a reservation is
  // refused with the store's own reservation released (the reservation row stays, released).
  const char* nowhere = R"({"postgres":"host=/nonexistent-convstore-dir port=1 connect_timeout=1"})";
  ASSERT_EQ(convstore_use_global_budgets(db, nowhere, &err), CONVSTORE_OK) << err;
  for (const char* b : {R"({"name":"","scope":"global","period":"day"})", R"({"name":"b","scope":"galaxy","period":"day"})",
                        R"({"name":"b","scope":"team","period":"day"})", R"({"name":"b","scope":"global","period":"year"})",
                        R"({"name":"b","scope":"global","period":"day","hard_limit_usd":"-1"})"})
    ExpectRefused(std::string("set_global_budget ") + b, CONVSTORE_INVALID_ARGUMENT,
                  [&](char** out, char** e) { *out = nullptr; return convstore_set_global_budget(db, b, e); });
  ExpectRefused("delete an empty name", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { *out = nullptr; return convstore_delete_global_budget(db, "", e); });
  ExpectRefused("set while unreachable", CONVSTORE_UNAVAILABLE, [&](char** out, char** e) {
    *out = nullptr;
    return convstore_set_global_budget(db, R"({"name":"b","scope":"global","period":"day","hard_limit_usd":"1"})", e);
  });
  ExpectRefused("list while unreachable", CONVSTORE_UNAVAILABLE,
                [&](char** out, char** e) { return convstore_global_budgets(db, out, e); });
  EXPECT_EQ(Snapshot(), before);
  ExpectRefused("reserve while unreachable", CONVSTORE_UNAVAILABLE, [&](char** out, char** e) {
    return convstore_reserve(db, R"({"request_id":"r-global","user":"u@x","estimated_cost_usd":"0.01"})", out, e);
  });
  EXPECT_EQ(QueryInt(db_.path(), "SELECT count(*) FROM budget_reservations WHERE request_id = 'r-global' AND "
                                 "state = 0"), 0);
  ExpectRefused("use NULL handle", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { *out = nullptr; return convstore_use_global_budgets(nullptr, nowhere, e); });
  ExpectRefused("delete NULL name", CONVSTORE_INVALID_ARGUMENT,
                [&](char** out, char** e) { *out = nullptr; return convstore_delete_global_budget(db, nullptr, e); });
}

TEST_F(CBadInputMatrix, ArchiveRequestsThatCannotBeDone) {
  const std::string before = Snapshot();
  const std::string dir = db_.path() + ".no-such-archive";
  for (const char* o : {R"({})", R"({"directory":""})", R"({"directory":7})", R"({"directory":"a","interval_ms":0})",
                        R"({"directory":"a","interval_ms":3600001})", R"({"directory":"a","base_backup_interval_s":0})",
                        R"({"directory":"a","keep_s":-1})", R"({"directory":"a","keep_s":9223372036854775807})",
                        R"({"directory":"a","encryption_key":"12"})", R"({"directory":"a","extra":1})"})
    ExpectRefused(o, CONVSTORE_INVALID_ARGUMENT,
            [&](char** out, char** e) { return convstore_archive_now(db, o, out, e); });
  ExpectRefused("stop when not archiving", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_stop_archiving(db, out, e); });
  ExpectRefused("list NULL", CONVSTORE_INVALID_ARGUMENT,
          [&](char** out, char** e) { return convstore_list_archive(nullptr, out, e); });
  ExpectRefused("list missing", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_list_archive(dir.c_str(), out, e); });
  const std::string target = db_.path() + ".t";
  for (const char* o : {R"({})", R"({"to_seq":1,"to_time":1})", R"({"to_seq":-1})", R"({"to_time":"yesterday"})",
                        R"({"to_seq":"1"})", R"({"to_seq":1,"encryption_key":"zz"})", R"({"to_seq":1,"x":1})", "[", ""})
    ExpectRefused(std::string("restore_to_point ") + o, CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
      return convstore_restore_to_point(dir.c_str(), target.c_str(), o, nullptr, nullptr, out, e);
    });
  ExpectRefused("restore_to_point NULL archive", CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
    return convstore_restore_to_point(nullptr, target.c_str(), R"({"to_seq":1})", nullptr, nullptr, out, e);
  });
  ExpectRefused("restore_to_point NULL target", CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
    return convstore_restore_to_point(dir.c_str(), nullptr, R"({"to_seq":1})", nullptr, nullptr, out, e);
  });
  ExpectRefused("restore_to_point NULL options", CONVSTORE_INVALID_ARGUMENT, [&](char** out, char** e) {
    return convstore_restore_to_point(dir.c_str(), target.c_str(), nullptr, nullptr, nullptr, out, e);
  });
  ExpectRefused("inspect NULL", CONVSTORE_INVALID_ARGUMENT,
          [&](char** out, char** e) { return convstore_inspect_store(nullptr, out, e); });
  ExpectRefused("inspect missing", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_inspect_store(dir.c_str(), out, e); });
  ExpectRefused("check NULL", CONVSTORE_INVALID_ARGUMENT,
          [&](char** out, char** e) { return convstore_check_store(nullptr, out, e); });
  ExpectRefused("check missing", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_check_store(dir.c_str(), out, e); });
  ExpectRefused("list_backups NULL", CONVSTORE_INVALID_ARGUMENT,
          [&](char** out, char** e) { return convstore_list_backups(nullptr, out, e); });
  ExpectRefused("list_backups missing", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_list_backups(dir.c_str(), out, e); });
  for (int64_t keep : {int64_t{0}, int64_t{-1}, INT64_MAX}) {
    ExpectRefused("prune_backups keep " + std::to_string(keep), CONVSTORE_INVALID_ARGUMENT,
            [&](char** out, char** e) { return convstore_prune_backups(dir.c_str(), keep, out, e); });
    ExpectRefused("prune_archive keep " + std::to_string(keep), CONVSTORE_INVALID_ARGUMENT,
            [&](char** out, char** e) { return convstore_prune_archive(dir.c_str(), keep, out, e); });
  }
  ExpectRefused("prune_archive missing", CONVSTORE_NOT_FOUND,
          [&](char** out, char** e) { return convstore_prune_archive(dir.c_str(), 60, out, e); });
  ExpectRefused("restore_to_point missing archive", CONVSTORE_NOT_FOUND, [&](char** out, char** e) {
    return convstore_restore_to_point(dir.c_str(), target.c_str(), R"({"to_seq":1})", nullptr, nullptr, out, e);
  });
  EXPECT_EQ(Snapshot(), before);
  struct stat st;
  EXPECT_NE(::stat(target.c_str(), &st), 0);
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
}

TEST_F(CBadInputMatrix, UseAfterShutdownAndDoubleClose) {
  char* err = nullptr;
  ASSERT_EQ(convstore_shutdown(db, &err), CONVSTORE_OK);
  ASSERT_EQ(convstore_shutdown(db, &err), CONVSTORE_OK);  // double shutdown: no-op
  for (auto& ep : EntryPoints()) {
    if (IsOpen(ep)) continue;
    const char* arg = ep.kind == EntryPoint::kId ? conv.c_str() : R"({"key":"k","user":"u","role":"user","content":"x","tool_name":"t"})";
    EXPECT_EQ(ep.call(db, arg, &err), CONVSTORE_CLOSED) << ep.name;
    convstore_free(err);
    err = nullptr;
  }
  EXPECT_EQ(convstore_schema_version(db), -1);
  convstore_close(db);
  db = nullptr;
  convstore_close(nullptr);  // and closing NULL is a no-op
}

// A read-only handle: every entry point either reads or answers CONVSTORE_READ_ONLY, and the file is unchanged.
TEST_F(CBadInputMatrix, EveryEntryPointOnAReadOnlyStoreWritesNothing) {
  char* err = nullptr;
  const std::string before = Snapshot();
  convstore_t* ro = nullptr;
  ASSERT_EQ(convstore_open(db_.path().c_str(), R"({"read_only":true})", &ro, &err), CONVSTORE_OK) << err;
  int refused = 0;
  for (auto& ep : EntryPoints()) {
    if (IsOpen(ep)) continue;
    const char* arg = ep.kind == EntryPoint::kId ? conv.c_str() : R"({"key":"k","user":"u@x","role":"user","content":"x","tool_name":"t","model":"m","name":"b","scope":"global","period":"day","hard_limit_usd":"1","request_id":"r2","estimated_cost_usd":"0.01"})";
    const int rc = ep.call(ro, arg, &err);
    ++inputs_tried;
    EXPECT_NE(rc, CONVSTORE_INTERNAL) << ep.name << ": " << (err ? err : "");
    if (rc == CONVSTORE_READ_ONLY) {
      ++refused;
      EXPECT_NE(std::string(err).find("read-only"), std::string::npos) << ep.name << ": " << err;
    }
    convstore_free(err);
    err = nullptr;
  }
  EXPECT_GE(refused, 10);
  convstore_close(ro);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CBadInputMatrix, OpenRefusesBadPathsAndModesLeavingNoFile) {
  char* err = nullptr;
  convstore_t* other = nullptr;
  const std::string missing_dir =
      R"({"migration_backup_directory":")" + db_.path().substr(0, db_.path().rfind('/')) + R"(/no-such-dir"})";
  for (const char* options : {R"({"read_only":"yes"})", R"({"read_only":1})", R"({"backup_before_migration":"no"})",
                              R"({"migration_backup_directory":5})", missing_dir.c_str()}) {
    EXPECT_EQ(convstore_open(db_.path().c_str(), options, &other, &err), CONVSTORE_INVALID_ARGUMENT) << options;
    EXPECT_EQ(other, nullptr);
    convstore_free(err);
    err = nullptr;
    ++inputs_tried;
  }
  EXPECT_EQ(convstore_open(":memory:", R"({"read_only":true})", &other, &err), CONVSTORE_INVALID_ARGUMENT);
  convstore_free(err);
  err = nullptr;
  const std::string dir = db_.path().substr(0, db_.path().rfind('/'));
  const std::string missing = dir + "/never-created.db";
  EXPECT_EQ(convstore_open(missing.c_str(), R"({"read_only":true})", &other, &err), CONVSTORE_NOT_FOUND);
  convstore_free(err);
  err = nullptr;
  const std::string too_long = dir + "/" + std::string(250, 'x');
  EXPECT_EQ(convstore_open(too_long.c_str(), nullptr, &other, &err), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err ? err : "").find("-journal"), std::string::npos);
  convstore_free(err);
  inputs_tried += 3;
  EXPECT_NE(QueryInt(db_.path(), "SELECT 1"), -2);  // the store's file is untouched
  struct stat sb;
  EXPECT_NE(::stat(missing.c_str(), &sb), 0);
  EXPECT_NE(::stat(too_long.c_str(), &sb), 0);
}

}  // namespace
}  // namespace convstore
