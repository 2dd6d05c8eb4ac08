// JSON codec of the C ABI: request objects to C++ inputs, C++ records to JSON text.
// Pure functions; thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/options.h"
#include "convstore/status.h"
#include "convstore/sessions.h"
#include "convstore/types.h"

namespace convstore::capi {

// Each decoder refuses unknown fields and wrong types with kInvalidArgument naming the field.
// Open options; "vector_memory_budget_bytes" (not a field of Options: it is set on the open handle) goes to
// vector_budget.
Result<Options> DecodeOptions(std::string_view json, std::optional<int64_t>& vector_budget);
Result<TeamInput> DecodeTeam(std::string_view json);
Result<UserInput> DecodeUser(std::string_view json);
Result<NewConversation> DecodeNewConversation(std::string_view json);
Result<ConversationUpdate> DecodeConversationUpdate(std::string_view json);
Result<ListConversationsOptions> DecodeListQuery(std::string_view json);
Result<NewMessage> DecodeNewMessage(std::string_view json);
Result<std::vector<NewMessage>> DecodeNewMessages(std::string_view json);
Result<NewToolCall> DecodeNewToolCall(std::string_view json);
Result<ContextOptions> DecodeContextOptions(std::string_view json);
Result<ToolCallUpdate> DecodeToolCallUpdate(std::string_view json);
// {"model"?, "input_tokens"?, "output_tokens"?, "cached_input_tokens"?, "reasoning_tokens"?}.
Result<AgentUsage> DecodeAgentUsage(std::string_view json);
// {"source", "format": "agents-sdk" | "aidatabase-v1", "user"?}.
Result<ImportOptions> DecodeImportOptions(std::string_view json);
std::string EncodeImportReport(const ImportReport& r);
// {"content": "...", "metadata": {...}, "raw": <any JSON; null removes it>}: the keys given are changed.
Result<MessageEdit> DecodeMessageEdit(std::string_view json);

std::string EncodeTeam(const Team& t);
std::string EncodeUser(const User& u);
std::string EncodeConversation(const Conversation& c);
std::string EncodeConversationWithMessages(const ConversationWithMessages& c);
std::string EncodeConversationPage(const ConversationPage& p);
std::string EncodeMessage(const Message& m);
std::string EncodeMessages(const std::vector<Message>& ms);
// What an add returns: the message records with "tool_calls", the calls the add recorded.
std::string EncodeAddedMessage(const Message& m);
std::string EncodeAddedMessages(const std::vector<Message>& ms);
// Each message's raw item, or {"role", "content"} for a message stored without one.
std::string EncodeItems(const std::vector<Message>& ms);
// A message record, or JSON null.
std::string EncodeOptionalMessage(const std::optional<Message>& m);
std::string EncodeToolCall(const ToolCall& t);
std::string EncodeToolCalls(const std::vector<ToolCall>& ts);

}  // namespace convstore::capi
