/*
 * convstore.h — the C ABI of convstore: durable AI-agent conversation storage in one local SQLite file.
 *
 * Conventions
 *   - Every fallible function returns an int code (CONVSTORE_OK == 0 on success) and takes `char** errmsg` last.
 *     On failure, if errmsg is not NULL, *errmsg receives a malloc'd UTF-8 message the caller frees with
 *     convstore_free(); on success *errmsg is set to NULL. No C++ exception ever crosses this boundary.
 *   - Records cross as UTF-8 JSON text. Output JSON (`char** out_json`) is malloc'd and freed with convstore_free();
 *     passing NULL for out_json skips producing it.
 *   - Time is int64 microseconds since the Unix epoch, UTC. JSON records carry both "created_at" (ISO-8601 text)
 *     and "created_at_us" (integer). Inputs accept either an ISO-8601 string with an offset or integer µs.
 *   - Money is exact: "cost_nanousd" (integer nano-USD) and "cost_usd" (decimal string, e.g. "0.015"). Inputs
 *     accept "cost_nanousd" (integer) or "cost_usd" (a decimal string or a JSON number, rounded to the nano-USD).
 *   - Unknown fields in input JSON are refused (CONVSTORE_INVALID_ARGUMENT), so typos do not go unnoticed.
 *   - Bad input is refused with a code and a message, and nothing is written.
 *
 * Thread-safety: a convstore_t may be used from any number of threads at once. convstore_close() must not race
 * with other calls on the same handle; convstore_shutdown() may (it waits for calls in progress).
 * Ownership: the handle is owned by the caller from convstore_open() until convstore_close().
 */
#ifndef CONVSTORE_C_H_
#define CONVSTORE_C_H_

#include <stddef.h>
#include <stdint.h>

#include "convstore/version.h"

#if defined(_WIN32)
#  if defined(CONVSTORE_BUILDING)
#    define CONVSTORE_API __declspec(dllexport)
#  else
#    define CONVSTORE_API __declspec(dllimport)
#  endif
#else
#  define CONVSTORE_API __attribute__((visibility("default")))
#endif

/* Marks a function kept only for compatibility until the next ABI version. */
#if defined(__GNUC__) || defined(__clang__)
#  define CONVSTORE_DEPRECATED(why) __attribute__((deprecated(why)))
#else
#  define CONVSTORE_DEPRECATED(why)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. Values never change. */
#define CONVSTORE_OK 0
#define CONVSTORE_INVALID_ARGUMENT 1 /* bad input; nothing was written */
#define CONVSTORE_NOT_FOUND 2        /* unknown id or key */
#define CONVSTORE_CONFLICT 3         /* e.g. request_id already used in another conversation */
#define CONVSTORE_BUSY 4             /* the database stayed locked past the busy timeout */
#define CONVSTORE_IO_ERROR 5         /* the OS refused an operation, or the disk is full */
#define CONVSTORE_CORRUPTION 6       /* not a healthy convstore database */
#define CONVSTORE_CLOSED 7           /* the store was shut down */
#define CONVSTORE_SCHEMA_TOO_NEW 8   /* the file was written by a newer convstore */
#define CONVSTORE_TOO_LARGE 9        /* a value beyond a documented limit */
#define CONVSTORE_INTERNAL 10        /* a bug or out of memory */
#define CONVSTORE_BUDGET_EXCEEDED 11 /* a reservation would exceed a hard budget: nothing written */
#define CONVSTORE_READ_ONLY 12       /* a write to a store opened read-only, or to a file that is not writable */
#define CONVSTORE_UNAVAILABLE 13     /* a server convstore works with (PostgreSQL) cannot be reached now: retry */

typedef struct convstore_t convstore_t;

/* ---- library ---------------------------------------------------------------------------------------- */

/* "0.1.0": the version of the loaded library (compare with CONVSTORE_VERSION_STRING of the header). */
CONVSTORE_API const char* convstore_version(void);
/* CONVSTORE_VERSION_NUMBER of the loaded library. */
CONVSTORE_API int convstore_version_number(void);
/* CONVSTORE_ABI_VERSION of the loaded library. */
CONVSTORE_API int convstore_abi_version(void);
/* Stable lowercase name of a result code ("not_found"); "unknown" for other values. Never NULL, never freed. */
CONVSTORE_API const char* convstore_code_name(int code);
/* Times: inputs take integer microseconds since 1970-01-01 UTC or ISO-8601 text with an offset. Integers outside
 * [10^14, 253402300799999999] (1973-03-03T09:46:40Z .. 9999-12-31T23:59:59.999999Z) are refused as
 * CONVSTORE_INVALID_ARGUMENT: below, they are probably seconds or milliseconds (int(time.time()) is 1.7e9); above,
 * nanoseconds. Text without an offset is refused (a local time is ambiguous).
 * Parses ISO-8601 text into *out_us under those rules. */
CONVSTORE_API int convstore_parse_time(const char* text, int64_t* out_us, char** errmsg);
/* Frees a string returned by this library. NULL is a no-op. */
CONVSTORE_API void convstore_free(void* p);

/* Log levels passed to a convstore_log_fn. */
#define CONVSTORE_LOG_TRACE 0
#define CONVSTORE_LOG_DEBUG 1
#define CONVSTORE_LOG_INFO 2
#define CONVSTORE_LOG_WARN 3
#define CONVSTORE_LOG_ERROR 4

/* Receives one log line: its CONVSTORE_LOG_* level and its text (UTF-8, no newline, valid only during the call).
 * Called from whichever thread logs, with no library lock held: it may run on several threads at once, so it must
 * be thread-safe, and should return promptly. A line logged while the same thread is inside fn (fn called
 * convstore) goes to standard error instead. */
typedef void (*convstore_log_fn)(void* user_data, int level, const char* message);
/* Sends every store's log lines (process-wide) to `fn` instead of standard error; NULL restores standard error.
 * Which lines are logged is set per store by the "log_level" option (default "warn"). Thread-safe. A call already
 * under way may finish on the previous handler after this returns. */
CONVSTORE_API void convstore_set_log_handler(convstore_log_fn fn, void* user_data);

/* ---- open / close ------------------------------------------------------------------------------------ */

/* Opens or creates the store at `path` (":memory:" for a private in-memory store). Options with callbacks (budget
 * alerts, progress): convstore_open_with_options below. `options_json` may be NULL or
 * an object with any of: "durability": "normal"|"full", "busy_timeout_ms": int, "reader_pool_size": int,
 * "log_level": "trace"|"debug"|"info"|"warn"|"error"|"off", "slow_operation_ms": int, "create_if_missing": bool,
 * "quick_check_on_open": bool (PRAGMA quick_check at open; a damaged file is CONVSTORE_CORRUPTION),
 * "read_only": bool (never write the file; writes fail with CONVSTORE_READ_ONLY),
 * "backup_before_migration": bool (default true: before a migration that rewrites data, a verified backup
 * "<name>.before-schema-<version>-<UTC time>.db"; if it cannot be taken the open fails, nothing migrated),
 * "migration_backup_directory": str (an existing directory for it; default the store's directory).
 * While another process migrates the file, the open waits for it (the progress callback hears who and since when).
 * On success *out receives the handle. */
CONVSTORE_API int convstore_open(const char* path, const char* options_json, convstore_t** out, char** errmsg);
/* Closes the database files but keeps the handle: every later call returns CONVSTORE_CLOSED. Waits for calls in
 * progress. A second shutdown is a no-op returning CONVSTORE_OK. */
CONVSTORE_API int convstore_shutdown(convstore_t* db, char** errmsg);
/* Shuts down (if needed) and frees the handle. NULL is a no-op. The handle must not be used afterwards. */
CONVSTORE_API void convstore_close(convstore_t* db);
/* The schema version of the open file, or -1 for a NULL or shut-down handle. */
CONVSTORE_API int convstore_schema_version(convstore_t* db);

/* ---- options with callbacks ------------------------------------------------------------------------- */

/* Options for convstore_open_with_options: the settings of options_json plus callbacks. Create, set, open (as many
 * stores as you like: the handle is copied at open), destroy. Not thread-safe: set it from one thread. */
typedef struct convstore_options_t convstore_options_t;

/* Called after a write commits that took a budget across a limit, on the writing thread, with
 * {"budget", "limit": "soft"|"hard", "spent_usd", "spent_nanousd", "limit_amount_usd", ...}; alert_json is valid
 * only during the call. Must not call convstore_close on the same handle. */
