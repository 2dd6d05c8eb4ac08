// Records stored by convstore and the inputs that create them.
//
// Conventions: time is int64 microseconds since the Unix epoch, UTC ("_us" / Micros). Money is int64 nano-USD
// (1 USD = 1'000'000'000 nano-USD), exact. JSON documents (metadata, tool input/output) travel as UTF-8 JSON text.
// Ids of conversations, messages and tool calls are UUIDv7 strings minted by convstore; user and team keys are the
// caller's own strings (an email, say).
#ifndef CONVSTORE_TYPES_H_
#define CONVSTORE_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"

namespace convstore {

using Micros = int64_t;
using NanoUsd = int64_t;
inline constexpr NanoUsd kNanoUsdPerUsd = 1'000'000'000;

enum class Role { kUser = 0, kAssistant = 1, kSystem = 2, kTool = 3 };
// "user", "assistant", "system", "tool"; nullptr for a value outside the enum.
CONVSTORE_EXPORT const char* RoleName(Role role) noexcept;
// The inverse of RoleName, plus "developer" -> kSystem: OpenAI's newer models take instructions under the role
// "developer" and treat a "system" message as one, so convstore stores both as system (they are read back as
// "system", kept by GetContext's include_system, and may be sent to either kind of model).
CONVSTORE_EXPORT std::optional<Role> ParseRole(std::string_view name) noexcept;

enum class ToolStatus { kPending = 0, kSuccess = 1, kError = 2 };
// "pending", "success", "error"; nullptr for a value outside the enum.
CONVSTORE_EXPORT const char* ToolStatusName(ToolStatus status) noexcept;
CONVSTORE_EXPORT std::optional<ToolStatus> ParseToolStatus(std::string_view name) noexcept;

// Token counts by kind. Records list the kinds in this one order: input, output, cached input, cache write,
// reasoning (the order of the price rates in convstore/cost.h). Input checks keep their historical order (a
// message's reasoning count is checked before its cache-write count), which decides the error for bad input.
struct TokenCounts {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cached_input = 0;
  int64_t cache_write = 0;  // tokens written to a prompt cache
  int64_t reasoning = 0;
};

// ---- teams and users ----------------------------------------------------------------------------------

struct Team {
  std::string key{};
  std::string name{};
  std::optional<NanoUsd> monthly_budget_nanousd{};
  Micros created_at = 0;
  Micros updated_at = 0;
};

// Upsert: creates the team or updates the fields that are set; unset fields keep their stored value.
struct TeamInput {
  std::string key{};  // required, 1..kMaxKeyBytes
  std::optional<std::string> name{};
  std::optional<NanoUsd> monthly_budget_nanousd{};  // >= 0
};

struct User {
  std::string key{};
  std::string email{};
  std::string name{};
  std::string team_key{};  // empty: no team
  std::string role{};      // the caller's own role label (e.g. "admin"); free text
  bool active = true;
  Micros created_at = 0;
  Micros updated_at = 0;
};

// Upsert: creates the user or updates the fields that are set. team_key must name an existing team ("" clears).
struct UserInput {
  std::string key{};  // required, 1..kMaxKeyBytes
  std::optional<std::string> email{};
  std::optional<std::string> name{};
  std::optional<std::string> team_key{};
  std::optional<std::string> role{};
  std::optional<bool> active{};
};

// ---- conversations ------------------------------------------------------------------------------------

struct Conversation {
  std::string id{};
  std::string user_key{};
  std::string title{};
  std::string system_prompt{};
  std::string model{};
  std::optional<double> temperature{};
  std::optional<int64_t> max_tokens{};
  bool archived = false;
  std::string metadata_json = "{}";
  Micros created_at = 0;
  Micros updated_at = 0;  // latest of creation, edits and message created_at
  // Counters kept in the same transaction as the writes they count.
  int64_t message_count = 0;
  TokenCounts tokens{};
  NanoUsd cost_nanousd = 0;
  std::string external_id{};  // the caller's own id for the conversation ("" when none was given)
};

struct NewConversation {
  // Required. A user that does not exist yet is created with this key (and no other fields).
  std::string user_key{};
  std::string title{};
  std::string system_prompt{};
  std::string model{};
  std::optional<double> temperature{};  // finite, 0..kMaxTemperature
  std::optional<int64_t> max_tokens{};  // 1..kMaxMaxTokens
  std::string metadata_json = "{}";     // a JSON object
  std::optional<Micros> created_at{};   // default: now
  // The caller's own id for the conversation (an agent framework's session id), 1..kMaxKeyBytes, unique in the
  // file; "" for none. Creating with an external id that exists returns that conversation, unchanged, when it
  // belongs to the same user (get-or-create: two processes creating the same id at once get one conversation),
  // and is kConflict when it belongs to another user.
  std::string external_id{};
};

struct ConversationUpdate {
  std::optional<std::string> title{};
  std::optional<std::string> metadata_json{};  // replaces the whole document; a JSON object
};

struct ListConversationsOptions {
  std::string user_key{};         // required
  int limit = 20;                 // 1..kMaxListLimit
  bool include_archived = false;
  std::string cursor{};           // "" for the first page, else a next_cursor returned earlier
};

struct ConversationPage {
  std::vector<Conversation> items{};  // most recently updated first
  std::string next_cursor{};          // "" when there are no more
};

// ---- tool calls ---------------------------------------------------------------------------------------

struct ToolCall {
  std::string id{};
  std::string message_id{};
  std::string tool_name{};
  std::string input_json = "{}";
  std::string output_json{};  // "" when there is no output (JSON null)
  std::optional<int64_t> duration_us{};
  ToolStatus status = ToolStatus::kSuccess;
  std::string error_message{};
  Micros created_at = 0;
  std::string call_id{};  // the provider's id of the call ("" when none was given)
  Micros updated_at = 0;  // when the call last changed: created_at, or when it left pending
};

struct NewToolCall {
  std::string tool_name{};               // required, 1..kMaxNameBytes
  std::string input_json = "{}";         // any JSON value
  std::string output_json{};             // any JSON value; "" for none
  std::optional<int64_t> duration_us{};  // 0..kMaxLatencyUs
  ToolStatus status = ToolStatus::kSuccess;
  std::string error_message{};
  std::optional<Micros> created_at{};  // default: now
  // The provider's id of the call (OpenAI's call_id, Anthropic's tool_use_id), 1..kMaxKeyBytes, unique within
  // the conversation; a tool message's tool_call_id may name it. "" for none.
  std::string call_id{};
};

// ---- messages -----------------------------------------------------------------------------------------

struct Message {
  std::string id{};
  std::string conversation_id{};
  int64_t position = 0;  // 0-based order within the conversation (insertion order)
  Role role = Role::kUser;
  std::string content{};
  std::string model{};
  std::string model_version{};
  std::optional<int64_t> tokens_input{};
  std::optional<int64_t> tokens_output{};
  std::optional<int64_t> tokens_cached_input{};
  std::optional<int64_t> tokens_cache_write{};
  std::optional<int64_t> tokens_reasoning{};
  // Cost: explicit, or computed from the tokens at the price in effect at created_at (price_id names that price);
  // unset when neither applies.
  std::optional<NanoUsd> cost_nanousd{};
  std::optional<int64_t> price_id{};
  std::optional<int64_t> latency_us{};
  std::string metadata_json = "{}";
  std::string request_id{};  // "" when none was given
  Micros created_at = 0;
  std::string tool_call_id{};  // tool messages: the call this result answers, as given ("" when none)
  std::string raw_json{};      // the caller's item, kept verbatim ("" when none was given)
  // The tool calls this message made, as recorded by the add that stored it (NewMessage::tool_calls). Only
  // AddMessage/AddMessages fill it; other reads leave it empty (ListToolCalls reads a message's calls).
  std::vector<ToolCall> tool_calls{};
};

struct NewMessage {
  Role role = Role::kUser;
  std::string content{};  // valid UTF-8, up to kMaxContentBytes
  std::string model{};
  std::string model_version{};
  std::optional<int64_t> tokens_input{};       // each 0..kMaxTokenCount
  std::optional<int64_t> tokens_output{};
  std::optional<int64_t> tokens_cached_input{};
  std::optional<int64_t> tokens_cache_write{};
  std::optional<int64_t> tokens_reasoning{};
  // Cost: give at most one; without either, a message with tokens and a model is priced from the catalog (see
  // convstore/cost.h). cost_nanousd is exact; cost_usd is rounded to the nearest nano-USD and must be finite.
  std::optional<NanoUsd> cost_nanousd{};       // 0..kMaxCostNanoUsd
  std::optional<double> cost_usd{};
  std::optional<int64_t> latency_us{};         // 0..kMaxLatencyUs
  std::string metadata_json = "{}";            // a JSON object
  // Idempotency key: a second add with the same request_id returns the first message and counts nothing twice.
  std::string request_id{};
  std::optional<Micros> created_at{};          // default: now
  // A tool-role message's link to the call it answers: the provider's call id a tool call of this conversation
  // recorded (OpenAI's call_id, Anthropic's tool_use_id) or that tool call's convstore id. "" for none; only
  // tool-role messages may carry one; naming no call of the conversation is kNotFound. When the call it names is
  // still pending, the result finishes it in the same transaction: status success, output the content (as JSON
  // when it parses as JSON, else as a JSON string), duration from the call's created_at to this message's.
  std::string tool_call_id{};
  // The caller's item as it came (e.g. an Agents SDK item), any JSON value up to kMaxContentBytes, kept verbatim
  // and returned as given; convstore reads nothing from it. "" for none.
  std::string raw_json{};
  // Tool calls this message makes, recorded with it in the same transaction (each as AddToolCall would).
  std::vector<NewToolCall> tool_calls{};
};

// A correction of a stored message: the fields set are replaced. Tokens, cost and time are what was spent and
// are not edited.
struct MessageEdit {
  std::optional<std::string> content{};        // valid UTF-8, up to kMaxContentBytes
  std::optional<std::string> metadata_json{};  // a JSON object; replaces the whole document
  std::optional<std::string> raw_json{};       // any JSON value; "" removes it
};

// ---- context windows ----------------------------------------------------------------------------------

// What GetContext does with a unit (a message and the tool results that follow it) that does not fit.
enum class ContextOverflow {
  kStop = 0,  // stop there: the result is the newest contiguous run of units that fits (LangChain trim_messages)
  kSkip = 1,  // leave it out and keep looking at older units (the result may have gaps)
};
// How a message's size in a context window is counted.
enum class ContextCounting {
  // tokens_output for assistant messages (the tokens it generated), tokens_input for the others; when that count
  // is unset, the estimate below
  kStored = 0,
  kEstimate = 1,  // ceil(UTF-8 bytes of content / 4) for every message
};

struct ContextOptions {
  int64_t max_tokens = 0;  // >= 0
  // Keep the conversation's system prompt (as a first message with role system, id "" and position -1) and every
  // system-role message, whatever their age; they count toward max_tokens first and are kept even when they alone
  // exceed it. false: they compete like any other message.
  bool include_system = true;
  ContextOverflow overflow = ContextOverflow::kStop;
  ContextCounting counting = ContextCounting::kStored;
};

struct ConversationWithMessages {
  Conversation conversation{};
  std::vector<Message> messages{};  // in position order
  int64_t message_count = 0;
};

// ---- tool calls ---------------------------------------------------------------------------------------

// How a pending tool call finishes. A call leaves "pending" once, to success or error, and is then final: a
// second update is kConflict unless it repeats the first exactly (a retry), which returns the call unchanged.
struct ToolCallUpdate {
  ToolStatus status = ToolStatus::kSuccess;  // kSuccess or kError
  std::optional<std::string> output_json{};  // any JSON value; unset keeps what the call has
  std::optional<std::string> error_message{};
  std::optional<int64_t> duration_us{};      // 0..kMaxLatencyUs
};

}  // namespace convstore

#endif  // CONVSTORE_TYPES_H_
