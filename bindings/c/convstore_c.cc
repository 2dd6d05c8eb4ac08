// The C ABI: thin wrappers that decode JSON, call the C++ API, encode JSON, and never let an exception escape.
#include "convstore/convstore.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "convstore/logging.h"
#include "convstore/store.h"
#include "c_support.h"
#include "json_codec.h"
#include "util/status_macros.h"
#include "util/utf8.h"

using namespace convstore::capi;  // NOLINT: Guard, Emit, NullArg, CHECK_* plumbing

// The C result codes are the C++ codes (convstore/status.h holds the one list); a code added there without its
// CONVSTORE_* twin, or with another value, fails here.
#define CONVSTORE_SAME_CODE(c_code, cpp_code) \
  static_assert((c_code) == static_cast<int>(convstore::Code::cpp_code), #c_code " differs from Code::" #cpp_code)
CONVSTORE_SAME_CODE(CONVSTORE_OK, kOk);
CONVSTORE_SAME_CODE(CONVSTORE_INVALID_ARGUMENT, kInvalidArgument);
CONVSTORE_SAME_CODE(CONVSTORE_NOT_FOUND, kNotFound);
CONVSTORE_SAME_CODE(CONVSTORE_CONFLICT, kConflict);
CONVSTORE_SAME_CODE(CONVSTORE_BUSY, kBusy);
CONVSTORE_SAME_CODE(CONVSTORE_IO_ERROR, kIoError);
CONVSTORE_SAME_CODE(CONVSTORE_CORRUPTION, kCorruption);
CONVSTORE_SAME_CODE(CONVSTORE_CLOSED, kClosed);
CONVSTORE_SAME_CODE(CONVSTORE_SCHEMA_TOO_NEW, kSchemaTooNew);
CONVSTORE_SAME_CODE(CONVSTORE_TOO_LARGE, kTooLarge);
CONVSTORE_SAME_CODE(CONVSTORE_INTERNAL, kInternal);
CONVSTORE_SAME_CODE(CONVSTORE_BUDGET_EXCEEDED, kBudgetExceeded);
CONVSTORE_SAME_CODE(CONVSTORE_READ_ONLY, kReadOnly);
CONVSTORE_SAME_CODE(CONVSTORE_UNAVAILABLE, kUnavailable);
static_assert(convstore::kLastCode == convstore::Code::kUnavailable, "a new code needs its CONVSTORE_* twin above");
#undef CONVSTORE_SAME_CODE

static_assert(CONVSTORE_LOG_TRACE == static_cast<int>(convstore::LogLevel::kTrace) &&
                  CONVSTORE_LOG_DEBUG == static_cast<int>(convstore::LogLevel::kDebug) &&
                  CONVSTORE_LOG_INFO == static_cast<int>(convstore::LogLevel::kInfo) &&
                  CONVSTORE_LOG_WARN == static_cast<int>(convstore::LogLevel::kWarn) &&
                  CONVSTORE_LOG_ERROR == static_cast<int>(convstore::LogLevel::kError),
              "CONVSTORE_LOG_* are the values of convstore::LogLevel");

extern "C" {

const char* convstore_version(void) { return convstore::Version(); }
int convstore_version_number(void) { return CONVSTORE_VERSION_NUMBER; }
int convstore_abi_version(void) { return convstore::AbiVersion(); }
const char* convstore_code_name(int code) {
  if (code < 0 || code > static_cast<int>(convstore::kLastCode)) return "unknown";
  return convstore::CodeName(static_cast<convstore::Code>(code));
}
void convstore_free(void* p) { std::free(p); }

int convstore_parse_time(const char* text, int64_t* out_us, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_ARG(text);
    CHECK_ARG(out_us);
    auto t = convstore::ParseTime(text);
    if (!t.ok()) return t.status();
    *out_us = *t;
    return Status::OK();
  });
}

void convstore_set_log_handler(convstore_log_fn fn, void* user_data) {
  try {
    if (fn == nullptr) {
      convstore::SetLogHandler(nullptr);
      return;
    }
    convstore::SetLogHandler([fn, user_data](convstore::LogLevel level, std::string_view message) {
      std::string line(message);  // NUL-terminated for C
      fn(user_data, static_cast<int>(level), line.c_str());
    });
  } catch (...) {  // out of memory building the handler: the previous destination stays
  }
}

