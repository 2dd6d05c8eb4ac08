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

typedef struct convstore_t convstore_t;

/* ---- library ---------------------------------------------------------------------------------------- */

/* "0.1.0": the version of the loaded library (compare with CONVSTORE_VERSION_STRING of the header). */
CONVSTORE_API const char* convstore_version(void);
/* CONVSTORE_ABI_VERSION of the loaded library. */
CONVSTORE_API int convstore_abi_version(void);
/* Stable lowercase name of a result code ("not_found"); "unknown" for other values. Never NULL, never freed. */
CONVSTORE_API const char* convstore_code_name(int code);
/* Frees a string returned by this library. NULL is a no-op. */
CONVSTORE_API void convstore_free(void* p);

/* ---- open / close ------------------------------------------------------------------------------------ */

/* Opens or creates the store at `path` (":memory:" for a private in-memory store). `options_json` may be NULL or
 * an object with any of: "durability": "normal"|"full", "busy_timeout_ms": int, "reader_pool_size": int,
 * "log_level": "trace"|"debug"|"info"|"warn"|"error"|"off", "slow_operation_ms": int, "create_if_missing": bool,
 * "quick_check_on_open": bool (PRAGMA quick_check at open; a damaged file is CONVSTORE_CORRUPTION).
 * On success *out receives the handle. */
CONVSTORE_API int convstore_open(const char* path, const char* options_json, convstore_t** out, char** errmsg);
/* Closes the database files but keeps the handle: every later call returns CONVSTORE_CLOSED. Waits for calls in
 * progress. A second shutdown is a no-op returning CONVSTORE_OK. */
CONVSTORE_API int convstore_shutdown(convstore_t* db, char** errmsg);
/* Shuts down (if needed) and frees the handle. NULL is a no-op. The handle must not be used afterwards. */
CONVSTORE_API void convstore_close(convstore_t* db);
/* The schema version of the open file, or -1 for a NULL or shut-down handle. */
CONVSTORE_API int convstore_schema_version(convstore_t* db);

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
 * "max_tokens"?: int, "metadata"?: object, "created_at"?}. A user that does not exist yet is created.
 * *out_json: the conversation record (with "id"). */
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

/* message_json: {"role": "user"|"assistant"|"system"|"tool", "content": str, "model"?, "model_version"?,
 * "tokens_input"?, "tokens_output"?, "tokens_cached_input"?, "tokens_reasoning"?: int >= 0,
 * "cost_usd"?: decimal string or number | "cost_nanousd"?: int, "latency_us"?: int,
 * "metadata"?: object, "request_id"?: str, "created_at"?}. The same request_id again returns the stored message
 * and counts nothing twice. *out_json: the message. */
CONVSTORE_API int convstore_add_message(convstore_t* db, const char* conversation_id, const char* message_json,
                                        char** out_json, char** errmsg);
/* messages_json: an array of message objects, stored all or nothing. *out_json: the array of messages. */
CONVSTORE_API int convstore_add_messages(convstore_t* db, const char* conversation_id, const char* messages_json,
                                         char** out_json, char** errmsg);
/* The newest messages whose token counts fit in max_tokens, oldest first (see docs/c-api.md). *out_json: array. */
CONVSTORE_API int convstore_get_context(convstore_t* db, const char* conversation_id, int64_t max_tokens,
                                        char** out_json, char** errmsg);

/* ---- tool calls -------------------------------------------------------------------------------------- */

/* call_json: {"tool_name": str, "input"?: any JSON, "output"?: any JSON, "duration_us"?: int,
 * "status"?: "pending"|"success"|"error" ("success"), "error_message"?: str, "created_at"?}. */
CONVSTORE_API int convstore_add_tool_call(convstore_t* db, const char* message_id, const char* call_json,
                                          char** out_json, char** errmsg);
/* *out_json: array of the message's tool calls in insertion order. */
CONVSTORE_API int convstore_list_tool_calls(convstore_t* db, const char* message_id, char** out_json,
                                            char** errmsg);

#ifdef __cplusplus
}
#endif

#endif /* CONVSTORE_C_H_ */