typedef void (*convstore_budget_alert_fn)(void* user_data, const char* alert_json);
/* Called as a long operation advances (opening a file whose migration backfills, rebuilding the metadata index):
 * at its start, then after each batch of rows. `operation` (valid only during the call) names it, e.g.
 * "rebuild metadata index". Runs inside the operation's write transaction: it must not call the store. */
typedef void (*convstore_progress_fn)(void* user_data, const char* operation, int64_t done, int64_t total);

/* A handle with every option at its default; NULL only when out of memory. */
CONVSTORE_API convstore_options_t* convstore_options_create(void);
/* Frees the handle. NULL is a no-op. Stores opened with it are not affected. */
CONVSTORE_API void convstore_options_destroy(convstore_options_t* options);
/* Replaces the handle's settings with those of options_json (the object convstore_open takes): a setting it does not
 * name takes its default, so NULL or "{}" restores every default. Checked now: on an error nothing changes.
 * Callbacks set on the handle stay. */
CONVSTORE_API int convstore_options_set_json(convstore_options_t* options, const char* options_json, char** errmsg);
/* Sets (or with NULL clears) the budget-alert callback. user_data is passed through unchanged. */
CONVSTORE_API void convstore_options_set_budget_alert(convstore_options_t* options, convstore_budget_alert_fn fn,
                                                      void* user_data);
/* Sets (or with NULL clears) the progress callback. user_data is passed through unchanged. */
CONVSTORE_API void convstore_options_set_progress(convstore_options_t* options, convstore_progress_fn fn,
                                                  void* user_data);
/* Opens as convstore_open does, with every option and callback of `options` (NULL: the defaults). */
CONVSTORE_API int convstore_open_with_options(const char* path, const convstore_options_t* options,
                                              convstore_t** out, char** errmsg);

/* Deprecated (kept until the next ABI version): convstore_open_with_options with an options handle holding
 * options_json and this budget-alert callback. */
CONVSTORE_API CONVSTORE_DEPRECATED("use convstore_open_with_options") int convstore_open_with_alerts(
    const char* path, const char* options_json,
    convstore_budget_alert_fn on_alert, void* user_data, convstore_t** out, char** errmsg);

/* ---- teams and users --------------------------------------------------------------------------------- */

/* team_json: {"key": str, "name"?: str, "monthly_budget_usd"?: decimal | "monthly_budget_nanousd"?: int}.
 * Creates the team or updates the fields given. *out_json: the team. */
CONVSTORE_API int convstore_upsert_team(convstore_t* db, const char* team_json, char** out_json, char** errmsg);
CONVSTORE_API int convstore_get_team(convstore_t* db, const char* key, char** out_json, char** errmsg);
/* user_json: {"key": str, "email"?, "name"?, "team"?: team key ("" clears), "role"?, "active"?: bool}. */
CONVSTORE_API int convstore_upsert_user(convstore_t* db, const char* user_json, char** out_json, char** errmsg);
CONVSTORE_API int convstore_get_user(convstore_t* db, const char* key, char** out_json, char** errmsg);

/* ---- conversations ----------------------------------------------------------------------------------- */

/* conversation_json: {"user": str, "title"?, "model"?, "system_prompt"?, "temperature"?: number,
 * "max_tokens"?: int, "metadata"?: object, "created_at"?, "external_id"?: str}. A user that does not exist yet is
 * created. "external_id" (the caller's own id, e.g. an agent framework's session id) is unique in the file: when a
 * conversation of the same user has it, that conversation is returned unchanged (get-or-create); another user's
 * is CONVSTORE_CONFLICT. *out_json: the conversation record (with "id"). */
CONVSTORE_API int convstore_create_conversation(convstore_t* db, const char* conversation_json, char** out_json,
                                                char** errmsg);
/* {"conversation": {...}, "messages": [...], "message_count": n}: all messages fetched by one query, conversation
 * and messages from one snapshot. */
CONVSTORE_API int convstore_get_conversation(convstore_t* db, const char* conversation_id, char** out_json,
                                             char** errmsg);
/* The conversation record alone, with its counters. */
CONVSTORE_API int convstore_get_conversation_info(convstore_t* db, const char* conversation_id, char** out_json,
                                                  char** errmsg);
/* patch_json: {"title"?: str, "metadata"?: object (replaces the document)}. *out_json: the updated record. */
CONVSTORE_API int convstore_update_conversation(convstore_t* db, const char* conversation_id,
                                                const char* patch_json, char** out_json, char** errmsg);
/* archived: 0 or 1. */
CONVSTORE_API int convstore_set_archived(convstore_t* db, const char* conversation_id, int archived, char** errmsg);
/* Deletes the conversation, its messages and their tool calls. */
CONVSTORE_API int convstore_delete_conversation(convstore_t* db, const char* conversation_id, char** errmsg);
/* query_json: {"user": str, "limit"?: 1..1000 (20), "include_archived"?: bool, "cursor"?: str}.
 * *out_json: {"items": [conversation...], "next_cursor": str|null}, most recently updated first. */
CONVSTORE_API int convstore_list_conversations(convstore_t* db, const char* query_json, char** out_json,
                                               char** errmsg);

/* ---- messages ---------------------------------------------------------------------------------------- */

/* message_json: {"role": "user"|"assistant"|"system"|"developer"|"tool", "content": str, "model"?,
 * "model_version"?, "tokens_input"?, "tokens_output"?, "tokens_cached_input"?, "tokens_reasoning"?: int >= 0,
 * "cost_usd"?: decimal string or number | "cost_nanousd"?: int, "latency_us"?: int,
 * "metadata"?: object, "request_id"?: str, "created_at"?, "tool_call_id"?: str (tool messages: the call answered;
 * a pending one is finished by it), "raw"?: any JSON (the caller's item, returned as given), "tool_calls"?: [call
 * objects as convstore_add_tool_call takes, recorded with the message]}. The same request_id again returns the
 * stored message and counts nothing twice; a deleted message's request_id is CONVSTORE_CONFLICT.
 * *out_json: the message, with "tool_calls": the calls recorded. */
CONVSTORE_API int convstore_add_message(convstore_t* db, const char* conversation_id, const char* message_json,
                                        char** out_json, char** errmsg);
/* messages_json: an array of message objects, stored all or nothing. *out_json: the array of messages. */
CONVSTORE_API int convstore_add_messages(convstore_t* db, const char* conversation_id, const char* messages_json,
                                         char** out_json, char** errmsg);
/* The common message with scalar arguments and no JSON either way: convstore_add_message for a message made of a
 * role, its content and, optionally, a model, token counts, a cost and a latency — the same checks, the same single
 * transaction, the same stored message. Anything more (metadata, request_id, tool calls, a tool_call_id, raw,
 * created_at, the other token counts) takes convstore_add_message.
 * role: "user", "assistant", "system", "developer" (stored as "system") or "tool". content: content_len bytes of
 * UTF-8, or NUL-terminated when content_len is -1. model: NULL or "" for none. tokens_input, tokens_output,
 * cost_nanousd, latency_us: CONVSTORE_UNSET for none (with no cost, a message with a model and tokens is priced
 * from the catalog, as convstore_add_message prices it); any other value is checked as the JSON field would be.
 * Out, each may be NULL, written on success only: out_id (CONVSTORE_ID_SIZE bytes: the new message's id and a
 * NUL), *out_position, *out_cost_nanousd and *out_price_id (CONVSTORE_UNSET when the message has none),
 * *out_created_at_us. */
#define CONVSTORE_UNSET INT64_MIN
#define CONVSTORE_ID_SIZE 37
CONVSTORE_API int convstore_append_message(convstore_t* db, const char* conversation_id, const char* role,
                                           const char* content, int64_t content_len, const char* model,
                                           int64_t tokens_input, int64_t tokens_output, int64_t cost_nanousd,
                                           int64_t latency_us, char* out_id, int64_t* out_position,
                                           int64_t* out_cost_nanousd, int64_t* out_price_id,
                                           int64_t* out_created_at_us, char** errmsg);