int convstore_open(const char* path, const char* options_json, convstore_t** out, char** errmsg) {
  if (out != nullptr) *out = nullptr;
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_ARG(path);
    CHECK_ARG(out);
    convstore::Options options;  // NULL: the defaults
    std::optional<int64_t> vector_budget;
    if (options_json != nullptr) {
      auto decoded = convstore::capi::DecodeOptions(options_json, vector_budget);
      if (!decoded.ok()) return decoded.status();
      options = std::move(*decoded);
    }
    auto store = convstore::ConversationStore::Open(path, options);
    if (!store.ok()) return store.status();
    if (vector_budget) CONVSTORE_RETURN_IF_ERROR((*store)->SetVectorMemoryBudget(*vector_budget));
    *out = new convstore_t{std::move(*store)};
    return Status::OK();
  });
}

int convstore_shutdown(convstore_t* db, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    if (db == nullptr) return NullArg("db");
    return db->store->Close();  // a second shutdown is a no-op
  });
}

void convstore_close(convstore_t* db) {
  if (db == nullptr) return;
  try {
    (void)db->store->Close();
  } catch (...) {
  }
  delete db;
}

int convstore_schema_version(convstore_t* db) {
  if (db == nullptr || db->store->closed()) return -1;
  return db->store->schema_version();
}

int convstore_upsert_team(convstore_t* db, const char* team_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(team_json);
    auto in = convstore::capi::DecodeTeam(team_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->UpsertTeam(*in), out_json, convstore::capi::EncodeTeam);
  });
}

int convstore_get_team(convstore_t* db, const char* key, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(key);
    return Emit(db->store->GetTeam(key), out_json, convstore::capi::EncodeTeam);
  });
}

int convstore_upsert_user(convstore_t* db, const char* user_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(user_json);
    auto in = convstore::capi::DecodeUser(user_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->UpsertUser(*in), out_json, convstore::capi::EncodeUser);
  });
}

int convstore_get_user(convstore_t* db, const char* key, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(key);
    return Emit(db->store->GetUser(key), out_json, convstore::capi::EncodeUser);
  });
}

int convstore_create_conversation(convstore_t* db, const char* conversation_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_json);
    auto in = convstore::capi::DecodeNewConversation(conversation_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->CreateConversation(*in), out_json, convstore::capi::EncodeConversation);
  });
}

int convstore_get_conversation(convstore_t* db, const char* conversation_id, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    return Emit(db->store->GetConversation(conversation_id), out_json,
                convstore::capi::EncodeConversationWithMessages);
  });
}

int convstore_get_conversation_info(convstore_t* db, const char* conversation_id, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    return Emit(db->store->GetConversationInfo(conversation_id), out_json, convstore::capi::EncodeConversation);
  });
}

int convstore_update_conversation(convstore_t* db, const char* conversation_id, const char* patch_json,
                                  char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    CHECK_ARG(patch_json);
    auto in = convstore::capi::DecodeConversationUpdate(patch_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->UpdateConversation(conversation_id, *in), out_json, convstore::capi::EncodeConversation);
  });
}

int convstore_set_archived(convstore_t* db, const char* conversation_id, int archived, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    if (archived != 0 && archived != 1) return Status::InvalidArgument("archived must be 0 or 1");
    return db->store->SetArchived(conversation_id, archived == 1);
  });
}

int convstore_delete_conversation(convstore_t* db, const char* conversation_id, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    return db->store->DeleteConversation(conversation_id);
  });
}

int convstore_list_conversations(convstore_t* db, const char* query_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(query_json);
    auto in = convstore::capi::DecodeListQuery(query_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->ListConversations(*in), out_json, convstore::capi::EncodeConversationPage);
  });
}

int convstore_add_message(convstore_t* db, const char* conversation_id, const char* message_json, char** out_json,
                          char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    CHECK_ARG(message_json);
    auto in = convstore::capi::DecodeNewMessage(message_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->AddMessage(conversation_id, *in), out_json, convstore::capi::EncodeAddedMessage);
  });
}

int convstore_add_messages(convstore_t* db, const char* conversation_id, const char* messages_json, char** out_json,
                           char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    CHECK_ARG(messages_json);
    auto in = convstore::capi::DecodeNewMessages(messages_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->AddMessages(conversation_id, *in), out_json, convstore::capi::EncodeAddedMessages);
  });
}

int convstore_get_context(convstore_t* db, const char* conversation_id, int64_t max_tokens, char** out_json,
                          char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    return Emit(db->store->GetContext(conversation_id, max_tokens), out_json, convstore::capi::EncodeMessages);
  });
}

