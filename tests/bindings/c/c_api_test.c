/* The whole flow through the C ABI, in plain C99 with -Wall -Wextra -pedantic -Werror.
 * Usage: c_api_test <scratch-db-path>. Prints "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "c_check.h"
#include "convstore/convstore.h"

/* Closed by an atexit handler registered before the library was first used: it runs after the library's static
 * objects are destroyed, which once freed the logger under convstore_close (found by fuzzing). */
static convstore_t* closed_at_exit = NULL;
static void close_at_exit(void) { convstore_close(closed_at_exit); }

static int message_count(convstore_t* db, const char* conv) {
  char* out = NULL;
  char* err = NULL;
  const char* p;
  int n = -1;
  if (convstore_get_conversation_info(db, conv, &out, &err) == CONVSTORE_OK) {
    p = strstr(out, "\"message_count\":");
    if (p != NULL) n = atoi(p + strlen("\"message_count\":"));
  }
  convstore_free(out);
  convstore_free(err);
  return n;
}

/* Budget alerts arrive as JSON on the writing thread. */
static int alerts_seen = 0;
static void on_alert(void* user_data, const char* alert_json) {
  CHECK(user_data == (void*)&alerts_seen);
  CHECK(strstr(alert_json, "\"limit\":\"soft\"") != NULL);
  ++alerts_seen;
}

/* Progress of long operations arrives with the operation's name. */
static int progress_calls = 0;
static void on_progress(void* user_data, const char* operation, int64_t done, int64_t total) {
  CHECK(user_data == (void*)&progress_calls);
  CHECK(operation != NULL && operation[0] != '\0'); /* also the migrations a new file runs at open */
  CHECK(done >= 0 && done <= total);
  if (strcmp(operation, "rebuild metadata index") == 0) ++progress_calls;
}

/* Times: integer microseconds or ISO-8601 text with an offset; seconds, milliseconds, nanoseconds and naive text
 * are refused with a message naming the likely unit; nothing is written. */