/* convstore_append_message for `count` messages (1..10000), stored all or nothing in one transaction: message i is
 * roles[i], contents[i] of content_lens[i] bytes (-1, or content_lens NULL: NUL-terminated), models[i] (models
 * NULL, or a NULL element: none), tokens_input[i], tokens_output[i], cost_nanousd[i], latency_us[i] (an array
 * NULL: unset for every message; an element CONVSTORE_UNSET: unset for that one). Out arrays of `count` elements,
 * each may be NULL, written on success only: out_ids (count * CONVSTORE_ID_SIZE bytes, each id NUL-terminated in
 * its slot), out_positions, out_cost_nanousd, out_price_ids, out_created_at_us. */
CONVSTORE_API int convstore_append_messages(convstore_t* db, const char* conversation_id, int64_t count,
                                            const char* const* roles, const char* const* contents,
                                            const int64_t* content_lens, const char* const* models,
                                            const int64_t* tokens_input, const int64_t* tokens_output,
                                            const int64_t* cost_nanousd, const int64_t* latency_us, char* out_ids,
                                            int64_t* out_positions, int64_t* out_cost_nanousd,
                                            int64_t* out_price_ids, int64_t* out_created_at_us, char** errmsg);
/* A context window, oldest first (*out_json: array of messages): the conversation's system prompt (as a message
 * with role "system", id "" and position -1) and its system messages, then the newest messages that fit in what is
 * left of max_tokens. A message and the tool messages after it (a tool call's results) are kept or dropped
 * together; the first such unit that does not fit stops the walk. Counting: tokens_output for assistant messages,
 * tokens_input for the others, ceil(UTF-8 bytes / 4) when unset (docs/c-api.md#context-windows). */
CONVSTORE_API int convstore_get_context(convstore_t* db, const char* conversation_id, int64_t max_tokens,
                                        char** out_json, char** errmsg);
/* The same with options_json: {"max_tokens": int >= 0, "include_system"?: bool (true), "overflow"?: "stop" |
 * "skip" ("stop"; "skip" leaves a unit that does not fit out and keeps looking at older ones), "counting"?:
 * "stored" | "estimate" ("stored"; "estimate" counts every message as ceil(UTF-8 bytes / 4))}. */
CONVSTORE_API int convstore_get_context_with_options(convstore_t* db, const char* conversation_id,
                                                     const char* options_json, char** out_json, char** errmsg);
/* The items of a conversation, oldest first: each message's "raw" item as it was given, or {"role", "content"}
 * for a message stored without one (what an agent framework's session reads back). count: the newest `count`
 * (1..1000), or 0 for all. *out_json: array. */
CONVSTORE_API int convstore_get_items(convstore_t* db, const char* conversation_id, int64_t count, char** out_json,
                                      char** errmsg);
/* Agent frameworks (docs/python.md, "Session-style history"). items_json: a JSON array of OpenAI Agents SDK items
 * (Responses API input items), appended as messages all or nothing: each item is kept whole as the message's
 * "raw" and understood (a message's role and text; a function_call as a pending tool call with its call_id; a
 * function_call_output as a tool message finishing that call; reasoning as assistant text). usage_json (NULL for
 * none): {"model"?, "input_tokens"?, "output_tokens"?, "cached_input_tokens"?, "reasoning_tokens"?}, recorded on
 * the first assistant item. *added: how many messages (may be NULL). */
CONVSTORE_API int convstore_add_agent_items(convstore_t* db, const char* conversation_id, const char* items_json,
                                            const char* usage_json, int64_t* added, char** errmsg);
/* options_json: {"source": path, "format": "agents-sdk" | "aidatabase-v1", "user"?: str}. Imports another tool's
 * history file, opened read-only and left untouched: each source conversation in one transaction, one already
 * imported (its external id exists) skipped. *out_json: {"conversations", "messages", "skipped_conversations",
 * "skipped_rows"}. */
CONVSTORE_API int convstore_import_history(convstore_t* db, const char* options_json, char** out_json,
                                           char** errmsg);
/* Removing history: each in one transaction with the counters and the metadata index. Money spent stays spent: a
 * deleted message leaves a tombstone (time, model, role, tokens, cost, request_id; no content) that cost summaries
 * and budgets go on counting. Positions are not reused. */
/* Deletes one message. *out_json: the message as it was. */
CONVSTORE_API int convstore_delete_message(convstore_t* db, const char* message_id, char** out_json, char** errmsg);
/* Deletes the newest message. *out_json: that message, or null when the conversation has none. */
CONVSTORE_API int convstore_pop_message(convstore_t* db, const char* conversation_id, char** out_json,
                                        char** errmsg);
/* Deletes every message of the conversation (which stays). *deleted: how many (may be NULL). */
CONVSTORE_API int convstore_clear_messages(convstore_t* db, const char* conversation_id, int64_t* deleted,
                                           char** errmsg);
/* edit_json: {"content"?: str, "metadata"?: object (replaces the document), "raw"?: any JSON (null removes it)};
 * at least one. Tokens, cost and time are not edited. *out_json: the message. */
CONVSTORE_API int convstore_edit_message(convstore_t* db, const char* message_id, const char* edit_json,
                                         char** out_json, char** errmsg);
/* The newest `count` (1..1000) messages, oldest first. *out_json: array. */
CONVSTORE_API int convstore_get_last_messages(convstore_t* db, const char* conversation_id, int64_t count,
                                              char** out_json, char** errmsg);

/* ---- tool calls -------------------------------------------------------------------------------------- */

/* call_json: {"tool_name": str, "input"?: any JSON, "output"?: any JSON, "duration_us"?: int,
 * "status"?: "pending"|"success"|"error" ("success"), "error_message"?: str, "created_at"?, "call_id"?: str (the
 * provider's id of the call, unique in the conversation; a tool message's "tool_call_id" may name it)}. */
CONVSTORE_API int convstore_add_tool_call(convstore_t* db, const char* message_id, const char* call_json,
                                          char** out_json, char** errmsg);
/* *out_json: array of the message's tool calls in insertion order. */
CONVSTORE_API int convstore_list_tool_calls(convstore_t* db, const char* message_id, char** out_json,
                                            char** errmsg);
/* update_json: {"status": "success" | "error", "output"?: any JSON value, "error_message"?: str,
 * "duration_us"?: int}. Finishes a pending tool call (by its convstore id); a finished call is final: a second
 * update is CONVSTORE_CONFLICT unless it repeats the first exactly. *out_json: the tool call. */
CONVSTORE_API int convstore_update_tool_call(convstore_t* db, const char* tool_call_id, const char* update_json,
                                             char** out_json, char** errmsg);

/* ---- cost accounting (docs/c-api.md#costs) ------------------------------------------------------------
 * Money crosses as "<name>_usd" (decimal string, exact) and "<name>_nanousd" (integer); inputs take either.
 * Prices are per million tokens. Times are ISO-8601 text or integer microseconds. */

/* price_json: {"model": str, "pattern"?: bool (GLOB pattern), "effective_from"?: time (epoch),
 * "input_per_mtok_usd" | "_nanousd", "output_per_mtok_usd" | "_nanousd", "cached_input_per_mtok_usd"?,
 * "cache_write_per_mtok_usd"?, "reasoning_per_mtok_usd"?, "source_date"?: str, "note"?: str}.
 * Adds a user price (or replaces the one with the same model, pattern and effective_from). *out_json: the price. */
CONVSTORE_API int convstore_add_price(convstore_t* db, const char* price_json, char** out_json, char** errmsg);
/* *out_json: array of every price, catalog and user. */
CONVSTORE_API int convstore_list_prices(convstore_t* db, char** out_json, char** errmsg);
/* The price in effect for `model` at `at_us`; CONVSTORE_NOT_FOUND when none applies. */
CONVSTORE_API int convstore_resolve_price(convstore_t* db, const char* model, int64_t at_us, char** out_json,
                                          char** errmsg);
/* range_json: {"from": time, "to": time}. Recomputes catalog-priced costs in the range; counters and rollups
 * follow in the same transaction. *out_json: {"messages_repriced", "usage_repriced", "cost_delta_usd", ...}. */
CONVSTORE_API int convstore_reprice(convstore_t* db, const char* range_json, char** out_json, char** errmsg);

/* usage_json: {"user": str, "team"?: str ("" none; default the user's team), "conversation_id"?, "model": str,
 * "endpoint"?, "tokens_input"?, "tokens_output"?, "tokens_cached_input"?, "tokens_cache_write"?,
 * "tokens_reasoning"?, "cost_usd"? | "cost_nanousd"?, "latency_us"?, "status"?: "success"|"error",
 * "error_code"?, "error_message"?, "metadata"?: object, "request_id"?, "recorded_at"?}. *out_json: the record. */