int convstore_get_context_with_options(convstore_t* db, const char* conversation_id, const char* options_json,
                                       char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    CHECK_ARG(options_json);
    auto options = convstore::capi::DecodeContextOptions(options_json);
    if (!options.ok()) return options.status();
    return Emit(db->store->GetContext(conversation_id, *options), out_json, convstore::capi::EncodeMessages);
  });
}

int convstore_get_last_messages(convstore_t* db, const char* conversation_id, int64_t count, char** out_json,
                                char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    return Emit(db->store->GetLastMessages(conversation_id, count), out_json, convstore::capi::EncodeMessages);
  });
}

int convstore_get_items(convstore_t* db, const char* conversation_id, int64_t count, char** out_json,
                        char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    if (count == 0) {
      auto all = db->store->GetConversation(conversation_id);
      if (!all.ok()) return all.status();
      return Emit(convstore::Result<std::vector<convstore::Message>>(std::move(all->messages)), out_json,
                  convstore::capi::EncodeItems);
    }
    return Emit(db->store->GetLastMessages(conversation_id, count), out_json, convstore::capi::EncodeItems);
  });
}

int convstore_add_agent_items(convstore_t* db, const char* conversation_id, const char* items_json,
                              const char* usage_json, int64_t* added, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    CHECK_ARG(items_json);
    convstore::AgentUsage usage;
    if (usage_json != nullptr) {
      auto decoded = convstore::capi::DecodeAgentUsage(usage_json);
      if (!decoded.ok()) return decoded.status();
      usage = std::move(*decoded);
    }
    auto n = db->store->AddAgentItems(conversation_id, items_json, usage);
    if (!n.ok()) return n.status();
    if (added != nullptr) *added = *n;
    return Status::OK();
  });
}

int convstore_import_history(convstore_t* db, const char* options_json, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(options_json);
    auto options = convstore::capi::DecodeImportOptions(options_json);
    if (!options.ok()) return options.status();
    return Emit(db->store->ImportHistory(*options), out_json, convstore::capi::EncodeImportReport);
  });
}

int convstore_delete_message(convstore_t* db, const char* message_id, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(message_id);
    return Emit(db->store->DeleteMessage(message_id), out_json, convstore::capi::EncodeMessage);
  });
}

int convstore_pop_message(convstore_t* db, const char* conversation_id, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    return Emit(db->store->PopMessage(conversation_id), out_json, convstore::capi::EncodeOptionalMessage);
  });
}

int convstore_clear_messages(convstore_t* db, const char* conversation_id, int64_t* deleted, char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    auto n = db->store->ClearMessages(conversation_id);
    if (!n.ok()) return n.status();
    if (deleted != nullptr) *deleted = *n;
    return Status::OK();
  });
}

int convstore_edit_message(convstore_t* db, const char* message_id, const char* edit_json, char** out_json,
                           char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(message_id);
    CHECK_ARG(edit_json);
    auto edit = convstore::capi::DecodeMessageEdit(edit_json);
    if (!edit.ok()) return edit.status();
    return Emit(db->store->EditMessage(message_id, *edit), out_json, convstore::capi::EncodeMessage);
  });
}

int convstore_add_tool_call(convstore_t* db, const char* message_id, const char* call_json, char** out_json,
                            char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(message_id);
    CHECK_ARG(call_json);
    auto in = convstore::capi::DecodeNewToolCall(call_json);
    if (!in.ok()) return in.status();
    return Emit(db->store->AddToolCall(message_id, *in), out_json, convstore::capi::EncodeToolCall);
  });
}

int convstore_list_tool_calls(convstore_t* db, const char* message_id, char** out_json, char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(message_id);
    return Emit(db->store->ListToolCalls(message_id), out_json, convstore::capi::EncodeToolCalls);
  });
}

int convstore_update_tool_call(convstore_t* db, const char* tool_call_id, const char* update_json, char** out_json,
                               char** errmsg) {
  return Guard(out_json, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(tool_call_id);
    CHECK_ARG(update_json);
    auto update = convstore::capi::DecodeToolCallUpdate(update_json);
    if (!update.ok()) return update.status();
    return Emit(db->store->UpdateToolCall(tool_call_id, *update), out_json, convstore::capi::EncodeToolCall);
  });
}

}  // extern "C"