static void time_rules(convstore_t* db, const char* conv) {
  char* err = NULL;
  char body[256];
  int64_t us = 0;
  int before = message_count(db, conv);
  static const char* const refused[] = {"1767225600", "1767225600000", "1767225600000000000", "0",
                                        "\"2026-01-02 03:04:05\"", "1767225600.5"};
  size_t i;
  for (i = 0; i < sizeof refused / sizeof refused[0]; ++i) {
    snprintf(body, sizeof body, "{\"role\":\"user\",\"content\":\"x\",\"created_at\":%s}", refused[i]);
    EXPECT_CODE(convstore_add_message(db, conv, body, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  }
  CHECK(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"created_at\":1767225600}", NULL,
                              &err) == CONVSTORE_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(err, "looks like seconds") != NULL && strstr(err, "1767225600000000 µs") != NULL);
  convstore_free(err);
  CHECK(message_count(db, conv) == before);
  CHECK(convstore_parse_time("2026-01-01T01:00:00+01:00", &us, NULL) == CONVSTORE_OK && us == 1767225600000000);
  EXPECT_CODE(convstore_parse_time("2026-01-01 00:00:00", &us, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_parse_time("1970-01-01T00:00:00Z", &us, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_parse_time(NULL, &us, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_parse_time("2026-01-01T00:00:00Z", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
}

/* Tool calls finish once; a tool message names its call by the provider's id. */
/* Tool calls: recorded pending with the provider's call id, finished once; a tool result names its call. */
static void tool_call_lifecycle(convstore_t* db) {
  char* out = NULL;
  char call[64], conv[64], msg[64];
  CHECK(convstore_create_conversation(db, "{\"user\":\"tools\"}", &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", conv, sizeof conv);
  convstore_free(out);
  CHECK(convstore_add_message(db, conv, "{\"role\":\"assistant\",\"content\":\"checking\"}", &out, NULL) ==
        CONVSTORE_OK);
  json_string(out, "id", msg, sizeof msg);
  convstore_free(out);
  CHECK(convstore_add_tool_call(db, msg, "{\"tool_name\":\"show_bgp\",\"status\":\"pending\",\"call_id\":\"call_1\"}",
                                &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"call_id\":\"call_1\"") != NULL && strstr(out, "\"updated_at_us\":") != NULL);
  json_string(out, "id", call, sizeof call);
  convstore_free(out);
  CHECK(convstore_update_tool_call(db, call, "{\"status\":\"success\",\"output\":{\"state\":\"up\"},\"duration_us\":7}",
                                   &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"status\":\"success\"") != NULL && strstr(out, "{\"state\":\"up\"}") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_update_tool_call(db, call, "{\"status\":\"error\"}", NULL, &err_), CONVSTORE_CONFLICT);
  EXPECT_CODE(convstore_update_tool_call(db, call, "{\"status\":\"pending\"}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_update_tool_call(db, call, "{}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_update_tool_call(db, call, NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_add_message(db, conv, "{\"role\":\"tool\",\"content\":\"up\",\"tool_call_id\":\"call_1\"}", &out,
                              NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"tool_call_id\":\"call_1\"") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"tool\",\"content\":\"x\",\"tool_call_id\":\"nope\"}", NULL,
                                    &err_), CONVSTORE_NOT_FOUND);
}

/* History: get-or-create by external id, raw items, calls recorded with their message, delete/pop/clear/edit. */
static void history_edits(convstore_t* db) {
  char* out = NULL;
  char conv[64], again[64], msg[64];
  int64_t n = -1;
  CHECK(convstore_create_conversation(db, "{\"user\":\"hist\",\"external_id\":\"sess-1\"}", &out, NULL) ==
        CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"external_id\":\"sess-1\"") != NULL);
  json_string(out, "id", conv, sizeof conv);
  convstore_free(out);
  CHECK(convstore_create_conversation(db, "{\"user\":\"hist\",\"external_id\":\"sess-1\"}", &out, NULL) ==
        CONVSTORE_OK);
  json_string(out, "id", again, sizeof again);
  convstore_free(out);
  CHECK(strcmp(conv, again) == 0);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"other\",\"external_id\":\"sess-1\"}", NULL, &err_),
              CONVSTORE_CONFLICT);
  CHECK(convstore_add_messages(db, conv,
                               "[{\"role\":\"assistant\",\"content\":\"\",\"raw\":{\"type\":\"function_call\"},"
                               "\"tool_calls\":[{\"tool_name\":\"f\",\"status\":\"pending\",\"call_id\":\"c9\"}]},"
                               "{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"c9\",\"cost_nanousd\":7,"
                               "\"request_id\":\"hist-r1\"}]",
                               &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"raw\":{\"type\":\"function_call\"}") != NULL &&
        strstr(out, "\"tool_calls\":[{") != NULL && strstr(out, "\"call_id\":\"c9\"") != NULL);
  json_string(out, "id", msg, sizeof msg);
  convstore_free(out);
  CHECK(convstore_list_tool_calls(db, msg, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"status\":\"success\"") != NULL && strstr(out, "\"output\":42") != NULL);
  convstore_free(out);
  CHECK(convstore_get_items(db, conv, 0, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strncmp(out, "[{\"type\":\"function_call\"},{\"role\":\"tool\",\"content\":\"42\"}]", 200) == 0);
  convstore_free(out);
  CHECK(convstore_get_items(db, conv, 1, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strcmp(out, "[{\"role\":\"tool\",\"content\":\"42\"}]") == 0);
  convstore_free(out);
  EXPECT_CODE(convstore_get_items(db, conv, -1, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_add_agent_items(db, conv, "[{\"role\":\"user\",\"content\":\"q\"},{\"type\":\"message\",\"role\":"
                                  "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a\"}]}]",
                                  "{\"input_tokens\":10,\"output_tokens\":2}", &n, NULL) == CONVSTORE_OK && n == 2);
  EXPECT_CODE(convstore_add_agent_items(db, conv, "{}", NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_agent_items(db, conv, "[]", "{\"tokens\":1}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_get_items(db, conv, 1, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"output_text\"") != NULL);
  convstore_free(out);
  CHECK(convstore_pop_message(db, conv, NULL, NULL) == CONVSTORE_OK);
  CHECK(convstore_pop_message(db, conv, NULL, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_import_history(db, "{\"source\":\"/nonexistent/x.db\",\"format\":\"agents-sdk\"}", NULL,
                                       &err_), CONVSTORE_IO_ERROR);
  EXPECT_CODE(convstore_import_history(db, "{\"source\":\"x.db\",\"format\":\"csv\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_edit_message(db, msg, "{\"content\":\"calling f\",\"raw\":null}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"content\":\"calling f\"") != NULL && strstr(out, "\"raw\":null") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_edit_message(db, msg, "{}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_edit_message(db, msg, "{\"cost_usd\":1}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_pop_message(db, conv, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"content\":\"42\"") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"request_id\":\"hist-r1\"}",
                                    NULL, &err_), CONVSTORE_CONFLICT);
  CHECK(convstore_delete_message(db, msg, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "calling f") != NULL);
  convstore_free(out);
  CHECK(convstore_pop_message(db, conv, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strcmp(out, "null") == 0);
  convstore_free(out);
  CHECK(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\"}", NULL, NULL) == CONVSTORE_OK);
  CHECK(convstore_clear_messages(db, conv, &n, NULL) == CONVSTORE_OK && n == 1);
  CHECK(convstore_get_conversation_info(db, conv, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"message_count\":0") != NULL && strstr(out, "\"total_cost_nanousd\":7") != NULL);
  convstore_free(out);
}

/* Context windows: the system prompt first, tool results with their call, stop or skip; the newest N messages. */
static void context_windows(convstore_t* db) {
  char* out = NULL;
  char id[64];
  CHECK(convstore_create_conversation(db, "{\"user\":\"ctx\",\"system_prompt\":\"be brief\"}", &out, NULL) ==
        CONVSTORE_OK);
  json_string(out, "id", id, sizeof id);
  convstore_free(out);
  CHECK(convstore_add_messages(db, id,
                               "[{\"role\":\"user\",\"content\":\"q1\",\"tokens_input\":3},"
                               "{\"role\":\"assistant\",\"content\":\"call\",\"tokens_output\":4},"
                               "{\"role\":\"tool\",\"content\":\"big\",\"tokens_input\":500},"
                               "{\"role\":\"assistant\",\"content\":\"done\",\"tokens_output\":4}]",
                               NULL, NULL) == CONVSTORE_OK);
  CHECK(convstore_get_context(db, id, 50, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"content\":\"be brief\"") != NULL && strstr(out, "\"position\":-1") != NULL);
  CHECK(out != NULL && strstr(out, "\"content\":\"done\"") != NULL && strstr(out, "q1") == NULL);
  convstore_free(out);
  CHECK(convstore_get_context_with_options(db, id, "{\"max_tokens\":50,\"overflow\":\"skip\"}", &out, NULL) ==
        CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "q1") != NULL && strstr(out, "\"call\"") == NULL && strstr(out, "big") == NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_get_context_with_options(db, id, "{\"max_tokens\":5,\"overflow\":\"drop\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_get_context_with_options(db, id, "{}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_get_context_with_options(db, id, NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_add_message(db, id, "{\"role\":\"developer\",\"content\":\"answer in French\"}", &out, NULL) ==
        CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"role\":\"system\"") != NULL); /* developer is stored as system */
  convstore_free(out);
  CHECK(convstore_get_last_messages(db, id, 2, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "done") != NULL && strstr(out, "French") != NULL && strstr(out, "q1") == NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_get_last_messages(db, id, 0, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
}

/* The scalar appends store what convstore_add_message stores and report the id, position, cost and time the JSON
 * read-back shows. */
static void scalar_appends(convstore_t* db) {
  char* out = NULL;
  char conv[64], id[CONVSTORE_ID_SIZE], expect[128];
  int64_t position = -1, cost = -1, price_id = -1, created_at = 0;
  const char* roles[] = {"user", "assistant", "tool"};
  const char* contents[] = {"one", "two", "three"};
  const char* models[] = {NULL, "gpt-4o", ""};
  const int64_t tokens_output[] = {CONVSTORE_UNSET, 20, CONVSTORE_UNSET};
  const int64_t costs[] = {CONVSTORE_UNSET, CONVSTORE_UNSET, 5};
  char ids[3 * CONVSTORE_ID_SIZE];
  int64_t positions[3], out_costs[3], prices[3], times[3];
  CHECK(convstore_create_conversation(db, "{\"user\":\"scalar\"}", &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", conv, sizeof conv);
  convstore_free(out);
  /* content_len cuts the text; a model and tokens without a cost: priced from the catalog */
  CHECK(convstore_append_message(db, conv, "assistant", "hello world", 5, "gpt-4o", 1000, 500, CONVSTORE_UNSET, 42,
                                 id, &position, &cost, &price_id, &created_at, NULL) == CONVSTORE_OK);
  CHECK(strlen(id) == 36 && position == 0 && cost > 0 && price_id != CONVSTORE_UNSET && created_at > 0);
  CHECK(convstore_get_last_messages(db, conv, 1, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, id) != NULL && strstr(out, "\"content\":\"hello\"") != NULL);
  snprintf(expect, sizeof expect, "\"cost_nanousd\":%lld", (long long)cost);
  CHECK(strstr(out, expect) != NULL && strstr(out, "\"latency_us\":42") != NULL);
  snprintf(expect, sizeof expect, "\"created_at_us\":%lld", (long long)created_at);
  CHECK(strstr(out, expect) != NULL && strstr(out, "\"tokens_output\":500") != NULL);
  convstore_free(out);
  /* developer is stored as system; an explicit cost is kept and has no price; NULL outs are fine */
  CHECK(convstore_append_message(db, conv, "developer", "answer in French", -1, NULL, CONVSTORE_UNSET,
                                 CONVSTORE_UNSET, 1234, CONVSTORE_UNSET, NULL, &position, &cost, &price_id, NULL,
                                 NULL) == CONVSTORE_OK);
  CHECK(position == 1 && cost == 1234 && price_id == CONVSTORE_UNSET);
  CHECK(convstore_get_last_messages(db, conv, 1, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"role\":\"system\"") != NULL && strstr(out, "\"model\":\"\"") != NULL);
  convstore_free(out);
  /* a batch, all or nothing: ids in their slots, positions in order */
  CHECK(convstore_append_messages(db, conv, 3, roles, contents, NULL, models, NULL, tokens_output, costs, NULL, ids,
                                  positions, out_costs, prices, times, NULL) == CONVSTORE_OK);
  CHECK(positions[0] == 2 && positions[1] == 3 && positions[2] == 4);
  CHECK(out_costs[0] == CONVSTORE_UNSET && out_costs[2] == 5 && prices[2] == CONVSTORE_UNSET);
  CHECK(times[0] <= times[1] && times[1] <= times[2] && times[0] >= created_at);
  CHECK(convstore_get_last_messages(db, conv, 3, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, ids) != NULL && strstr(out, ids + CONVSTORE_ID_SIZE) != NULL &&
        strstr(out, ids + 2 * CONVSTORE_ID_SIZE) != NULL && strstr(out, "\"content\":\"three\"") != NULL);
  convstore_free(out);
  CHECK(message_count(db, conv) == 5);
  EXPECT_CODE(convstore_append_message(db, conv, "robot", "x", -1, NULL, CONVSTORE_UNSET, CONVSTORE_UNSET,
                                       CONVSTORE_UNSET, CONVSTORE_UNSET, NULL, NULL, NULL, NULL, NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  CHECK(message_count(db, conv) == 5);
}

/* The options handle: JSON settings checked when set, callbacks, NULL for the defaults; the deprecated alias. */
static void options_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  convstore_options_t* options = convstore_options_create();
  CHECK(options != NULL);
  if (options == NULL) return;
  EXPECT_CODE(convstore_options_set_json(options, "{\"durability\":\"maybe\"}", &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_options_set_json(options, "{\"read_only\":true", &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_options_set_json(NULL, "{}", &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_options_set_json(options, NULL, &err_), CONVSTORE_OK); /* sets nothing */
  convstore_options_set_budget_alert(NULL, on_alert, NULL);                    /* no-ops */
  convstore_options_set_progress(NULL, on_progress, NULL);
  convstore_options_set_progress(options, on_progress, &progress_calls);
  EXPECT_CODE(convstore_open_with_options(NULL, options, &db, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_open_with_options(":memory:", options, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  /* the refused settings changed nothing: a read-write in-memory store opens */
  CHECK(convstore_open_with_options(":memory:", options, &db, NULL) == CONVSTORE_OK);
  convstore_options_destroy(options);
  if (db == NULL) return;
  CHECK(convstore_create_conversation(db, "{\"user\":\"u\",\"metadata\":{\"k\":1}}", NULL, NULL) == CONVSTORE_OK);
  CHECK(convstore_rebuild_metadata_index(db, &out, NULL) == CONVSTORE_OK);
  convstore_free(out);
  CHECK(progress_calls >= 1);
  convstore_close(db);

  CHECK(convstore_open_with_options(":memory:", NULL, &db, NULL) == CONVSTORE_OK); /* NULL: the defaults */
  convstore_close(db);
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  CHECK(convstore_open_with_alerts(":memory:", "{\"log_level\":\"error\"}", on_alert, &alerts_seen, &db, NULL) ==
        CONVSTORE_OK);
  convstore_close(db);
  EXPECT_CODE(convstore_open_with_alerts(":memory:", "{\"durability\":1}", NULL, NULL, &db, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  CHECK(db == NULL);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}

static int log_lines_seen = 0;
static int log_open_seen = 0;
static void on_log(void* user_data, int level, const char* message) {
  CHECK(user_data == (void*)&log_lines_seen);
  CHECK(level >= CONVSTORE_LOG_TRACE && level <= CONVSTORE_LOG_ERROR);
  CHECK(message != NULL);
  ++log_lines_seen;
  if (level == CONVSTORE_LOG_INFO && strstr(message, "opened ':memory:'") != NULL) ++log_open_seen;
}

/* Log lines go to a handler when one is set, and stop reaching it when it is cleared. */
static void log_flow(void) {
  convstore_t* db = NULL;
  convstore_set_log_handler(on_log, &log_lines_seen);
  CHECK(convstore_open(":memory:", "{\"log_level\":\"info\"}", &db, NULL) == CONVSTORE_OK);
  convstore_close(db);
  CHECK(log_open_seen == 1);
  convstore_set_log_handler(NULL, NULL);
  int seen = log_lines_seen;
  CHECK(convstore_open(":memory:", "{\"log_level\":\"info\"}", &db, NULL) == CONVSTORE_OK);
  convstore_close(db);
  CHECK(log_lines_seen == seen);
  CHECK(convstore_open(":memory:", "{\"log_level\":\"warn\"}", &db, NULL) == CONVSTORE_OK); /* the default again */
  convstore_close(db);
}

/* The cost engine through the C ABI: prices, usage, summaries, budgets and reservations. */
static void cost_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  char conv[64];
  convstore_options_t* options = convstore_options_create();
  CHECK(options != NULL);
  EXPECT_CODE(convstore_options_set_json(options, "{\"log_level\":\"error\"}", &err_), CONVSTORE_OK);
  convstore_options_set_budget_alert(options, on_alert, &alerts_seen);
  CHECK(convstore_open_with_options(":memory:", options, &db, NULL) == CONVSTORE_OK);
  convstore_options_destroy(options); /* the store keeps what it needs */
  if (db == NULL) return;
  EXPECT_CODE(convstore_upsert_team(db, "{\"key\":\"netops\",\"monthly_budget_usd\":\"100\"}", NULL, &err_),
              CONVSTORE_OK);
  EXPECT_CODE(convstore_upsert_user(db, "{\"key\":\"ana\",\"team\":\"netops\"}", NULL, &err_), CONVSTORE_OK);
  CHECK(convstore_add_price(db, "{\"model\":\"acme\",\"input_per_mtok_usd\":\"2\",\"output_per_mtok_usd\":\"8\"}",
                            &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"origin\":\"user\"") != NULL && strstr(out, "\"input_per_mtok_nanousd\":2000000000"));
  convstore_free(out);
  CHECK(convstore_resolve_price(db, "gpt-4o", 1780000000000000, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"origin\":\"catalog\"") != NULL);
  convstore_free(out);
  CHECK(convstore_list_prices(db, &out, NULL) == CONVSTORE_OK && out[0] == '[');
  convstore_free(out);

  CHECK(convstore_create_conversation(db, "{\"user\":\"ana\"}", &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", conv, sizeof conv);
  convstore_free(out);
  /* 1000 input + 500 output tokens at $2 / $8 per million: $0.006, priced from the catalog entry we added */
  CHECK(convstore_add_message(db, conv, "{\"role\":\"assistant\",\"content\":\"x\",\"model\":\"acme\","
                                        "\"tokens_input\":1000,\"tokens_output\":500}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"cost_usd\":\"0.006\"") != NULL);
  convstore_free(out);
  CHECK(convstore_record_api_usage(db, "{\"user\":\"ana\",\"model\":\"acme\",\"endpoint\":\"/v1/chat\","
                                       "\"cost_usd\":\"0.5\",\"latency_us\":120000,\"request_id\":\"u-1\"}",
                                   &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"team\":\"netops\"") != NULL);
  convstore_free(out);

  /* the default source is "all", what budgets count: the message and the API call */
  CHECK(convstore_cost_summary(db, "{\"days\":7}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"total_cost_usd\":\"0.506\"") != NULL && strstr(out, "\"total_messages\":2"));
  convstore_free(out);
  CHECK(convstore_cost_summary(db, "{\"days\":7,\"source\":\"message\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"total_cost_usd\":\"0.006\"") != NULL && strstr(out, "\"total_messages\":1"));
  convstore_free(out);
  CHECK(convstore_cost_summary(db, "{\"days\":7,\"source\":\"all\",\"team\":\"netops\"}", &out, NULL) ==
        CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"total_cost_usd\":\"0.506\"") != NULL);
  convstore_free(out);
  CHECK(convstore_group_costs(db, "{\"group_by\":[\"source\",\"model\"],\"source\":\"all\"}", &out, NULL) ==
        CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"keys\":{\"source\":\"api\",\"model\":\"acme\"}") != NULL);
  convstore_free(out);
  CHECK(convstore_usage_stats(db, "{\"source\":\"api\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"calls\":1") != NULL);
  convstore_free(out);
  CHECK(convstore_team_spend(db, "netops", 30, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"month_to_date_usd\":\"0.506\"") != NULL);
  convstore_free(out);
  CHECK(convstore_verify_rollups(db, &out, NULL) == CONVSTORE_OK && strstr(out, "\"differences\":0") != NULL);
  convstore_free(out);
  CHECK(convstore_rebuild_rollups(db, &out, NULL) == CONVSTORE_OK && strstr(out, "\"repaired\":false") != NULL);
  convstore_free(out);
  CHECK(convstore_reprice(db, "{\"from\":\"2000-01-01T00:00:00Z\",\"to\":\"9999-01-01T00:00:00Z\"}", &out, NULL) == CONVSTORE_OK);
  convstore_free(out);

  /* a $1 daily budget: 0.506 spent; reserve 0.4 (admitted), then 0.2 (refused); settle crosses the soft limit */
  CHECK(convstore_set_budget(db, "{\"name\":\"daily\",\"scope\":\"team\",\"scope_key\":\"netops\","
                                 "\"period\":\"day\",\"hard_limit_usd\":\"1\",\"soft_limit_usd\":\"0.8\"}",
                             &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"spent_usd\":\"0.506\"") != NULL);
  convstore_free(out);
  CHECK(convstore_reserve(db, "{\"request_id\":\"call-1\",\"user\":\"ana\",\"estimated_cost_usd\":\"0.4\"}",
                          &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"state\":\"open\"") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_reserve(db, "{\"request_id\":\"call-2\",\"user\":\"ana\",\"estimated_cost_usd\":\"0.2\"}",
                                NULL, &err_), CONVSTORE_BUDGET_EXCEEDED);
  CHECK(strcmp(convstore_code_name(CONVSTORE_BUDGET_EXCEEDED), "budget_exceeded") == 0);
  CHECK(convstore_settle(db, "call-1", "{\"model\":\"acme\",\"cost_usd\":\"0.35\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"request_id\":\"call-1\"") != NULL);
  convstore_free(out);
  CHECK(alerts_seen == 1);
  CHECK(convstore_get_budgets(db, 0.8, &out, NULL) == CONVSTORE_OK && strstr(out, "\"over_soft\":true") != NULL);
  convstore_free(out);
  CHECK(convstore_reserve(db, "{\"request_id\":\"call-3\",\"user\":\"ana\",\"estimated_cost_nanousd\":1}", NULL,
                          NULL) == CONVSTORE_OK);
  CHECK(convstore_release(db, "call-3", &out, NULL) == CONVSTORE_OK && strstr(out, "\"state\":\"released\"") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_delete_budget(db, "daily", &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_delete_budget(db, "daily", &err_), CONVSTORE_NOT_FOUND);
  convstore_close(db);
}

/* Runs a metadata search (or explain, with explain != 0); returns the output JSON (free it) or NULL on failure. */
static char* search(convstore_t* db, const char* query, int explain) {
  char* out = NULL;
  char* err = NULL;
  int rc = explain ? convstore_explain_metadata(db, query, &out, &err) : convstore_search_metadata(db, query, &out, &err);
  if (rc != CONVSTORE_OK) fprintf(stderr, "  %s: got %d (%s): %s\n", query, rc, convstore_code_name(rc), err ? err : "-");
  CHECK(rc == CONVSTORE_OK && out != NULL && err == NULL);
  convstore_free(err);
  return out;
}

/* Whether `first` occurs in `json`, and before `second` when that is given (newest first). */
static int has_in_order(const char* json, const char* first, const char* second) {
  const char* a = json ? strstr(json, first) : NULL;
  const char* b = (json && second) ? strstr(json, second) : NULL;
  return a != NULL && (second == NULL || (b != NULL && a < b));
}

/* Metadata search through the C ABI: containment, path conditions, ordinary filters, paging, the three targets,
 * explain, verify, excluded paths and rebuild. */
static void metadata_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  char bgp[64], dns[64], web[64], cursor[128], query[512];
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  if (db == NULL) return;
  CHECK(convstore_create_conversation(db, "{\"user\":\"ana\",\"title\":\"BGP\",\"created_at\":1770800000000001,"
                                          "\"metadata\":{\"source\":\"cli\",\"team\":\"netops\",\"priority\":\"high\","
                                          "\"tier\":3,\"a.b\":true}}", &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", bgp, sizeof bgp);
  convstore_free(out);
  CHECK(convstore_create_conversation(db, "{\"user\":\"bob\",\"title\":\"DNS\",\"created_at\":1770800000000002,"
                                          "\"metadata\":{\"source\":\"cli\",\"team\":\"dns\",\"priority\":\"low\","
                                          "\"tier\":1}}", &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", dns, sizeof dns);
  convstore_free(out);
  CHECK(convstore_create_conversation(db, "{\"user\":\"ana\",\"title\":\"Web\",\"created_at\":1770800000000003,"
                                          "\"metadata\":{\"source\":\"web\",\"team\":\"netops\",\"priority\":\"urgent\","
                                          "\"tags\":[\"x\",\"y\"]}}", &out, NULL) == CONVSTORE_OK);
  json_string(out, "id", web, sizeof web);
  convstore_free(out);
  CHECK(strlen(bgp) == 36 && strlen(dns) == 36 && strlen(web) == 36);
  CHECK(convstore_add_message(db, bgp, "{\"role\":\"user\",\"content\":\"x\",\"metadata\":{\"tool\":\"bash\"}}", NULL,
                              NULL) == CONVSTORE_OK);
  CHECK(convstore_add_message(db, dns, "{\"role\":\"user\",\"content\":\"y\",\"metadata\":{\"tool\":\"ssh\"}}", NULL,
                              NULL) == CONVSTORE_OK);
  CHECK(convstore_record_api_usage(db, "{\"user\":\"ana\",\"model\":\"acme\",\"metadata\":{\"route\":\"chat\"}}", NULL,
                                   NULL) == CONVSTORE_OK);

  /* containment AND a "where" condition */
  out = search(db, "{\"contains\":{\"source\":\"cli\"},\"where\":{\"priority\":{\"$in\":[\"high\",\"urgent\"]}}}", 0);
  CHECK(has_in_order(out, bgp, NULL) && strstr(out, dns) == NULL && strstr(out, web) == NULL);
  CHECK(out != NULL && strstr(out, "\"title\":\"BGP\"") != NULL && strstr(out, "\"target\":\"conversations\"") != NULL);
  CHECK(out != NULL && strstr(out, "\"next_cursor\":null") != NULL && strstr(out, "\"plan\":{\"strategy\":") != NULL);
  convstore_free(out);
  /* newest first */
  out = search(db, "{\"contains\":{\"team\":\"netops\"}}", 0);
  CHECK(has_in_order(out, web, bgp) && strstr(out, dns) == NULL);
  convstore_free(out);
  out = search(db, "{\"contains\":{\"tags\":[\"y\"]}}", 0);
  CHECK(has_in_order(out, web, NULL) && strstr(out, bgp) == NULL);
  convstore_free(out);
  /* operators, a JSON Pointer path for a key with a dot, and no filter at all */
  out = search(db, "{\"where\":{\"tier\":{\"$gte\":2}}}", 0);
  CHECK(has_in_order(out, bgp, NULL) && strstr(out, dns) == NULL && strstr(out, web) == NULL);
  convstore_free(out);
  out = search(db, "{\"where\":{\"/a.b\":true,\"tags\":{\"$exists\":false}}}", 0);
  CHECK(has_in_order(out, bgp, NULL) && strstr(out, dns) == NULL && strstr(out, web) == NULL);
  convstore_free(out);
  out = search(db, "{\"where\":{\"priority\":{\"$ne\":\"high\"}}}", 0);
  CHECK(has_in_order(out, web, dns) && strstr(out, bgp) == NULL);
  convstore_free(out);
  out = search(db, "{}", 0);
  CHECK(has_in_order(out, web, dns) && has_in_order(out, dns, bgp));
  convstore_free(out);
  /* ordinary filters */
  out = search(db, "{\"contains\":{\"source\":\"cli\"},\"user\":\"bob\"}", 0);
  CHECK(has_in_order(out, dns, NULL) && strstr(out, bgp) == NULL);
  convstore_free(out);
  out = search(db, "{\"contains\":{\"source\":\"cli\"},\"from\":1770800000000002,\"to\":\"2099-01-01T00:00:00Z\"}", 0);
  CHECK(has_in_order(out, dns, NULL) && strstr(out, bgp) == NULL);
  convstore_free(out);
  snprintf(query, sizeof query, "{\"conversation_id\":\"%s\",\"archived\":false}", dns);
  out = search(db, query, 0);
  CHECK(has_in_order(out, dns, NULL) && strstr(out, bgp) == NULL && strstr(out, web) == NULL);
  convstore_free(out);
  out = search(db, "{\"contains\":{\"source\":\"cli\"},\"from\":1770000000000000,\"to\":1770000000000000}", 0); /* an empty range */
  CHECK(out != NULL && strstr(out, "\"items\":[]") != NULL && strstr(out, "\"strategy\":\"empty\"") != NULL);
  convstore_free(out);
  /* an unknown user or conversation selects nothing: an empty page whose plan says why */
  out = search(db, "{\"contains\":{\"source\":\"cli\"},\"user\":\"nobody\"}", 0);
  CHECK(out != NULL && strstr(out, "\"items\":[]") != NULL && strstr(out, "user 'nobody' does not exist") != NULL);
  convstore_free(out);
  out = search(db, "{\"conversation_id\":\"01890000-0000-7000-8000-000000000000\"}", 0);
  CHECK(out != NULL && strstr(out, "\"items\":[]") != NULL);
  convstore_free(out);
  /* paging: one row per page, newest first, then the end */
  out = search(db, "{\"contains\":{\"team\":\"netops\"},\"limit\":1}", 0);
  CHECK(has_in_order(out, web, NULL) && strstr(out, bgp) == NULL);
  json_string(out ? out : "", "next_cursor", cursor, sizeof cursor);
  CHECK(cursor[0] != '\0');
  convstore_free(out);
  snprintf(query, sizeof query, "{\"contains\":{\"team\":\"netops\"},\"limit\":1,\"cursor\":\"%s\"}", cursor);
  out = search(db, query, 0);
  CHECK(has_in_order(out, bgp, NULL) && strstr(out, web) == NULL);
  json_string(out ? out : "", "next_cursor", cursor, sizeof cursor);
  convstore_free(out);
  if (cursor[0] != '\0') { /* a full page may be followed by an empty one */
    snprintf(query, sizeof query, "{\"contains\":{\"team\":\"netops\"},\"limit\":1,\"cursor\":\"%s\"}", cursor);
    out = search(db, query, 0);
    CHECK(out != NULL && strstr(out, "\"items\":[]") != NULL && strstr(out, "\"next_cursor\":null") != NULL);
    convstore_free(out);
  }
  /* the other targets */
  out = search(db, "{\"target\":\"messages\",\"contains\":{\"tool\":\"bash\"}}", 0);
  CHECK(out != NULL && strstr(out, "\"target\":\"messages\"") != NULL && strstr(out, "\"content\":\"x\"") != NULL);
  CHECK(has_in_order(out, bgp, NULL) && strstr(out, "ssh") == NULL);
  convstore_free(out);
  out = search(db, "{\"target\":\"api_usage\",\"contains\":{\"route\":\"chat\"},\"user\":\"ana\"}", 0);
  CHECK(out != NULL && strstr(out, "\"target\":\"api_usage\"") != NULL && strstr(out, "\"model\":\"acme\"") != NULL);
  convstore_free(out);

  /* explain: the plan alone */
  out = search(db, "{\"contains\":{\"source\":\"cli\"}}", 1);
  CHECK(out != NULL && strncmp(out, "{\"strategy\":\"", 13) == 0 && strstr(out, "\"postings\":[") != NULL);
  CHECK(out != NULL && strstr(out, "\"candidates\":") != NULL && strstr(out, "\"notes\":[") != NULL);
  CHECK(out != NULL && strstr(out, "\"items\"") == NULL);
  convstore_free(out);
  /* a store this small folds nothing into the posting lists: the plan says the unfolded rows were checked */
  out = search(db, "{\"contains\":{\"source\":\"cli\"}}", 0);
  CHECK(out != NULL && strstr(out, "\"strategy\":\"tail\"") != NULL && strstr(out, "checked directly") != NULL);
  CHECK(has_in_order(out, dns, NULL));
  convstore_free(out);
  out = search(db, "{\"where\":{\"tier\":{\"$gt\":0}}}", 1);
  CHECK(out != NULL && strstr(out, "\"strategy\":\"tail\"") != NULL && strstr(out, "no index path") != NULL);
  convstore_free(out);

  /* verify, excluded paths, rebuild */
  CHECK(convstore_verify_metadata_index(db, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"consistent\":true") != NULL && strstr(out, "\"documents\":6") != NULL);
  CHECK(out != NULL && strstr(out, "\"excluded_paths\":[]") != NULL);
  convstore_free(out);
  CHECK(convstore_set_metadata_excluded_paths(db, "[\"priority\",\"/a.b\"]", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"excluded_paths\":[\"/") != NULL && strstr(out, "\"/a.b\"") != NULL &&
        strstr(out, "\"/priority\"") != NULL);
  convstore_free(out);
  out = search(db, "{\"contains\":{\"source\":\"cli\"},\"where\":{\"priority\":{\"$in\":[\"high\",\"urgent\"]}}}", 0);
  CHECK(has_in_order(out, bgp, NULL) && strstr(out, dns) == NULL); /* still exact: checked per candidate */
  convstore_free(out);
  out = search(db, "{\"contains\":{\"priority\":\"urgent\",\"source\":\"web\"}}", 1);
  CHECK(out != NULL && strstr(out, "excluded") != NULL && strstr(out, "\"path\":\"/priority\"") == NULL);
  convstore_free(out);
  CHECK(convstore_verify_metadata_index(db, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"consistent\":true") != NULL && strstr(out, "\"/priority\"") != NULL);
  convstore_free(out);
  CHECK(convstore_rebuild_metadata_index(db, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"documents\":6") != NULL && strstr(out, "\"pending\":0") != NULL);
  CHECK(out != NULL && strstr(out, "\"consistent\":true") != NULL && strstr(out, "\"/priority\"") != NULL);
  convstore_free(out);
  out = search(db, "{\"contains\":{\"team\":\"netops\"}}", 1); /* folded by the rebuild: an index walk */
  CHECK(out != NULL && strstr(out, "\"strategy\":\"index\"") != NULL && strstr(out, "\"path\":\"/team\"") != NULL);
  CHECK(out != NULL && strstr(out, "\"matched\":2") != NULL);
  convstore_free(out);
  CHECK(convstore_set_metadata_excluded_paths(db, "[]", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"excluded_paths\":[]") != NULL);
  convstore_free(out);
  CHECK(convstore_verify_metadata_index(db, NULL, NULL) == CONVSTORE_OK); /* out_json may be NULL */
  CHECK(convstore_search_metadata(db, "{}", NULL, NULL) == CONVSTORE_OK);

  /* bad input: a code, a message, no output */
  out = bgp;
  EXPECT_CODE(convstore_search_metadata(db, "{\"where\":[1]}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  out = bgp;
  EXPECT_CODE(convstore_explain_metadata(db, "{\"limit\":0}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  out = bgp;
  EXPECT_CODE(convstore_set_metadata_excluded_paths(db, "\"priority\"", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  EXPECT_CODE(convstore_search_metadata(db, "{\"where\":{\"a\":{\"$foo\":1}}}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_search_metadata(db, "{\"target\":\"nope\"}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_search_metadata(db, "{\"colour\":\"red\"}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_search_metadata(db, NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_verify_metadata_index(NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_rebuild_metadata_index(NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_set_metadata_excluded_paths(db, "[1]", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_verify_metadata_index(db, &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"excluded_paths\":[]") != NULL && strstr(out, "\"consistent\":true") != NULL);
  convstore_free(out);
  /* after shutdown: CLOSED */
  EXPECT_CODE(convstore_shutdown(db, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_search_metadata(db, "{}", NULL, &err_), CONVSTORE_CLOSED);
  EXPECT_CODE(convstore_explain_metadata(db, "{}", NULL, &err_), CONVSTORE_CLOSED);
  EXPECT_CODE(convstore_verify_metadata_index(db, NULL, &err_), CONVSTORE_CLOSED);
  EXPECT_CODE(convstore_rebuild_metadata_index(db, NULL, &err_), CONVSTORE_CLOSED);
  EXPECT_CODE(convstore_set_metadata_excluded_paths(db, "[]", NULL, &err_), CONVSTORE_CLOSED);
  convstore_close(db);
}

/* The audit log: an application entry with the thread's context, reading, verifying, a signed checkpoint. */
static void audit_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  char* keys = NULL;
  char* checkpoint = NULL;
  char private_key[80], public_key[80], pseudonym[40];
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_upsert_user(db, "{\"key\":\"ana@example.com\"}", NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_set_audit_context(db, "{\"actor\":\"support\",\"ip_address\":\"192.0.2.7\"}", &err_),
              CONVSTORE_OK);
  EXPECT_CODE(convstore_log_event(db,
                                  "{\"action\":\"report.exported\",\"resource_type\":\"report\","
                                  "\"subject_user_key\":\"ana@example.com\",\"details\":{\"rows\":3}}",
                                  &out, &err_),
              CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"seq\":1,") != NULL && strstr(out, "\"actor\":\"support\"") != NULL);
  CHECK(out != NULL && strstr(out, "\"ip_address\":\"192.0.2.7\"") != NULL && strstr(out, "ana@") == NULL);
  json_string(out, "subject_user", pseudonym, sizeof pseudonym);
  CHECK(strlen(pseudonym) == 32);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_read_audit(db, "{\"user_key\":\"ana@example.com\"}", &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "report.exported") != NULL && strstr(out, "\"next_after_seq\":0") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_verify_audit(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"ok\":true") != NULL && strstr(out, "\"entries_checked\":1") != NULL);
  convstore_free(out);
  out = NULL;

  EXPECT_CODE(convstore_audit_keypair(&keys, &err_), CONVSTORE_OK);
  json_string(keys, "private_key", private_key, sizeof private_key);
  json_string(keys, "public_key", public_key, sizeof public_key);
  CHECK(strlen(private_key) == 64 && strlen(public_key) == 64);
  EXPECT_CODE(convstore_audit_checkpoint(db, private_key, &checkpoint, &err_), CONVSTORE_OK);
  CHECK(checkpoint != NULL && strstr(checkpoint, "convstore-audit-checkpoint/1") != NULL);
  EXPECT_CODE(convstore_verify_audit_checkpoint(db, checkpoint, public_key, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"ok\":true") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_verify_audit_checkpoint(db, checkpoint, private_key, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"ok\":false") != NULL); /* another key than the signer's */
  convstore_free(out);
  EXPECT_CODE(convstore_log_event(db, "{\"action\":\"bad action\"}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  convstore_free(checkpoint);
  convstore_free(keys);
  convstore_close(db);
}

/* Metrics: a batch and a point, then one hour's statistics. */
static void metrics_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_record_metrics(db,
                                       "[{\"type\":\"latency\",\"name\":\"api.ms\",\"value\":10,\"unit\":\"ms\","
                                       "\"at\":\"2026-12-01T10:15:00Z\"},{\"type\":\"latency\",\"name\":\"api.ms\","
                                       "\"value\":30,\"unit\":\"ms\",\"at\":\"2026-12-01T10:45:00Z\"}]",
                                       &out, &err_),
              CONVSTORE_OK);
  CHECK(out != NULL && strcmp(out, "{\"recorded\":2}") == 0);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_record_metric(db, "{\"type\":\"latency\",\"name\":\"api.ms\",\"value\":50,"
                                          "\"at\":\"2026-12-01T11:00:00Z\"}", &err_),
              CONVSTORE_OK);
  EXPECT_CODE(convstore_query_metrics(db, "{\"name\":\"api.ms\",\"from\":\"2026-12-01T00:00:00Z\","
                                          "\"to\":\"2026-12-02T00:00:00Z\",\"bucket\":\"hour\"}", &out, &err_),
              CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"points\":3") != NULL && strstr(out, "\"count\":2,\"sum\":40") != NULL);
  CHECK(out != NULL && strstr(out, "\"p50\":20") != NULL && strstr(out, "\"start\":\"2026-12-01T11:00:00") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_record_metric(db, "{\"type\":\"latency\",\"name\":\"api.ms\",\"value\":\"fast\"}", &err_),
              CONVSTORE_INVALID_ARGUMENT);
  convstore_close(db);
}

static void stats_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_record_metric(db, "{\"type\":\"t\",\"name\":\"n\",\"value\":1}", &err_), CONVSTORE_OK);
  /* Refused by the library (a name with a space), so counted; JSON the C layer cannot decode never reaches it. */
  EXPECT_CODE(convstore_record_metric(db, "{\"type\":\"t\",\"name\":\"a b\",\"value\":1}", &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_stats(db, NULL, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "{\"name\":\"record_metric\",\"calls\":2,\"errors\":1,\"rows\":0,") != NULL);
  CHECK(out != NULL && strstr(out, "\"cache_hits\":") != NULL && strstr(out, "\"wal_bytes\":0") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_reset_stats(db, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_stats(db, "{\"saved\":false}", &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "record_metric") == NULL && strstr(out, "\"name\":\"reset_stats\"") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_set_stats_enabled(db, 2, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_set_stats_enabled(db, 0, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_set_stats_enabled(db, 1, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_stats(db, "{\"saved\":\"no\"}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  convstore_close(db);
}

static void health_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_check_health(db, NULL, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strncmp(out, "{\"level\":\"ok\",", 14) == 0);
  CHECK(out != NULL && strstr(out, "{\"name\":\"wal_size\",\"level\":\"ok\",\"message\":\"in memory: no WAL\"") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_set_budget(db, "{\"name\":\"g\",\"scope\":\"global\",\"period\":\"day\","
                                       "\"hard_limit_usd\":10}", &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_record_api_usage(db, "{\"user\":\"u\",\"model\":\"m\",\"cost_usd\":9}", &out, &err_),
              CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_check_health(db, "{\"quick_check\":false,\"budget_warn_fraction\":0.95}", &out, &err_),
              CONVSTORE_OK);
  CHECK(out != NULL && strncmp(out, "{\"level\":\"ok\",", 14) == 0);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_check_health(db, "{\"quick_check\":false}", &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strncmp(out, "{\"level\":\"warn\",", 16) == 0 && strstr(out, "'g' 90%") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_check_health(db, "{\"wal_warn_bytes\":-1}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  convstore_close(db);
}

static void search_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"ana\",\"title\":\"BGP flaps\"}", &out, &err_),
              CONVSTORE_OK);
  char conv[64] = {0};
  const char* id = out ? strstr(out, "\"id\":\"") : NULL;
  CHECK(id != NULL);
  if (id) memcpy(conv, id + 6, 36);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"assistant\",\"content\":\"the hold timer expired\"}",
                                    &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_search_text(db, "{\"text\":\"hold timer\",\"user\":\"ana\",\"role\":\"assistant\"}",
                                    &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"snippet\":\"the [hold] [timer] expired\"") != NULL &&
        strstr(out, "\"unindexed\":0") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_search_text(db, "{\"text\":\"flaps\",\"target\":\"conversations\"}", &out, &err_),
              CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"message_id\":null") != NULL && strstr(out, "\"content\":\"BGP flaps\"") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_search_text(db, "{\"text\":\"hold AND\",\"syntax\":\"query\"}", &out, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  EXPECT_CODE(convstore_set_text_tokenizer(db, "trigram", &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"tokenizer\":\"trigram\"") != NULL && strstr(out, "\"rows_indexed\":2") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_verify_search_index(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"ok\":true") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_search_status(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"messages_indexed\":1") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_set_background_indexing(db, 0, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_set_background_indexing(db, 2, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_set_background_indexing(db, 1, &err_), CONVSTORE_OK);
  convstore_close(db);
  /* Opened with the background indexer off: a message waits in the tail until a catch-up (or a search). */
  CHECK(convstore_open(":memory:", "{\"background_indexing\":false}", &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"ana\"}", &out, &err_), CONVSTORE_OK);
  id = out ? strstr(out, "\"id\":\"") : NULL;
  CHECK(id != NULL);
  if (id) memcpy(conv, id + 6, 36);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"and the keepalive?\"}", &out, &err_),
              CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_search_status(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"messages_pending\":1") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_catch_up_search_index(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"rows_indexed\":2") != NULL && strstr(out, "\"messages_pending\":0") != NULL);
  convstore_free(out);
  out = NULL;
  convstore_close(db);
  EXPECT_CODE(convstore_open(":memory:", "{\"background_indexing\":0}", &db, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_open(":memory:", "{\"background_checkpoints\":\"yes\"}", &db, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  CHECK(convstore_open(":memory:", "{\"background_checkpoints\":false}", &db, NULL) == CONVSTORE_OK);
  convstore_close(db);
  EXPECT_CODE(convstore_open(":memory:", "{\"exclusive\":1}", &db, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_open(":memory:", "{\"exclusive\":true,\"read_only\":true}", &db, &err_),
              CONVSTORE_INVALID_ARGUMENT);
}

static void vector_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  char conv[64] = {0}, first[64] = {0}, second[64] = {0};
  const char* id;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"ana\"}", &out, &err_), CONVSTORE_OK);
  id = out ? strstr(out, "\"id\":\"") : NULL;
  CHECK(id != NULL);
  if (id) memcpy(conv, id + 6, 36);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"bgp flap\"}", &out, &err_),
              CONVSTORE_OK);
  id = out ? strstr(out, "\"id\":\"") : NULL;
  if (id) memcpy(first, id + 6, 36);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"invoice\"}", &out, &err_),
              CONVSTORE_OK);
  id = out ? strstr(out, "\"id\":\"") : NULL;
  if (id) memcpy(second, id + 6, 36);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_create_embedding_space(db, "{\"name\":\"e\",\"dimension\":3,\"metric\":\"l2\"}", &out,
                                               &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"metric\":\"l2\"") != NULL && strstr(out, "\"vectors\":0") != NULL);
  convstore_free(out);
  out = NULL;
  {
    char ids[192];
    const float vectors[6] = {1, 0, 0, 0, 1, 0};
    const float query[3] = {0.9f, 0.1f, 0};
    float* got = NULL;
    int64_t dim = 0;
    int deleted = 0;
    snprintf(ids, sizeof ids, "[\"%s\",\"%s\"]", first, second);
    EXPECT_CODE(convstore_put_embeddings(db, "e", ids, vectors, 3, &err_), CONVSTORE_OK);
    EXPECT_CODE(convstore_search_vectors(db, "{\"space\":\"e\",\"k\":1}", query, 3, &out, &err_), CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, first) != NULL && strstr(out, second) == NULL &&
          strstr(out, "\"plan\":\"exact\"") != NULL);
    convstore_free(out);
    out = NULL;
    EXPECT_CODE(convstore_search_hybrid(db, "{\"text\":{\"text\":\"invoice\"},\"space\":\"e\"}", query, 3, &out,
                                        &err_), CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, "\"snippet\":\"[invoice]\"") != NULL);
    convstore_free(out);
    out = NULL;
    EXPECT_CODE(convstore_get_embedding(db, "e", second, &got, &dim, &err_), CONVSTORE_OK);
    CHECK(got != NULL && dim == 3 && got[1] == 1.0f);
    convstore_free(got);
    /* An approximate index: built, reported, used by an unfiltered search unless it asks "exact", dropped. */
    EXPECT_CODE(convstore_create_vector_index(db, "e", "{\"m\":8,\"ef_search\":20}", &out, &err_), CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, "\"m\":8") != NULL && strstr(out, "\"vectors\":2") != NULL &&
          strstr(out, "\"recall_at_10\":null") != NULL);
    convstore_free(out);
    out = NULL;
    EXPECT_CODE(convstore_search_vectors(db, "{\"space\":\"e\",\"k\":1}", query, 3, &out, &err_), CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, first) != NULL && strstr(out, "\"plan\":\"hnsw\"") != NULL);
    convstore_free(out);
    out = NULL;
    EXPECT_CODE(convstore_search_vectors(db, "{\"space\":\"e\",\"k\":1,\"exact\":true}", query, 3, &out, &err_),
                CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, "\"plan\":\"exact\"") != NULL);
    convstore_free(out);
    out = NULL;
    EXPECT_CODE(convstore_list_embedding_spaces(db, &out, &err_), CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, "\"index\":{\"kind\":\"hnsw\",\"m\":8,") != NULL);
    convstore_free(out);
    out = NULL;
    EXPECT_CODE(convstore_create_vector_index(db, "e", "{\"m\":0}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
    CHECK(out == NULL);
    EXPECT_CODE(convstore_create_vector_index(db, "e", "{\"kind\":\"ivf\"}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
    EXPECT_CODE(convstore_create_vector_index(db, "none", NULL, &out, &err_), CONVSTORE_NOT_FOUND);
    EXPECT_CODE(convstore_drop_vector_index(db, "e", &deleted, &err_), CONVSTORE_OK);
    CHECK(deleted == 1);
    EXPECT_CODE(convstore_drop_vector_index(db, "e", &deleted, &err_), CONVSTORE_OK);
    CHECK(deleted == 0);
    EXPECT_CODE(convstore_delete_embedding(db, "e", second, &deleted, &err_), CONVSTORE_OK);
    CHECK(deleted == 1);
    EXPECT_CODE(convstore_get_embedding(db, "e", second, &got, &dim, &err_), CONVSTORE_OK);
    CHECK(got == NULL && dim == 0);
    EXPECT_CODE(convstore_search_vectors(db, "{\"space\":\"e\"}", query, 2, &out, &err_), CONVSTORE_INVALID_ARGUMENT);
    CHECK(out == NULL);
    EXPECT_CODE(convstore_set_vector_memory_budget(db, -1, &err_), CONVSTORE_INVALID_ARGUMENT);
    EXPECT_CODE(convstore_set_vector_memory_budget(db, 0, &err_), CONVSTORE_OK);
    EXPECT_CODE(convstore_search_vectors(db, "{\"space\":\"e\"}", query, 3, &out, &err_), CONVSTORE_OK);
    CHECK(out != NULL && strstr(out, "\"plan\":\"exact (streamed)\"") != NULL && strstr(out, first) != NULL);
    convstore_free(out);
    out = NULL;
  }
  EXPECT_CODE(convstore_list_embedding_spaces(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"vectors\":1") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_drop_embedding_space(db, "e", &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_drop_embedding_space(db, "e", &err_), CONVSTORE_NOT_FOUND);
  convstore_close(db);
}

static void cost_report_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_record_api_usage(db, "{\"user\":\"ana\",\"model\":\"m1\",\"cost_usd\":2,\"latency_us\":4000}",
                                         &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_record_api_usage(db, "{\"user\":\"bo\",\"model\":\"m2\",\"cost_usd\":1,\"latency_us\":2000}",
                                         &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_cost_report(db, "{\"days\":7,\"top\":1}", &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"models\":[\"m1\",\"m2\"]") != NULL);
  CHECK(out != NULL && strstr(out, "\"top_users\":[{\"keys\":{\"user\":\"ana\"}") != NULL);
  CHECK(out != NULL && strstr(out, "\"users_with_spend\":2") != NULL);
  CHECK(out != NULL && strstr(out, "\"total_cost_nanousd\":3000000000") != NULL);
  CHECK(out != NULL && strstr(out, "{\"model\":\"m1\",\"calls\":1,\"latency_count\":1,") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_cost_report(db, "{\"top\":0}", &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(out == NULL);
  EXPECT_CODE(convstore_cost_report(db, NULL, &out, &err_), CONVSTORE_INVALID_ARGUMENT);
  convstore_close(db);
}

static void retention_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_record_metric(db, "{\"type\":\"t\",\"name\":\"n\",\"value\":1,"
                                          "\"at\":\"2020-01-01T00:00:00Z\"}", &err_),
              CONVSTORE_OK);
  EXPECT_CODE(convstore_set_retention_policy(db, "{\"metrics_us\":86400000000,\"journal_us\":null}", &err_),
              CONVSTORE_OK);
  EXPECT_CODE(convstore_get_retention_policy(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"metrics_us\":86400000000") != NULL &&
        strstr(out, "\"audit_us\":null") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_apply_retention(db, "{\"batch_rows\":10}", NULL, NULL, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"metrics\":1") != NULL && strstr(out, "\"batches\":1") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_apply_retention(db, NULL, NULL, NULL, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"metrics\":0") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_start_retention(db, 3600000000, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_start_retention(db, 3600000000, &err_), CONVSTORE_CONFLICT);
  EXPECT_CODE(convstore_stop_retention(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"running\":false") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_retention_status(db, &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  convstore_close(db);
}

static void erase_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"gone@example.com\",\"title\":\"t\"}", &out, &err_),
              CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_erase_user(db, "gone@example.com", &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"conversations\":1") != NULL && strstr(out, "\"user_key\":\"erased:") != NULL &&
        strstr(out, "\"pending\":[]") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_list_erasures(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"finished_at\":\"") != NULL);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_finish_erasures(db, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strcmp(out, "{\"erasures\":[]}") == 0);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_erase_user(db, "gone@example.com", &out, &err_), CONVSTORE_NOT_FOUND);
  CHECK(out == NULL);
  convstore_close(db);
}

/* A growing buffer the export is written into and the import reads back. */
struct buffer {
  char* data;
  size_t size, read;
};

static int buffer_write(void* user_data, const char* data, size_t size) {
  struct buffer* b = (struct buffer*)user_data;
  char* grown = (char*)realloc(b->data, b->size + size);
  if (grown == NULL) return 1;
  memcpy(grown + b->size, data, size);
  b->data = grown;
  b->size += size;
  return 0;
}

static int64_t buffer_read(void* user_data, char* out, size_t capacity) {
  struct buffer* b = (struct buffer*)user_data;
  size_t n = b->size - b->read < capacity ? b->size - b->read : capacity;
  memcpy(out, b->data + b->read, n);
  b->read += n;
  return (int64_t)n;
}

static void export_import_flow(void) {
  convstore_t* db = NULL;
  char* out = NULL;
  char conv[64];
  struct buffer b = {NULL, 0, 0};
  CHECK(convstore_open(":memory:", NULL, &db, NULL) == CONVSTORE_OK);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"ana@example.com\",\"title\":\"t\"}", &out, &err_),
              CONVSTORE_OK);
  CHECK(out != NULL && sscanf(strstr(out, "\"id\":\"") + 6, "%36s", conv) == 1);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"hello\",\"cost_usd\":\"0.5\"}",
                                    &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_export_user(db, "ana@example.com", "{}", buffer_write, NULL, &b, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"messages\":1") != NULL && strstr(out, "\"cost_usd\":\"0.5\"") != NULL);
  CHECK(b.size > 0 && strncmp(b.data, "{\"type\":\"header\"", 16) == 0);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_erase_user(db, "ana@example.com", &out, &err_), CONVSTORE_OK);
  convstore_free(out);
  out = NULL;
  EXPECT_CODE(convstore_import_user(db, "{}", buffer_read, NULL, &b, &out, &err_), CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"restored_erased_user\":true") != NULL &&
        strstr(out, "\"cost_from_retained_usd\":\"0.5\"") != NULL);
  convstore_free(out);
  out = NULL;
  b.read = 0; /* the same export again: the user is there now */
  EXPECT_CODE(convstore_import_user(db, "{}", buffer_read, NULL, &b, &out, &err_), CONVSTORE_CONFLICT);
  CHECK(out == NULL);
  free(b.data);
  convstore_close(db);
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "c_api_test.db";
  convstore_t* db = NULL;
  char* out = NULL;
  char* err = NULL;
  char conv[64], msg[64], path_wal[512];
  int rc;

  atexit(close_at_exit);
  unlink(path);
  snprintf(path_wal, sizeof path_wal, "%s-wal", path);
  unlink(path_wal);

  CHECK(strcmp(convstore_version(), CONVSTORE_VERSION_STRING) == 0);
  CHECK(convstore_abi_version() == CONVSTORE_ABI_VERSION);
  CHECK(convstore_version_number() == CONVSTORE_VERSION_NUMBER);
  CHECK(CONVSTORE_VERSION_NUMBER == CONVSTORE_VERSION_MAJOR * 1000000 + CONVSTORE_VERSION_MINOR * 1000 +
                                        CONVSTORE_VERSION_PATCH);
  CHECK(strcmp(convstore_code_name(CONVSTORE_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(convstore_code_name(1234), "unknown") == 0);
  convstore_close(NULL); /* no-op */
  convstore_free(NULL);

  /* open: bad options, then good */
  EXPECT_CODE(convstore_open(path, "{\"durability\":\"maybe\"}", &db, &err_), CONVSTORE_INVALID_ARGUMENT);
  CHECK(db == NULL);
  EXPECT_CODE(convstore_open(NULL, NULL, &db, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_open(path, NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  rc = convstore_open(path, "{\"durability\":\"normal\",\"busy_timeout_ms\":2000}", &db, &err);
  CHECK(rc == CONVSTORE_OK && db != NULL && err == NULL);
  if (db == NULL) {
    fprintf(stderr, "open failed: %s\n", err ? err : "?");
    return 1;
  }
  CHECK(convstore_schema_version(db) == 14);
  {
    /* an exclusive open while this handle has the file: refused, the file left as it is */
    convstore_t* alone = NULL;
    EXPECT_CODE(convstore_open(path, "{\"exclusive\":true,\"busy_timeout_ms\":100}", &alone, &err_),
                CONVSTORE_BUSY);
    CHECK(alone == NULL);
  }

  /* the chapter's V1 flow */
  rc = convstore_create_conversation(
      db, "{\"user\":\"engineer@company.com\",\"title\":\"BGP Route Analysis\","
          "\"metadata\":{\"source\":\"cli\",\"version\":\"1.0\"}}", &out, &err);
  CHECK(rc == CONVSTORE_OK);
  json_string(out, "id", conv, sizeof conv);
  CHECK(strlen(conv) == 36);
  convstore_free(out);

  rc = convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"Analyze this BGP config\"}", NULL, &err);
  CHECK(rc == CONVSTORE_OK && err == NULL);
  rc = convstore_add_message(db, conv,
                             "{\"role\":\"assistant\",\"content\":\"I found 3 issues\",\"model\":\"claude-sonnet-4-5\","
                             "\"tokens_input\":1250,\"tokens_output\":890,\"cost_usd\":\"0.015\",\"request_id\":\"r-1\"}",
                             &out, &err);
  CHECK(rc == CONVSTORE_OK);
  CHECK(strstr(out, "\"cost_usd\":\"0.015\"") != NULL);
  CHECK(strstr(out, "\"cost_nanousd\":15000000") != NULL);
  json_string(out, "id", msg, sizeof msg);
  convstore_free(out);
  /* retry with the same request_id: same message, nothing counted twice */
  rc = convstore_add_message(db, conv,
                             "{\"role\":\"assistant\",\"content\":\"I found 3 issues\",\"cost_usd\":\"0.015\","
                             "\"request_id\":\"r-1\"}", &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, msg) != NULL);
  convstore_free(out);
  CHECK(message_count(db, conv) == 2);
  time_rules(db, conv);
  context_windows(db);
  scalar_appends(db);
  tool_call_lifecycle(db);
  history_edits(db);

  rc = convstore_get_conversation(db, conv, &out, &err);
  CHECK(rc == CONVSTORE_OK);
  CHECK(strstr(out, "\"message_count\":2") != NULL);
  CHECK(strstr(out, "\"title\":\"BGP Route Analysis\"") != NULL);
  CHECK(strstr(out, "\"total_cost_usd\":\"0.015\"") != NULL);
  convstore_free(out);

  rc = convstore_list_conversations(db, "{\"user\":\"engineer@company.com\",\"limit\":5}", &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, conv) != NULL && strstr(out, "\"next_cursor\":null") != NULL);
  convstore_free(out);

  rc = convstore_add_messages(db, conv,
                              "[{\"role\":\"user\",\"content\":\"a\",\"tokens_input\":3},"
                              "{\"role\":\"assistant\",\"content\":\"b\",\"tokens_output\":4}]", &out, &err);
  CHECK(rc == CONVSTORE_OK && out[0] == '[');
  convstore_free(out);
  CHECK(message_count(db, conv) == 4);

  rc = convstore_get_context(db, conv, 7, &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, "\"content\":\"a\"") != NULL && strstr(out, "issues") == NULL);
  convstore_free(out);

  rc = convstore_add_tool_call(db, msg, "{\"tool_name\":\"show_bgp\",\"input\":{\"device\":\"r1\"},\"duration_us\":5}",
                               &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, "\"tool_name\":\"show_bgp\"") != NULL);
  convstore_free(out);
  rc = convstore_list_tool_calls(db, msg, &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, "show_bgp") != NULL);
  convstore_free(out);

  rc = convstore_upsert_team(db, "{\"key\":\"netops\",\"monthly_budget_usd\":\"250.50\"}", &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, "\"monthly_budget_nanousd\":250500000000") != NULL);
  convstore_free(out);
  rc = convstore_upsert_user(db, "{\"key\":\"engineer@company.com\",\"team\":\"netops\",\"name\":\"Eng\"}", &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, "\"team\":\"netops\"") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_get_user(db, "engineer@company.com", NULL, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_get_team(db, "netops", NULL, &err_), CONVSTORE_OK);

  rc = convstore_update_conversation(db, conv, "{\"title\":\"renamed\"}", &out, &err);
  CHECK(rc == CONVSTORE_OK && strstr(out, "renamed") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_set_archived(db, conv, 1, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_set_archived(db, conv, 0, &err_), CONVSTORE_OK);

  /* bad input: a code, a message, nothing written */
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"robot\",\"content\":\"x\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"tokens_input\":-1}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"cost_usd\":\"NaN\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"cost_usd\":Infinity}", NULL,
                                    &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"x\",\"metadata\":{", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, conv, "{\"role\":\"user\",\"content\":\"\xff\xfe\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, "01890000-0000-7000-8000-000000000000", "{\"role\":\"user\",\"content\":\"x\"}",
                                    NULL, &err_), CONVSTORE_NOT_FOUND);
  EXPECT_CODE(convstore_add_message(db, "", "{\"role\":\"user\",\"content\":\"x\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(db, conv, NULL, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_message(NULL, conv, "{}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_add_messages(db, conv, "[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"bad\",\"content\":\"x\"}]",
                                     NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"\"}", NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"u\",\"temperature\":\"hot\"}", NULL, &err_),
              CONVSTORE_INVALID_ARGUMENT);
  /* listing an unknown user's conversations: an empty page, not an error */
  CHECK(convstore_list_conversations(db, "{\"user\":\"nobody\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strcmp(out, "{\"items\":[],\"next_cursor\":null}") == 0);
  convstore_free(out);
  CHECK(convstore_cost_summary(db, "{\"user\":\"nobody\"}", &out, NULL) == CONVSTORE_OK);
  CHECK(out != NULL && strstr(out, "\"total_cost_nanousd\":0") != NULL);
  convstore_free(out);
  EXPECT_CODE(convstore_set_archived(db, conv, 7, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_get_context(db, conv, -5, NULL, &err_), CONVSTORE_INVALID_ARGUMENT);
  EXPECT_CODE(convstore_upsert_user(db, "{\"key\":\"x\",\"team\":\"missing\"}", NULL, &err_), CONVSTORE_NOT_FOUND);
  CHECK(message_count(db, conv) == 4);

  /* a NULL errmsg is allowed */
  CHECK(convstore_get_conversation(db, "", NULL, NULL) == CONVSTORE_INVALID_ARGUMENT);

  /* delete cascades; then shutdown: every call reports CLOSED; close frees */
  EXPECT_CODE(convstore_delete_conversation(db, conv, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_get_conversation(db, conv, NULL, &err_), CONVSTORE_NOT_FOUND);
  EXPECT_CODE(convstore_list_tool_calls(db, msg, NULL, &err_), CONVSTORE_NOT_FOUND);
  EXPECT_CODE(convstore_shutdown(db, &err_), CONVSTORE_OK);
  EXPECT_CODE(convstore_shutdown(db, &err_), CONVSTORE_OK);
  CHECK(convstore_schema_version(db) == -1);
  EXPECT_CODE(convstore_create_conversation(db, "{\"user\":\"u\"}", NULL, &err_), CONVSTORE_CLOSED);
  EXPECT_CODE(convstore_get_conversation(db, conv, NULL, &err_), CONVSTORE_CLOSED);
  convstore_close(db);

  /* reopen: the data is on disk */
  rc = convstore_open(path, NULL, &db, &err);
  CHECK(rc == CONVSTORE_OK);
  EXPECT_CODE(convstore_get_user(db, "engineer@company.com", NULL, &err_), CONVSTORE_OK);
  convstore_close(db);

  cost_flow();
  metadata_flow();
  options_flow();
  log_flow();
  audit_flow();
  metrics_flow();
  stats_flow();
  health_flow();
  search_flow();
  vector_flow();
  cost_report_flow();
  retention_flow();
  erase_flow();
  export_import_flow();

  CHECK(convstore_open(":memory:", NULL, &closed_at_exit, NULL) == CONVSTORE_OK);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