CONVSTORE_API int convstore_record_api_usage(convstore_t* db, const char* usage_json, char** out_json,
                                             char** errmsg);

/* filter_json: {"days"?: 1..3660 (7) | "from"?: time, "to"?: time, "user"?, "team"?, "model"?,
 * "conversation_id"?, "source"?: "all"|"message"|"api" ("all": what budgets count), "utc_offset_minutes"?: -1440..1440}.
 * *out_json: {"daily_breakdown": [{"date", "message_count", "total_input_tokens", "total_output_tokens",
 * "total_cost_usd", "total_cost_nanousd"}] (newest first), "total_cost_usd", "total_cost_nanousd",
 * "total_messages", "avg_cost_per_message_usd", ..., "from", "to", "plan"}. */
CONVSTORE_API int convstore_cost_summary(convstore_t* db, const char* filter_json, char** out_json, char** errmsg);
/* query_json: a filter plus "group_by": 1..4 of "day", "week", "month", "user", "team", "model", "role",
 * "endpoint", "status", "source". *out_json: {"group_by", "groups": [{"keys": {...}, "count", "errors",
 * "tokens_*", "cost_usd", "cost_nanousd", "latency_count", "latency_sum_us"}], "plan"}. */
CONVSTORE_API int convstore_group_costs(convstore_t* db, const char* query_json, char** out_json, char** errmsg);
/* Per user x model: *out_json: [{"user", "model", "calls", "errors", "tokens_input", "tokens_output", "cost_usd",
 * "avg_latency_us", "p50_latency_us", "p95_latency_us", "p99_latency_us", ...}]. */
CONVSTORE_API int convstore_usage_stats(convstore_t* db, const char* filter_json, char** out_json, char** errmsg);
/* Month-to-date spend of a team against its monthly budget, with projections; lookback_days 1..366. */
CONVSTORE_API int convstore_team_spend(convstore_t* db, const char* team_key, int lookback_days, char** out_json,
                                       char** errmsg);
/* Everything a cost report shows, from one snapshot (docs/costs.md, "Cost report"). options_json: a filter plus
 * "top"? (1..1000, default 10) and "lookback_days"? (1..366, default 30). *out_json: {"generated_at",
 * "generated_at_us", "summary" (as convstore_cost_summary), "daily_by_model" (as convstore_group_costs by day and
 * model), "models" (largest total first), "top_users", "top_teams" (groups as convstore_group_costs', largest cost
 * first), "users_with_spend", "teams_with_spend", "team_budgets" (as convstore_team_spend, every team with a monthly
 * budget or spend this month), "latency_by_model": [{"model", "calls", "latency_count", "avg_latency_us",
 * "p50_latency_us", "p95_latency_us", "p99_latency_us"}]}. */
CONVSTORE_API int convstore_cost_report(convstore_t* db, const char* options_json, char** out_json, char** errmsg);
/* Recompute the rollups from the raw rows: verify reports, rebuild also repairs. *out_json: {"raw_rows",
 * "rollup_rows", "total_rows", "differences", "samples": [str], "repaired"}. */
CONVSTORE_API int convstore_verify_rollups(convstore_t* db, char** out_json, char** errmsg);
CONVSTORE_API int convstore_rebuild_rollups(convstore_t* db, char** out_json, char** errmsg);

/* budget_json: {"name": str, "scope": "global"|"team"|"user", "scope_key"?: str, "period": "day"|"week"|"month"|
 * "rolling", "window_hours"?: int (rolling), "hard_limit_usd"? | "_nanousd", "soft_limit_usd"? | "_nanousd"}.
 * Creates or updates by name. *out_json: the budget's state (spent, reserved, window, used_fraction, ...). */
CONVSTORE_API int convstore_set_budget(convstore_t* db, const char* budget_json, char** out_json, char** errmsg);
CONVSTORE_API int convstore_delete_budget(convstore_t* db, const char* name, char** errmsg);
/* Budgets whose used fraction is >= min_used_fraction (0: all). *out_json: array of budget states. */
CONVSTORE_API int convstore_get_budgets(convstore_t* db, double min_used_fraction, char** out_json, char** errmsg);
/* request_json: {"request_id": str, "user": str, "estimated_cost_usd" | "estimated_cost_nanousd", "ttl_us"?}.
 * Admits the call (a reservation) or refuses it with CONVSTORE_BUDGET_EXCEEDED, atomically. Retries with the same
 * request_id return the first reservation. *out_json: {"request_id", "state", "amount_usd", "expires_at", ...}. */
CONVSTORE_API int convstore_reserve(convstore_t* db, const char* request_json, char** out_json, char** errmsg);
/* Records the actual usage (usage_json as for convstore_record_api_usage; "user" optional) and closes the
 * reservation. Idempotent. *out_json: the API usage record; when the call took or left hard budgets past their
 * limit (hard limits cap reservations, not what a call costs) it holds "budget_overages":
 * [{"budget", "limit_usd", "spent_usd", "overage_usd", ...}] and the alert callback hears a "hard" alert. */
CONVSTORE_API int convstore_settle(convstore_t* db, const char* request_id, const char* usage_json, char** out_json,
                                   char** errmsg);
/* Closes an open reservation without usage. *out_json: the reservation. */
CONVSTORE_API int convstore_release(convstore_t* db, const char* request_id, char** out_json, char** errmsg);

/* ---- metadata search (docs/metadata.md) ----
 * query_json: {"target": "conversations" | "messages" | "api_usage" (default conversations),
 *   "contains": any JSON (jsonb @> semantics), "where": {path: condition}, "user", "conversation_id",
 *   "from", "to" (ISO-8601 or µs), "archived": bool, "limit" (1..1000, default 10), "cursor", "scan_limit"}.
 * A condition is a value ($eq) or {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte"|"$in"|"$exists": value, ...}; a path is
 * "a.b" or a JSON Pointer "/a.b/c". *out_json: {"target", "items": [records, newest first], "next_cursor": str|null,
 * "plan": {"strategy", "postings": [{"path", "value", "count", "role"}], "candidates", "probe_rejected", "verified",
 * "matched", "unindexed_checked", "scan_truncated", "notes": [str]}}. */
CONVSTORE_API int convstore_search_metadata(convstore_t* db, const char* query_json, char** out_json, char** errmsg);
/* Runs the query; *out_json: its plan only. */
CONVSTORE_API int convstore_explain_metadata(convstore_t* db, const char* query_json, char** out_json, char** errmsg);
/* Recomputes the postings from the documents and compares (read-only). *out_json: {"documents", "indexed",
 * "unindexed", "pending", "postings", "terms", "missing", "extra", "wrong_counts", "consistent", "excluded_paths"}. */
CONVSTORE_API int convstore_verify_metadata_index(convstore_t* db, char** out_json, char** errmsg);
/* Drops and rebuilds the index in one transaction. *out_json: as for verify (sizes; no comparison). */
CONVSTORE_API int convstore_rebuild_metadata_index(convstore_t* db, char** out_json, char** errmsg);
/* paths_json: JSON array of paths to leave out of the index ([] indexes everything); rebuilds. *out_json: as for
 * rebuild. */
CONVSTORE_API int convstore_set_metadata_excluded_paths(convstore_t* db, const char* paths_json, char** out_json,
                                                        char** errmsg);

/* ---- the change journal (convstore/ops.h; docs/operations.md) ----
 * Every committed transaction's row changes, in the store's file, with a sequence number (commit order across
 * threads and processes) and the commit time (never before the previous entry's). */
/* query_json (NULL for the defaults): {"after_seq"?: int (0), "since"?: time, "until"?: time, "limit"?: 1..10000
 * (100), "decode"?: bool (true)}. *out_json: [{"seq", "committed_at", "committed_at_us", "kind": "changes" |
 * "foreign_write" | "journal_off" | "journal_on" | "schema_migration" | "restored" | "erasure", "schema_version", "bytes",
 * "changes": [{"table", "op": "insert" | "update" | "delete", "key": {col: value}, "old": {col: value} | null,
 * "new": {col: value} | null}]}] in sequence order. Values: numbers, strings, null, {"$blob": hex}. */
CONVSTORE_API int convstore_read_journal(convstore_t* db, const char* query_json, char** out_json, char** errmsg);
/* *out_json: {"enabled", "entries", "first_seq", "last_seq", "oldest_at", "newest_at" (µs or null), "bytes",
 * "markers", "last_marker_seq", "retention": {"max_age_us", "max_bytes"}, "consumers": [{"name", "seq",
 * "updated_at"}]}. */
CONVSTORE_API int convstore_journal_status(convstore_t* db, char** out_json, char** errmsg);
/* enabled: 0 or 1. Kept in the file for every process; each switch leaves a marker entry. */
CONVSTORE_API int convstore_set_journal_enabled(convstore_t* db, int enabled, char** errmsg);
/* The entries of query_json (as convstore_read_journal; "{}": the first 100) in words: [{"seq", "committed_at",
 * "committed_at_us", "kind", "lines": [str]}], e.g. "deleted conversation <id> \"BGP\" (12 messages)". */
CONVSTORE_API int convstore_describe_journal(convstore_t* db, const char* query_json, char** out_json,
                                             char** errmsg);
/* A store file's facts without opening it as a store (nothing migrated or written): {"path", "schema_version",
 * "library_schema_version", "pending_migrations": [{"version", "name", "rewrites_data"}], "migration_in_progress"
 * ("" or who is migrating it now), "file_bytes",
 * "wal_bytes", "page_size", "page_count", "freelist_pages", "row_counts": {table: n}, "cost_usd",
 * "cost_nanousd", "journal": journal status | null}. */
CONVSTORE_API int convstore_inspect_store(const char* path, char** out_json, char** errmsg);
/* A store file checked as a backup is (integrity, schema, rollups, metadata index; writers go on): {"ok",
 * "schema_version", "problems": [str]}; problems are a result, not an error. */
CONVSTORE_API int convstore_check_store(const char* path, char** out_json, char** errmsg);
/* retention_json: {"max_age_us"?: int > 0 | null, "max_bytes"?: int > 0 | null}. */
CONVSTORE_API int convstore_set_journal_retention(convstore_t* db, const char* retention_json, char** errmsg);
/* Removes entries beyond the retention, never one a consumer has not read nor the newest. *out_json: {"removed",
 * "bytes_removed", "first_seq"}. */
CONVSTORE_API int convstore_prune_journal(convstore_t* db, char** out_json, char** errmsg);
/* A reader that must not miss entries records its position (0..last seq); retention keeps what follows it. */
CONVSTORE_API int convstore_set_journal_consumer(convstore_t* db, const char* name, int64_t seq, char** errmsg);
CONVSTORE_API int convstore_remove_journal_consumer(convstore_t* db, const char* name, char** errmsg);

/* ---- backups (docs/operations.md) ----
 * A manifest: {"format", "schema_version", "journal_seq", "created_at", "created_at_us", "duration_us", "bytes",
 * "sha256", "database_sha256", "encrypted", "row_counts": {table: n}, "cost_usd", "cost_nanousd",
 * "convstore_version"}. progress (may be NULL) hears (user_data, phase, done, total) in bytes, on the calling
 * thread. */
/* options_json: {"path": str (must not exist), "encryption_key"?: 64 hex characters (AES-256-GCM)}. A consistent
 * copy while writers go on, with "<path>.manifest.json" beside it, both 0600. *out_json: {"path",
 * "manifest_path", "manifest"}. */
CONVSTORE_API int convstore_backup(convstore_t* db, const char* options_json, convstore_progress_fn progress,
                                   void* user_data, char** out_json, char** errmsg);
/* The backups in a directory, oldest first: [{"path", "present", "manifest"}] ("present": false for a manifest
 * whose backup is missing). */
CONVSTORE_API int convstore_list_backups(const char* directory, char** out_json, char** errmsg);
/* Removes the directory's backups taken more than keep_s seconds ago, never the newest: {"removed"}. */
CONVSTORE_API int convstore_prune_backups(const char* directory, int64_t keep_s, char** out_json, char** errmsg);
/* Checks a backup without trusting it (encryption_key: NULL for none). *out_json: {"ok", "problems": [str],
 * "manifest"}; a damaged backup is ok=false, not an error. */
CONVSTORE_API int convstore_verify_backup(const char* backup_path, const char* encryption_key, char** out_json,
                                          char** errmsg);
/* Verifies the backup, then replaces (or creates) the store at target_path atomically; CONVSTORE_BUSY while any
 * process has it open, CONVSTORE_CORRUPTION for a backup that does not verify. *out_json: {"path", "duration_us",
 * "manifest"}. */
CONVSTORE_API int convstore_restore_backup(const char* backup_path, const char* target_path,
                                           const char* encryption_key, convstore_progress_fn progress,
                                           void* user_data, char** out_json, char** errmsg);

/* ---- the archive and point-in-time restore (docs/operations.md) ----
 * options_json: {"directory": str, "encryption_key"?: 64 hex characters, "interval_ms"?: int (1..3600000,
 * default 1000), "base_backup_interval_s"?: int (default 86400), "keep_s"?: int | null (retention; default
 * none)}. A report: {"generation", "new_generation", "base_backup_taken", "entries_shipped", "segments_written",
 * "bytes_written", "files_removed", "archived_seq", "archived_at", "archived_at_us"}. */
/* One archiving round on the calling thread. CONVSTORE_BUSY when another process archives into the directory. */
CONVSTORE_API int convstore_archive_now(convstore_t* db, const char* options_json, char** out_json, char** errmsg);
/* Archives on a background thread of this store every interval_ms until convstore_stop_archiving or close;
 * CONVSTORE_CONFLICT when already archiving. */
CONVSTORE_API int convstore_start_archiving(convstore_t* db, const char* options_json, char** errmsg);
/* Ships what is left, stops the thread; *out_json: the totals (a report). CONVSTORE_NOT_FOUND when not archiving. */
CONVSTORE_API int convstore_stop_archiving(convstore_t* db, char** out_json, char** errmsg);
/* *out_json: {"running", "directory", "rounds", "failed_rounds", "last_error", "totals": report}. */
CONVSTORE_API int convstore_archiving_status(convstore_t* db, char** out_json, char** errmsg);
/* *out_json: {"directory", "encrypted", "created_at", "created_at_us", "generations": [{"id", "path",
 * "created_at", "created_at_us", "base_backups": [{"path", "created_at", "created_at_us", "journal_seq",
 * "journal_committed_at", "journal_committed_at_us", "schema_version", "bytes"}], "segments", "segment_bytes",
 * "first_seq", "last_seq", "last_committed_at", "last_committed_at_us", "problems": [str]}]}. */
CONVSTORE_API int convstore_list_archive(const char* directory, char** out_json, char** errmsg);
/* An archive's retention on demand: keeps every instant of the last keep_s seconds restorable: {"removed"};
 * CONVSTORE_BUSY while an archiver holds the directory. */
CONVSTORE_API int convstore_prune_archive(const char* directory, int64_t keep_s, char** out_json, char** errmsg);
/* Rebuilds the store at target_path as of a past commit. options_json: {"to_time"?: ISO-8601 text or integer
 * µs (the last commit at or before it), "to_seq"?: int (exactly one of the two), "generation"?: str,
 * "encryption_key"?: str}. *out_json: {"path", "generation", "base_backup", "base_seq", "seq", "committed_at",
 * "committed_at_us", "entries_replayed", "changes_replayed", "archive_last_seq", "archive_last_at",
 * "archive_last_at_us", "duration_us"}. */
CONVSTORE_API int convstore_restore_to_point(const char* archive_directory, const char* target_path,
                                             const char* options_json, convstore_progress_fn progress,
                                             void* user_data, char** out_json, char** errmsg);

/* ---- the sync into PostgreSQL (docs/sync.md) ----
 * options_json: {"postgres": str (a libpq connection string or URI; put passwords in ~/.pgpass or PGPASSWORD),
 * "schema"?: str (default "public"), "interval_ms"?: int (1..3600000, default 250), "batch_entries"?: int
 * (1..100000, default 1000), "label"?: str (default "<host>:<path>")}. A report: {"store_id", "loaded",
 * "load_reason", "rows_loaded", "entries_applied", "changes_applied", "dead_letters", "position",
 * "position_committed_at", "position_committed_at_us", "pending_entries", "lag_us"}. */
/* One round on the calling thread: creates or checks the tables, loads the store when PostgreSQL lacks its history,
 * applies every journal entry committed so far. CONVSTORE_UNAVAILABLE when PostgreSQL cannot be reached,
 * CONVSTORE_INVALID_ARGUMENT for a bad connection string or a refused login, CONVSTORE_SCHEMA_TOO_NEW for newer
 * tables, CONVSTORE_CONFLICT for tables convstore did not create or a journal that is off, CONVSTORE_BUSY when
 * another process syncs this store into the same database. */
CONVSTORE_API int convstore_sync_to_postgres(convstore_t* db, const char* options_json, char** out_json,
                                             char** errmsg);
/* Syncs on a background thread of this store every interval_ms (backing off up to 30 s after failures) until
 * convstore_stop_sync or close; CONVSTORE_CONFLICT when already syncing. */
CONVSTORE_API int convstore_start_sync(convstore_t* db, const char* options_json, char** errmsg);
/* Syncs what is left, stops the thread; *out_json: the totals (a report). CONVSTORE_NOT_FOUND when not syncing. */
CONVSTORE_API int convstore_stop_sync(convstore_t* db, char** out_json, char** errmsg);
/* *out_json: {"running", "postgres", "rounds", "failed_rounds", "consecutive_failures", "last_error",
 * "last_success_at", "last_success_at_us", "totals": report}. */
CONVSTORE_API int convstore_sync_status(convstore_t* db, char** out_json, char** errmsg);

/* ---- global budgets (docs/sync.md, "One budget across many hosts") ----
 * options_json: {"postgres": str, "schema"?: str ("public"), "when_unreachable"?: "refuse" (default) |
 * "local_allowance", "local_allowance_usd"? | "local_allowance_nanousd"?}. From then on this handle's
 * convstore_reserve also admits against the global budgets covering the call, atomically in PostgreSQL
 * (CONVSTORE_BUDGET_EXCEEDED naming the budget; CONVSTORE_UNAVAILABLE when PostgreSQL cannot be reached and the
 * policy refuses), and settle / release record there. */
CONVSTORE_API int convstore_use_global_budgets(convstore_t* db, const char* options_json, char** errmsg);
/* budget_json as for convstore_set_budget; scope keys are the keys every store uses. */
CONVSTORE_API int convstore_set_global_budget(convstore_t* db, const char* budget_json, char** errmsg);
CONVSTORE_API int convstore_delete_global_budget(convstore_t* db, const char* name, char** errmsg);
/* *out_json: [{"name", "scope", "scope_key", "period", "window_hours", "hard_limit_usd", ..., "window_from",
 * "window_to", "settled_usd", "settled_nanousd", "reserved_usd", "reserved_nanousd"}]. */
CONVSTORE_API int convstore_global_budgets(convstore_t* db, char** out_json, char** errmsg);

/* ---- the audit log (docs/audit.md) ----
 * An entry: {"seq", "at", "at_us", "actor", "actor_user", "subject_user" (pseudonymous ids, "" for none),
 * "action", "resource_type", "resource_id", "details": object, "personal": object or null, "ip_address",
 * "user_agent", "personal_erased": bool, "hash", "prev_hash" (64 hex digits)}. convstore writes entries itself for
 * destructive and administrative operations, in the transaction of the change. */
/* Who the calling thread acts as on this handle: {"actor"?: str (a role or service, not a person's key),
 * "actor_user_key"?: str (a user of the store, recorded by pseudonymous id), "ip_address"?: str (IPv4/IPv6),
 * "user_agent"?: str}; "{}" clears it. CONVSTORE_NOT_FOUND for an unknown user. */
CONVSTORE_API int convstore_set_audit_context(convstore_t* db, const char* context_json, char** errmsg);
/* Appends an application's entry: {"action": str (1-128 of letters, digits, . _ : / -), "resource_type"?,
 * "resource_id"?, "actor"?, "actor_user_key"?, "subject_user_key"?, "details"?: object, "personal"?: object
 * (details naming a person: an erase removes them), "ip_address"?, "user_agent"?}; *out_json: the entry. */
CONVSTORE_API int convstore_log_event(convstore_t* db, const char* event_json, char** out_json, char** errmsg);
/* query_json: {"after_seq"?, "since"?, "until"? (ISO-8601 or µs), "action"?, "resource_type"?, "resource_id"?,
 * "actor"?, "user_key"? | "pseudonym"? (entries by or about the person), "limit"? (1..10000, default 100)};
 * *out_json: {"entries": [entry], "next_after_seq"} (0: no more), oldest first. */
CONVSTORE_API int convstore_read_audit(convstore_t* db, const char* query_json, char** out_json, char** errmsg);
/* Recomputes the chain; *out_json: {"ok", "entries_checked", "first_seq", "last_seq", "head_hash",
 * "first_bad_seq", "problem", "personal_erased"} (a damaged chain is ok: false, not an error). */
CONVSTORE_API int convstore_verify_audit(convstore_t* db, char** out_json, char** errmsg);
/* Signs the head with an Ed25519 private key (64 hex digits); *out_json: the checkpoint document
 * {"format": "convstore-audit-checkpoint/1", "log_id", "seq", "hash", "at", "at_us", "public_key", "signature"}
 * to keep apart from the store. CONVSTORE_NOT_FOUND for an empty log. */
CONVSTORE_API int convstore_audit_checkpoint(convstore_t* db, const char* private_key_hex, char** out_json,
                                             char** errmsg);
/* Checks the store against a saved checkpoint and the public key you trust; *out_json as convstore_verify_audit,
 * with ok: false and the problem for a bad signature, another log, a rewritten chain or a cut-off tail. */
CONVSTORE_API int convstore_verify_audit_checkpoint(convstore_t* db, const char* checkpoint_json,
                                                    const char* public_key_hex, char** out_json, char** errmsg);
/* A new Ed25519 key pair: *out_json {"private_key", "public_key"} (64 hex digits each). */
CONVSTORE_API int convstore_audit_keypair(char** out_json, char** errmsg);

/* ---- maintenance (docs/operations.md, "Maintenance") ----
 * Updates the planner's statistics, gives free pages back to the file system (incremental vacuum), checkpoints and
 * empties the WAL; options_json {"vacuum"?: bool} also rewrites the whole file first (VACUUM: converts an older file
 * to incremental auto-vacuum; writers wait meanwhile), reporting progress. *out_json: {"bytes_before",
 * "bytes_after", "free_pages_before", "free_pages_after", "pages_released", "vacuumed", "auto_vacuum",
 * "wal_frames_checkpointed", "wal_truncated", "duration_us"}. CONVSTORE_INVALID_ARGUMENT for an in-memory store. */
CONVSTORE_API int convstore_optimize(convstore_t* db, const char* options_json, convstore_progress_fn progress,
                                     void* user_data, char** out_json, char** errmsg);

/* ---- metrics (docs/monitoring.md) ----
 * A point: {"type": str, "name": str (1-128 of letters, digits, . _ : / -), "value": number (finite), "unit"?: str
 * (<= 32 bytes), "labels"?: a flat object of strings, numbers and booleans (<= 32 keys, 4 KiB), "at"?: time
 * (default now)}. */
CONVSTORE_API int convstore_record_metric(convstore_t* db, const char* point_json, char** errmsg);
/* points_json: an array of up to 100,000 points, one transaction (all or nothing); *out_json: {"recorded": n}. */
CONVSTORE_API int convstore_record_metrics(convstore_t* db, const char* points_json, char** out_json, char** errmsg);
/* query_json: {"name": str, "type"?: str, "from": time, "to": time ([from, to), at most 3,660 days), "labels"?:
 * object (points holding every member), "bucket"?: "none" (default: one bucket) | "minute" | "hour" | "day"};
 * *out_json: {"name", "unit", "points", "buckets": [{"start", "start_us", "count", "sum", "min", "max", "avg",
 * "p50", "p95", "p99"}]} in time order, buckets without points left out. */
CONVSTORE_API int convstore_query_metrics(convstore_t* db, const char* query_json, char** out_json, char** errmsg);

/* ---- statistics (docs/monitoring.md, "Statistics") ----
 * options_json: {"saved"?: bool} or NULL; saved (default true) adds the counters handles closed earlier saved in the
 * file to this handle's. *out_json: {"since", "since_us", "operations": [{"name", "calls", "errors", "rows",
 * "total_us", "mean_us", "min_us", "max_us", "stddev_us"}] (largest total first), "cache_hits", "cache_misses",
 * "cache_writes", "wal_bytes", "checkpoints"}. Operation names are the C++ methods' in snake_case
 * ("add_message", "get_conversation": mostly the C function's name without its prefix). */
CONVSTORE_API int convstore_stats(convstore_t* db, const char* options_json, char** out_json, char** errmsg);
/* Zeroes this handle's counters and the saved ones (a read-only store: its own only). */
CONVSTORE_API int convstore_reset_stats(convstore_t* db, char** errmsg);
/* enabled: 1 counts this handle's operations (the default), 0 stops counting them; anything else is refused. */
CONVSTORE_API int convstore_set_stats_enabled(convstore_t* db, int enabled, char** errmsg);

/* ---- health (docs/monitoring.md, "Health") ----
 * options_json: NULL or {"quick_check"?: bool (default true: reads every page), and thresholds by name:
 * "wal_warn_bytes", "wal_fail_bytes", "free_pages_warn_fraction", "journal_lag_warn_entries",
 * "journal_lag_fail_entries", "archive_lag_warn_us", "archive_lag_fail_us", "sync_lag_warn_us", "sync_lag_fail_us",
 * "disk_free_warn_bytes", "disk_free_fail_bytes", "budget_warn_fraction"}; each >= 0, a warn never past its fail.
 * *out_json: {"level": "ok"|"warn"|"fail" (the worst check), "checked_at", "checked_at_us", "checks": [{"name",
 * "level", "message", "value", "unit", "warn_at", "fail_at" (numbers or null)}]} with the checks quick_check,
 * wal_size, free_pages, journal_lag, archive_lag, sync_lag, disk_free, budgets, erasures in that order. A store in
 * trouble is a successful call reporting "fail"; an error return means the checks could not be made. */
CONVSTORE_API int convstore_check_health(convstore_t* db, const char* options_json, char** out_json, char** errmsg);

/* ---- full-text search (docs/search.md) ----
 * query_json: {"text": str (1 byte..4 KiB), "syntax"?: "plain" (default: any text, every word must appear) |
 *   "query" (FTS5 syntax: "phrases", prefix*, AND/OR/NOT, NEAR(...); malformed: CONVSTORE_INVALID_ARGUMENT),
 *   "target"?: "messages" (default) | "conversations" (titles), filters "user", "team", "conversation_id",
 *   "role" (messages), "model", "from", "to" (created_at; ISO-8601 or µs), "metadata_contains" (any JSON),
 *   "metadata_where" ({path: condition}, as convstore_search_metadata's "where"), "limit" (1..1000, default 10),
 *   "snippet_tokens" (1..64, default 16), "highlight_start" / "highlight_end" (default "[" / "]"), "ellipsis"
 *   (default "…"), "wait_for_index" (default true: a read-write handle indexes what is pending first)}.
 * *out_json: {"hits": [{"message_id" (null for a conversation), "conversation_id", "conversation_title", "user",
 *   "role" (null for a conversation), "model", "content", "snippet", "score" (bm25, higher is better), "created_at",
 *   "created_at_us"}], best first, "unindexed": rows not yet searchable}. Filters apply before the limit; an unknown
 *   user, team or conversation matches nothing. */
CONVSTORE_API int convstore_search_text(convstore_t* db, const char* query_json, char** out_json, char** errmsg);
/* *out_json: {"tokenizer": "words"|"trigram"|"none", "messages_indexed", "messages_pending",
 * "conversations_indexed", "conversations_pending", "purge_pending": bool, "index_bytes"}. */
CONVSTORE_API int convstore_search_status(convstore_t* db, char** out_json, char** errmsg);
/* The index's administration; each *out_json: {"status": {as convstore_search_status}, "rows_indexed",
 * "purge_steps", "ok": bool, "problems": [str]}. catch_up indexes every pending row now; purge merges the index
 * until no removed text is left in it; rebuild empties and refills it from the rows; verify compares it with the
 * rows (a read-write handle); set_text_tokenizer ("words", "trigram" or "none") chooses the tokenizer and rebuilds. */
CONVSTORE_API int convstore_catch_up_search_index(convstore_t* db, char** out_json, char** errmsg);
CONVSTORE_API int convstore_purge_search_index(convstore_t* db, char** out_json, char** errmsg);
CONVSTORE_API int convstore_rebuild_search_index(convstore_t* db, char** out_json, char** errmsg);
CONVSTORE_API int convstore_verify_search_index(convstore_t* db, char** out_json, char** errmsg);
CONVSTORE_API int convstore_set_text_tokenizer(convstore_t* db, const char* tokenizer, char** out_json,
                                               char** errmsg);
/* This handle's background indexer on (1, the default) or off (0): off, searches index what is pending before they
 * run and catch_up / purge do it on demand (docs/search.md). */
CONVSTORE_API int convstore_set_background_indexing(convstore_t* db, int enabled, char** errmsg);

/* ---- vector search (docs/search.md, "Vectors") ----
 * Embeddings the caller computed, in named spaces of a fixed dimension; vectors cross as arrays of float (host
 * order, row-major), records as JSON. spec_json: {"name": 1..64 bytes of [A-Za-z0-9_.-], "target"?: "messages"
 * (default) | "conversations", "dimension": 1..4096, "metric"?: "cosine" (default) | "dot" | "l2",
 * "quantization"?: "none" (default) | "int8"}. A space's record: {"name", "target", "dimension", "metric",
 * "quantization", "vectors", "created_at", "created_at_us", "memory_bytes", "index" (the approximate index's setting, or null)}. Creating an existing space with the
 * same spec returns it; with another spec is CONVSTORE_CONFLICT. */
CONVSTORE_API int convstore_create_embedding_space(convstore_t* db, const char* spec_json, char** out_json,
                                                   char** errmsg);
/* *out_json: {"spaces": [space records]}, by name. */
CONVSTORE_API int convstore_list_embedding_spaces(convstore_t* db, char** out_json, char** errmsg);
/* Drops the space and all its vectors (CONVSTORE_NOT_FOUND for an unknown name). */
CONVSTORE_API int convstore_drop_embedding_space(convstore_t* db, const char* name, char** errmsg);
/* Stores one vector per id (message ids, or conversation ids for a conversation space), replacing earlier ones, in
 * one transaction: all or nothing. ids_json: a JSON array of n ids (no id twice); vectors: n * dimension floats,
 * dimension the space's; every value finite, not all zero in a cosine space. */
CONVSTORE_API int convstore_put_embeddings(convstore_t* db, const char* space, const char* ids_json,
                                           const float* vectors, int64_t dimension, char** errmsg);
/* Removes a row's vector; *deleted (may be NULL) is 1 when it had one. */
CONVSTORE_API int convstore_delete_embedding(convstore_t* db, const char* space, const char* id, int* deleted,
                                             char** errmsg);
/* A row's vector: *out a malloc'ed array of *dimension floats (free with convstore_free), or NULL and 0 when the row
 * has none. */
CONVSTORE_API int convstore_get_embedding(convstore_t* db, const char* space, const char* id, float** out,
                                          int64_t* dimension, char** errmsg);
/* The k nearest neighbours of `vector` (dimension floats). query_json: {"space", "k"?: 1..1000 (default 10),
 * "rescore_factor"?: 1..100 (int8 spaces, default 10), "exact"?: true to bypass the space's approximate index,
 * "ef_search"?: 1..10000 (the index's candidate list for this search), and the filters of convstore_search_text ("user", "team",
 * "conversation_id", "role", "model", "from", "to", "metadata_contains", "metadata_where"), applied before
 * ranking}. *out_json: {"hits": [{"message_id" (null for a conversation), "conversation_id", "conversation_title",
 * "user", "role", "model", "content", "created_at", "created_at_us", "score" (higher is closer), "distance"}],
 * "plan", "candidates"}. */
CONVSTORE_API int convstore_search_vectors(convstore_t* db, const char* query_json, const float* vector,
                                           int64_t dimension, char** out_json, char** errmsg);
/* Full text and vectors fused by reciprocal rank fusion. query_json: {"text": a convstore_search_text query (its
 * filters apply to both lists, its limit is ignored), "space", "rescore_factor"?, "limit"?: 1..1000 (default 10),
 * "candidates"?: limit..1000 (default 100, per list), "text_weight"?, "vector_weight"? (>= 0, default 1, not both
 * 0), "rrf_k"?: 1..10000 (default 60)}. *out_json: {"hits": [{the row's fields as above, "score" (fused),
 * "text_rank", "vector_rank" (1-based or null), "snippet" (or null), "vector_score" (or null)}], "unindexed"}. */
CONVSTORE_API int convstore_search_hybrid(convstore_t* db, const char* query_json, const float* vector,
                                          int64_t dimension, char** out_json, char** errmsg);
/* The most this handle's in-memory copies of embedding spaces may hold (default 4 GiB; also the open option
 * "vector_memory_budget_bytes"); a space that does not fit is searched from the file in blocks, exact but slower;
 * 0 keeps no copies; negative: CONVSTORE_INVALID_ARGUMENT. */
CONVSTORE_API int convstore_set_vector_memory_budget(convstore_t* db, int64_t bytes, char** errmsg);
/* Gives a space an approximate nearest-neighbour index (HNSW) and builds this handle's, with every core; on a space
 * whose index has this spec already, builds this handle's if it has none. Kept in memory only and current with
 * every write; unfiltered searches without "exact" use it (plan "hnsw"). spec_json (NULL or "{}": the defaults):
 * {"kind"?: "hnsw", "m"?: 2..100 (16), "ef_construction"?: m..10000 (200), "ef_search"?: 1..10000 (64)}.
 * *out_json: {"space", "index": {"kind", "m", "ef_construction", "ef_search"}, "vectors", "memory_bytes",
 * "build_seconds", "recall_at_10" (against the exact search, over "recall_queries" of the space's own vectors; null
 * under 11 vectors), "recall_queries"}. CONVSTORE_TOO_LARGE when the copy and the index would not fit in the
 * vector memory budget (nothing is written). */
CONVSTORE_API int convstore_create_vector_index(convstore_t* db, const char* space, const char* spec_json,
                                                char** out_json, char** errmsg);
/* Removes a space's index setting; *dropped (may be NULL) is 1 when it had one. */
CONVSTORE_API int convstore_drop_vector_index(convstore_t* db, const char* space, int* dropped, char** errmsg);

/* ---- retention (docs/operations.md, "Retention") ----
 * A policy: {"conversations_idle_us"?, "api_usage_us"?, "metrics_us"?, "audit_us"?, "journal_us"?}, integer
 * microseconds from one second to 100 years; absent or null keeps forever. conversations_idle_us: whole
 * conversations not updated for that long (messages, tool calls, tombstones); journal_us is the change journal's
 * age limit (as convstore_set_journal_retention's max_age_us). What removed rows spent stays in every cost summary,
 * budget and convstore_verify_rollups. */
CONVSTORE_API int convstore_set_retention_policy(convstore_t* db, const char* policy_json, char** errmsg);
/* *out_json: the stored policy, every field present (null: kept forever). */
CONVSTORE_API int convstore_get_retention_policy(convstore_t* db, char** out_json, char** errmsg);
/* Applies the policy now in write transactions of at most batch_rows rows. options_json (NULL: defaults)
 * {"batch_rows"?: 1..100000 (default 1000), "policy"?: a policy applied instead of the stored one}. progress
 * (may be NULL) is called after each batch on the calling thread, outside any transaction, with the kind
 * ("conversations", "api_usage", "metrics", "audit", "journal"), the rows removed so far and total -1 (unknown).
 * *out_json: {"started_at", "started_at_us", "conversations", "messages", "tool_calls", "tombstones", "api_usage",
 * "metrics", "audit_entries", "journal_entries", "batches", "longest_batch_us", "duration_us"}. */
CONVSTORE_API int convstore_apply_retention(convstore_t* db, const char* options_json, convstore_progress_fn progress,
                                            void* user_data, char** out_json, char** errmsg);
/* Applies the stored policy every interval_us (>= 1 second) on a background thread, the first run at once, until
 * convstore_stop_retention or close. CONVSTORE_CONFLICT when already started on this handle. */
CONVSTORE_API int convstore_start_retention(convstore_t* db, int64_t interval_us, char** errmsg);
/* Stops it (waiting for a run in progress); *out_json as convstore_retention_status. CONVSTORE_NOT_FOUND when not
 * started. */
CONVSTORE_API int convstore_stop_retention(convstore_t* db, char** out_json, char** errmsg);
/* *out_json: {"running", "interval_us", "runs", "failed_runs", "last": report of the last successful run or null,
 * "last_error"}. */
CONVSTORE_API int convstore_retention_status(convstore_t* db, char** out_json, char** errmsg);

/* ---- erasing a person (docs/privacy.md) ----
 * Erases the user with this key: their conversations (messages, tool calls, tombstones), API usage, budgets and
 * reservations and metadata postings go; their spend stays under the user row, now keyed "erased:<pseudonym>";
 * the audit entries about them lose their personal fields; the journal's earlier entries are rewritten without
 * them; then the WAL is emptied and the archive's earlier generations removed. *out_json: {"pseudonym",
 * "user_key", "conversations", "messages", "tool_calls", "tombstones", "api_usage", "budgets", "reservations",
 * "audit_entries_stripped", "journal_entries_rewritten", "archive_files_removed", "pending": [sentences: what
 * could not be done yet, e.g. a WAL a reader in another process still uses], "duration_us"}.
 * CONVSTORE_NOT_FOUND for an unknown key; CONVSTORE_INVALID_ARGUMENT for an erased user's key. */
CONVSTORE_API int convstore_erase_user(convstore_t* db, const char* user_key, char** out_json, char** errmsg);
/* *out_json: {"erasures": [{"id", "pseudonym", "erased_at", "erased_at_us", "finished_at" (null while pending),
 * "pending": [sentences]}]}, oldest first. */
CONVSTORE_API int convstore_list_erasures(convstore_t* db, char** out_json, char** errmsg);
/* Tries the pending steps again (also done at every open); *out_json as convstore_list_erasures, with the erasures
 * still unfinished. */
CONVSTORE_API int convstore_finish_erasures(convstore_t* db, char** out_json, char** errmsg);

/* ---- exporting and importing a person (docs/privacy.md, "Export and import") ----
 * Receives the next piece of a user export (whole lines of UTF-8 JSON); returns 0 to go on, anything else to stop
 * the export (which then fails with CONVSTORE_IO_ERROR). */
typedef int (*convstore_write_fn)(void* user_data, const char* data, size_t size);
/* Fills buffer with up to capacity bytes of a user export; returns how many (0 at the end), or a negative number to
 * stop the import (CONVSTORE_IO_ERROR; nothing is written). */
typedef int64_t (*convstore_read_fn)(void* user_data, char* buffer, size_t capacity);
/* Exports everything about the user with this key as JSON Lines ("convstore-user-export/1"), read from one
 * snapshot. options_json: {"path"?: str} — the file to create (must not exist: CONVSTORE_CONFLICT; 0600, written
 * whole or not at all); without a path, write (then required) receives the export, on the calling thread. progress
 * (may be NULL) hears ("export user", rows done, rows in all); user_data goes to write and progress. *out_json:
 * {"path", "user_key", "pseudonym", "counts": {"conversations", "messages", "tool_calls", "deleted_messages",
 * "api_usage", "budgets", "audit_entries"}, "cost_usd", "cost_nanousd", "bytes", "duration_us"}.
 * CONVSTORE_NOT_FOUND for an unknown key. */
CONVSTORE_API int convstore_export_user(convstore_t* db, const char* user_key, const char* options_json,
                                        convstore_write_fn write, convstore_progress_fn progress, void* user_data,
                                        char** out_json, char** errmsg);
/* Imports a user export in one write transaction: all of it or nothing. options_json: {"path"?: str} — the export
 * file; without a path, read (then required) supplies it. An erased user's row of the same person is taken up
 * again and the spend it kept moves back to the imported rows (counted once); audit entries in the export are not
 * replayed (one "user.imported" entry is written). *out_json: {"user_key", "pseudonym", "restored_erased_user",
 * "counts": {... as convstore_export_user}, "cost_usd", "cost_nanousd", "cost_from_retained_usd",
 * "cost_from_retained_nanousd", "duration_us"}. CONVSTORE_CONFLICT when the user's key, an id, a request id or a
 * budget name is in use; CONVSTORE_INVALID_ARGUMENT (naming the line) for a damaged or truncated export. */
CONVSTORE_API int convstore_import_user(convstore_t* db, const char* options_json, convstore_read_fn read,
                                        convstore_progress_fn progress, void* user_data, char** out_json,
                                        char** errmsg);

#ifdef __cplusplus
}
#endif

#endif /* CONVSTORE_C_H_ */
